"""Run results: per-step histories, solver statistics and the final state."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from learned.contract import SolverStatistics, StepRecord


if TYPE_CHECKING:  # pragma: no cover
    from dda.simulation import Simulation


@dataclass(frozen=True, kw_only=True)
class StepInfo(StepRecord):
    """What a solve ``callback`` sees after each accepted step: the common
    :class:`learned.contract.StepRecord` (step, iterations = open–close iterations, residual
    NaN, converged True, time [s]) with the DDA figures: Δt [s], duration [s], contacts,
    closed contacts, retries of the step, the largest block speed [m/s] and the kinetic
    energy [J] (NaN on steps the history does not record)."""

    step: int
    time: float
    dt: float
    duration: float
    n_contacts: int
    n_closed: int
    oc_iterations: int
    retries: int
    max_velocity: float
    kinetic_energy: float
    rank: int = 0


@dataclass
class DdaStats(SolverStatistics):
    """Statistics of a DDA run.

    steps accepted; n_retries of a step (n_dt_cuts for the displacement ratio,
    n_oc_retries for an unsettled open–close iteration, n_penetration_retries,
    n_nan_retries); n_nonconverged_steps accepted at the open–close cap;
    oc_iterations_total / _max; penalty_increases; solves (linear); max_penetration [m];
    n_contacts_max; dt_min_used, dt_max_used [s]; wall_time_s; mpi_ranks; penalty_initial
    [N/m]; w0 (model size) [m]; d0 (contact search distance) [m]. ``extra``: any further
    figure the step loop records (kept by :meth:`from_dict`, merged by ``as_dict``).
    """

    steps: int = 0
    n_dt_cuts: int = 0
    n_retries: int = 0
    n_oc_retries: int = 0
    n_penetration_retries: int = 0
    n_nan_retries: int = 0
    n_nonconverged_steps: int = 0
    oc_iterations_total: int = 0
    oc_iterations_max: int = 0
    penalty_increases: int = 0
    solves: int = 0
    max_penetration: float = 0.0
    n_contacts_max: int = 0
    dt_min_used: float = float("inf")
    dt_max_used: float = 0.0
    wall_time_s: float = 0.0
    mpi_ranks: int = 1
    penalty_initial: float = 0.0
    w0: float = 0.0
    d0: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, stats: dict[str, Any]) -> "DdaStats":
        """The typed record of the simulation's running statistics (unknown keys → ``extra``)."""
        names = {f.name for f in fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in stats.items() if k in names},
                   extra={k: v for k, v in stats.items() if k not in names})


@dataclass
class Result:
    """Histories (recorded every ``history_every`` steps, row 0 = initial state).

    time (ns,) [s]; dt (ns,) [s]; centroid (ns, nb, 2) [m]; velocity (ns, nb, 3) centroid
    velocity and spin (u̇, v̇, ṙ) [m/s, rad/s]; rotation (ns, nb) [rad]; kinetic_energy (ns,)
    [J/m]; n_open, n_sliding, n_locked (ns,) contact counts; oc_iterations (ns,);
    stats: :class:`DdaStats`; status "ok" (ran to the duration), "interrupted" (the
    callback stopped it) or "diverged" (a partial result) — the words of summary.json.
    """

    time: list = field(default_factory=list)
    dt: list = field(default_factory=list)
    centroid: list = field(default_factory=list)
    velocity: list = field(default_factory=list)
    rotation: list = field(default_factory=list)
    kinetic_energy: list = field(default_factory=list)
    n_open: list = field(default_factory=list)
    n_sliding: list = field(default_factory=list)
    n_locked: list = field(default_factory=list)
    oc_iterations: list = field(default_factory=list)
    stats: DdaStats = field(default_factory=DdaStats)
    status: str = "running"
    state: Any = None
    fixed: Any = None
    voff: Any = None
    _final: bool = False

    @classmethod
    def start(cls, sim: "Simulation") -> "Result":
        """A result holding the initial state of ``sim`` as row 0."""
        r = cls(fixed=sim.system.fixed.copy(), voff=sim.voff.copy())
        r._append(sim, 0.0, 0)
        return r

    def _append(self, sim: "Simulation", dt: float, its: int) -> float:
        st = sim.state
        centroid, velocity, rotation, ke, (n_open, n_sliding, n_locked) = sim.history_row()
        self.time.append(st.time)
        self.dt.append(dt)
        self.centroid.append(centroid)
        self.velocity.append(velocity)
        self.rotation.append(rotation)
        self.kinetic_energy.append(ke)
        self.n_open.append(n_open)
        self.n_sliding.append(n_sliding)
        self.n_locked.append(n_locked)
        self.oc_iterations.append(its)
        return ke

    def record(self, sim: "Simulation", dt: float, its: int, retries: int) -> StepInfo:
        """Record an accepted step (every ``history_every`` steps and the last); the callback's StepInfo."""
        st = sim.state
        ke = np.nan
        if st.step % sim.settings.history_every == 0 or st.time >= sim.settings.duration * (1 - 1e-12):
            ke = self._append(sim, dt, its)
        n_contacts, n_closed, vmax = sim.step_figures()  # over all ranks
        return StepInfo(
            iterations=its, residual=float("nan"), converged=True,
            step=st.step, time=st.time, dt=dt, duration=sim.settings.duration, n_contacts=n_contacts,
            n_closed=n_closed, oc_iterations=its, retries=retries, max_velocity=vmax,
            kinetic_energy=ke, rank=sim.comm.rank,
        )

    def finalize(self, sim: "Simulation", status: str) -> None:
        """Close the histories into arrays, keep the final state and the typed statistics."""
        self.status = status
        self.state = sim.global_state().copy()  # the whole state (gathered from the ranks: output)
        self.stats = DdaStats.from_dict(sim.stats)
        for name in ("time", "dt", "centroid", "velocity", "rotation", "kinetic_energy", "n_open", "n_sliding", "n_locked", "oc_iterations"):
            setattr(self, name, np.asarray(getattr(self, name)) if not isinstance(getattr(self, name), np.ndarray) else getattr(self, name))

    # ------------------------------------------------------------------ conveniences
    @property
    def displacement(self) -> np.ndarray:
        """Centroid displacement (ns, nb, 2) [m] from the initial state."""
        c = np.asarray(self.centroid)
        return c - c[0]

    @property
    def stress(self) -> np.ndarray:
        """Final block stress (nb, 3) [Pa]."""
        return self.state.stress

    def polygons(self) -> list[np.ndarray]:
        """Final block polygons [m]."""
        return [self.state.xy[self.voff[b] : self.voff[b + 1]].copy() for b in range(self.voff.size - 1)]
