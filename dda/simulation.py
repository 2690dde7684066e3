"""The DDA time loop: one implicit step = assemble, open–close iteration, checks, update.

Per step (Shi 1988): detect contacts at the start-of-step geometry; assemble the block
submatrices (elastic from the law's tangent, initial stress, inertia, body force, loads,
fixed points, water); iterate solve → contact states (open / sliding / locked) until the
state changes left are insignificant (a joint law with history, the thermally pressurised
band, gives each iterate the strength of its state's mean over the step at the iterate's slip,
:meth:`learned.JointLaw.step_state`; see dda.openclose; at most ``oc_max_iterations``, plus
``oc_extra_iterations`` while the changes still fall); check the displacement ratio (max vertex
displacement ≤ g2·w0), the penetration (≤ limit) and the geometric overlap of every
candidate block pair at the end of every 4th step (≤ penetration limit × the smaller perimeter,
dda.overlap: it sees edges that cross with no vertex inside, which no contact measures); on
failure cut Δt and retry. Accepted
steps move the vertices with the exact rotation, set v = 2D/Δt − v₀ and update the block
stresses through the law.

Under MPI (``comm.size`` > 1), below ``settings.distribute_min_free_blocks`` free blocks (default
5,000; an explicit "schur" solve always distributes) nothing is split: rank 0 computes every
step exactly as one rank does and sends the other ranks one short message per step (time,
figures, history row), which they receive without holding a core (:meth:`Simulation.step`); the
whole state follows when it is read (the collective :meth:`Simulation.global_state`, e.g. for
output), so every rank records the same result, the numbers of one rank bit for bit. On 2 cores
the distributed step below that size was slower than one rank
(benchmarks/out/dda_ranks_session11.json).

From that size on the work is distributed (dda.partition): each rank owns a
spatial part of the blocks (recursive coordinate bisection of the centroids) and keeps the
ghost blocks within reach of them; it detects the contacts of the block pairs it owns (each
contact on exactly one rank), computes the block and contact terms of its blocks and
contacts, takes the open–close decisions of its contacts and updates only its local blocks.
``self.state`` then holds the **local** blocks (owned and ghosts, ``self.part.loc``) and this
rank's contacts; :meth:`Simulation.global_state` gathers the whole state for output only
(frames, checkpoints, the final result). The partition is rebuilt when a vertex has moved more
than its margin (the ghost layers could miss a contact partner).

Two ranks give the numbers of one to the last bit (tests/test_dda_mpi.py). The open–close
iteration amplifies round-off (a contact near a threshold opens on one rank count and stays
closed on the other: a distributed LU and sums over ranks in another order made a settling
10 × 10 stack differ by 7.7e-6 m after 10 steps), so every float is computed in the order of
one rank:

* the linear system: the owned blocks' terms and every rank's contact terms go to rank 0,
  which solves the system one rank solves (global block numbers, contacts in key order, the
  same solver; :meth:`Simulation._solve`); each rank receives its local blocks' rows;
* per-block sums over contacts (the force scale of the open–close criterion, the block
  stiffness of a closing contact): the block's owner receives the terms of the contacts on
  it held by other ranks and adds them in key order (:meth:`Simulation._owner_sides`);
* sums over all contacts (the friction tolerance): gathered and summed in key order;
* maxima and counts: exact under any order (allreduce).

What stays parallel: contact detection, block and contact terms, open–close bookkeeping,
the update; the factorisation runs on rank 0 alone (the price of identical numbers).

``linear_solver = "schur"`` (dda.schur) distributes the solve too, still with the numbers of
one rank: the free blocks are split once into ``schur_parts`` parts that do not depend on the
rank count (the ranks own whole parts: dda.partition with ``parts``), each part's interior is
factorised on its rank with its Schur complement on the interface, and rank 0 solves only the
interface system (:meth:`Simulation._solve_schur`).
"""

from __future__ import annotations

import enum
import time as _time
from dataclasses import dataclass, fields, replace
from typing import Any, Callable

import numpy as np

from dda import submatrices as sm
from dda.assembly import GlobalSystem, resolve_linear_solver
from dda.contact_detect import BroadPhaseCache, Contacts, detect
from dda.contact_law import (LOCKED, OPEN, SLIDING, ContactStiffness, advance_joint_state, contact_system, contact_vectors,
                             joint_group, joint_strength, restitution_dashpot, step_joint_state)
from dda.errors import InputError, SolverDivergence
from dda.geometry import Polygons
from dda.kinematics import mass_matrix, move_points, move_points_first_order, point_displacement
from dda.openclose import (ContactState, block_force_scale, closing_stiffness, freeze_oscillating, locked_friction_excess,
                           significant_changes, transfer, update_states)
from dda.overlap import CHECK_EVERY, worst_overlap
from dda.partition import Partition, deciding_block, wait_for_ranks
from dda.result import Result, StepInfo
from dda.settings import Settings
from dda.state import State
from dda.system import BlockSystem
from dda.water import water_loads
from dda.water_drag import water_drag_loads


#: longest pause [s] of a rank polling for rank 0's next message in a replicated run
#: (dda.partition.wait_for_message; 1 % of the last step's duration when that is longer): a
#: collective that follows the step (e.g. a callback's allreduce) holds rank 0 until this rank has
#: woken up (the command line's stop check needs none: :meth:`Simulation.replicated_stop`)
REPLICATED_LONGEST_PAUSE_S = 2.5e-4


class StepFailure(enum.Enum):
    """Why a trial step was rejected (Δt is cut and the step retried, or the run diverges).

    DISPLACEMENT : the largest vertex displacement exceeds g2·w0 (Shi's displacement ratio)
    PENETRATION  : a closed contact penetrates more than the penetration limit [m]
    OPEN_CLOSE   : the open–close iteration did not settle within its iteration cap
    NOT_FINITE   : the linear solve gave a non-finite displacement increment
    OVERLAP      : two blocks of a candidate pair overlap at the end of the step by more than
                   A_tol = penetration limit × the smaller perimeter [m²] (dda.overlap; checked
                   every ``Simulation.overlap_check_every`` = 4 steps, measured cost): the
                   geometric check behind the contact-based penetration check, which cannot
                   see edges that cross with no vertex inside; handled like PENETRATION (Δt cut,
                   retried, the run diverges after ``max_retries``) without raising the penalty
    IMPACT       : a contact on a joint whose law carries a state (a thermally pressurised
                   band) closed in the step from open, and the step is longer than the
                   impact's resolution T_c / ``impact_steps`` (:meth:`Simulation._impact_step`):
                   Δt is set to it and the step retried (not a failure of the run)
    """

    DISPLACEMENT = "displacement ratio"
    PENETRATION = "penetration"
    OPEN_CLOSE = "open-close iteration"
    NOT_FINITE = "non-finite solution"
    OVERLAP = "overlap"
    IMPACT = "impact"


@dataclass
class _Trial:
    failure: StepFailure | None
    D: np.ndarray | None = None
    cs: ContactState | None = None
    ds: np.ndarray | None = None
    ratio: float = 0.0
    iterations: int = 0
    converged: bool = True
    block: int = -1
    detail: str = ""
    max_pen: float = 0.0
    fmax: np.ndarray | None = None  # friction force [N] of the last solve at its solved normal force
    solved_state: np.ndarray | None = None  # contact states of the last solve (cs.state: those of the next step)
    solved_stretch: np.ndarray | None = None  # shear-spring stretch g_s [m] of the last solve
    strength: np.ndarray | None = None  # F_max [N] at the last solve's normal force (locked contacts)
    penalty_needed: float = 0.0  # p_n [N/m] the next step needs to stop a closing contact within the limit
    impact_dt: float | None = None  # Δt [s] that resolves the step's landings on a band (IMPACT)


@dataclass
class _LocalSystem:
    """The blocks a rank works on, in local numbering (everything on one rank): nb local
    blocks; fixed, free, density, material_id, sigma0 (nb, …); block (nv,) the local block of
    every local vertex; edge_tag (nv,); the point loads, fixed points and line loads on local
    blocks (point_idx: their rows in the global tracked-point array, point_block their local
    block, fixed_anchor the fixed points' anchors [m]); law_rows {material: rows of the local
    blocks of that material in the material's law state}."""

    nb: int
    fixed: np.ndarray
    free: np.ndarray
    density: np.ndarray
    material_id: np.ndarray
    sigma0: np.ndarray
    block: np.ndarray
    edge_tag: np.ndarray
    point_loads: list
    line_loads: list
    n_pl: int
    n_fp: int
    point_idx: np.ndarray
    point_block: np.ndarray
    fixed_anchor: np.ndarray
    law_rows: dict
    joint_laws: dict
    default_joint_law: Any
    water: Any


def _take(obj: Any, mask: np.ndarray) -> Any:
    """The entries ``mask`` of a ContactState or Contacts (every array field)."""
    return type(obj)(**{f.name: getattr(obj, f.name)[mask] for f in fields(obj)})


def _concat_sorted(parts: list) -> Any:
    """ContactStates or Contacts of several ranks as one, sorted by contact key."""
    cat = {f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(parts[0])}
    order = np.argsort(cat["key"], kind="stable")
    return type(parts[0])(**{k: v[order] for k, v in cat.items()})


class Simulation:
    """Run a :class:`BlockSystem` under :class:`Settings` (MPI-parallel over ``comm``).

    SI units: block coordinates [m], time [s], densities [kg/m³], stresses [Pa].
    :meth:`solve` returns a :class:`dda.Result` whose per-step histories are
    ``time`` (n_steps,) [s], ``centroid`` (n_steps, n_blocks, 2) [m], ``velocity``
    (n_steps, n_blocks, 3) (du/dt, dv/dt [m/s], dr/dt [rad/s]), ``rotation`` (n_steps, n_blocks)
    [rad], ``displacement`` (n_steps, n_blocks, 2) [m] from the start, ``kinetic_energy``
    (n_steps,) [J/m].
    """

    def __init__(self, system: BlockSystem, settings: Settings | None = None, *, comm: "MPI.Comm | None" = None) -> None:
        from mpi4py import MPI

        self.system = system
        self.settings = settings or Settings()
        self.settings.validate()
        system.validate()
        self.comm = comm or MPI.COMM_WORLD
        s, sy = self.settings, system
        self.nb = sy.nb
        self.voff = sy.polys.voff
        self.free = ~sy.fixed
        self.density = np.array([sy.materials[int(m)].density for m in sy.material_id])
        self.sigma0 = np.array([sy.materials[int(m)].initial_stress for m in sy.material_id])
        bb = sy.polys.bbox()
        ext = max(float(bb[:, 2].max() - bb[:, 0].min()), float(bb[:, 3].max() - bb[:, 1].min()))
        self.w0 = s.length_scale or 0.5 * ext
        self.g2 = s.max_displacement_ratio
        self.d0 = 2.5 * self.g2 * self.w0
        self.pen_limit = s.max_penetration_ratio * self.d0
        self.d_pen = max(2.0 * self.pen_limit, self.d0)
        self.tol_open = s.oc_tolerance_ratio * self.w0
        self.tol_close = s.oc_close_tolerance_ratio * self.w0
        self.tol_shear = s.oc_shear_tolerance_ratio * self.w0
        self.l_ref = 1e-6 * self.w0
        if s.penalty is not None:
            pn = float(s.penalty)
        else:
            cmax = max(float(max(m.law.reference_stiffness()[0, 0], m.law.reference_stiffness()[1, 1])) for m in sy.materials.values())
            pn = s.penalty_factor * cmax
        self.gravity = np.asarray(s.gravity, dtype=float)
        self._g = float(np.linalg.norm(self.gravity))  # |g| [m/s²]
        # the linear system is solved on rank 0 alone, exactly as on one rank (Simulation._solve):
        # a distributed LU's round-off depends on the partition and the open–close decisions
        # amplify it, so 2 ranks would not give the numbers of 1
        #: part of every block of the "schur" solve (dda.schur; None for the other solvers): fixed
        #: from the start-of-run centroids, the same on any number of ranks
        self.block_parts: np.ndarray | None = None
        #: the solver in use ("auto" resolved by the number of free blocks, never by the rank count)
        n_free = int(np.count_nonzero(~np.asarray(sy.fixed, bool)))
        self.linear_solver = resolve_linear_solver(s.linear_solver, n_free)
        #: the blocks are distributed over the ranks (dda.partition) only from
        #: ``settings.distribute_min_free_blocks`` free blocks on, or for an explicit "schur" solve
        #: (the distributed solve); below (a replicated run), rank 0 computes every step as one rank
        #: does (a trivial partition) and the other ranks receive its results (:meth:`step`)
        self.distributed = self.comm.size > 1 and (s.linear_solver == "schur" or n_free >= s.distribute_min_free_blocks)
        #: the communicator the linear solve works on: ``comm``, or COMM_SELF when replicated
        step_comm = self.comm if self.distributed else MPI.COMM_SELF
        #: parts of the "schur" solve: ``schur_parts``; under "auto" at least the rank count, so
        #: that a run on more ranks than ``schur_parts`` still starts (it splits into more parts,
        #: whose round-off differs from 1 rank's; 1 … ``schur_parts`` ranks give identical numbers)
        self.schur_parts = int(s.schur_parts)
        if self.linear_solver == "schur":
            from dda.schur import SchurSolve, assign_parts

            if s.linear_solver != "schur":
                self.schur_parts = max(self.schur_parts, int(step_comm.size))
            if step_comm.size > self.schur_parts:
                if self.comm.size > 1:  # PETSc's collective initialisation first (the error path may import it)
                    import dolfinx_solver  # noqa: F401
                    from petsc4py import PETSc  # noqa: F401
                raise InputError("settings.schur_parts", s.schur_parts,
                                 f"at least the number of MPI ranks ({self.comm.size}) for linear_solver = 'schur'")
            self.block_parts = assign_parts(sy.polys.props().centroid, sy.fixed, self.schur_parts)
            self.solver = SchurSolve(self.block_parts, self.schur_parts, sy.fixed, step_comm)
        else:
            self.solver = GlobalSystem(self.nb, sy.fixed, MPI.COMM_SELF, self.linear_solver)
        if self.comm.size > 1:  # PETSc's initialisation is collective on COMM_WORLD: do it on every rank now
            # (a dense-LU system never imports it; a later import on rank 0 alone, e.g. the output's
            # provenance, would wait for the other ranks)
            import dolfinx_solver  # noqa: F401
            from petsc4py import PETSc  # noqa: F401
        # tracked material points: point loads, fixed points, line-load ends
        pts, blk = [], []
        for b, p, _ in sy.point_loads:
            pts.append(p), blk.append(b)
        for b, p in sy.fixed_points:
            pts.append(p), blk.append(b)
        for b, p0, p1, _ in sy.line_loads:
            pts += [p0, p1]
            blk += [b, b]
        self.point_block = np.array(blk, dtype=np.int64)
        points = np.array(pts, dtype=float).reshape(-1, 2)
        self.n_pl, self.n_fp = len(sy.point_loads), len(sy.fixed_points)
        self.fixed_anchor = points[self.n_pl : self.n_pl + self.n_fp].copy()
        self._has_strength = {t: (law.cohesion > 0 or law.tensile_strength > 0) for t, law in sy.joint_laws.items()}
        self._default_strength = sy.default_joint_law.cohesion > 0 or sy.default_joint_law.tensile_strength > 0
        # columns of per-contact joint-law state (ContactState.law_state): the widest law
        self.n_joint_state = max([law.n_state for law in sy.joint_laws.values()] + [sy.default_joint_law.n_state])
        if s.trigger_joint is not None:
            law = sy.joint_laws.get(int(s.trigger_joint))
            if law is None or not hasattr(law, "mu_p") or not hasattr(law, "mu_r"):
                raise InputError("settings.trigger_joint", s.trigger_joint,
                                 "a joint tag whose law has a peak and a residual friction "
                                 "(displacement_weakening, velocity_weakening, thermal_pressurisation)")
        polys0 = sy.polys
        props = polys0.props()
        strain = np.zeros((self.nb, 3))
        law_state = {int(m): sy.materials[int(m)].law.initial_state(int(np.sum(sy.material_id == m))) for m in np.unique(sy.material_id)}
        stress, tangent, law_state = self._laws(strain, law_state)
        self.state = State(
            xy=polys0.xy.copy(), velocity=np.where(self.free[:, None], sy.velocity, 0.0), strain=strain,
            stress=stress, tangent=tangent, rotation=np.zeros(self.nb), centroid0=props.centroid.copy(),
            contacts=ContactState.empty(self.n_joint_state), points=points, time=0.0, step=0, dt=s.initial_dt or s.dt, penalty=pn, law_state=law_state,
            vertex_band=np.zeros((polys0.xy.shape[0], self.n_joint_state)),
        )
        self.stats: dict[str, Any] = {
            "steps": 0, "n_dt_cuts": 0, "n_retries": 0, "n_oc_retries": 0, "n_penetration_retries": 0, "n_overlap_retries": 0, "n_impact_cuts": 0,
            "n_nan_retries": 0, "n_nonconverged_steps": 0, "oc_iterations_total": 0, "oc_iterations_max": 0,
            "penalty_increases": 0, "solves": 0, "max_penetration": 0.0, "n_contacts_max": 0,
            "dt_min_used": np.inf, "dt_max_used": 0.0, "wall_time_s": 0.0, "mpi_ranks": self.comm.size,
            "mpi_distributed": self.distributed,
            "penalty_initial": pn, "w0": self.w0, "d0": self.d0,
        }
        if s.trigger_joint is not None:  # the trigger's state (checkpointed with the stats)
            law = sy.joint_laws[int(s.trigger_joint)]
            self.stats.update({"trigger_phi_deg": float(np.degrees(np.arctan(law.mu_p))), "trigger_held_time": None})
        self._laws_cache: tuple[float, dict] | None = None
        #: (until [s], cap [s]): after a landing on a band the steps stay at most ``cap`` until
        #: ``until``, the impact's duration T_c later (:meth:`_impact_step`; settings.impact_steps)
        self.impact_hold: tuple[float, float] = (-np.inf, np.inf)
        #: wall time [s] per phase, summed over the run: contact detection, block assembly
        #: (submatrices), contact assembly (springs and friction), open–close bookkeeping
        #: (strength, state changes, checks), update (accepted step), ghost exchange (per-block sums
        #: over contacts held by several ranks); the linear algebra is in
        #: ``self.solver.timings`` (assemble, factorise, solve, gather)
        self.phase_times = {"detect": 0.0, "block_assembly": 0.0, "contact_assembly": 0.0, "open_close": 0.0, "update": 0.0,
                            "ghost_exchange": 0.0, "overlap": 0.0}
        #: spatial partition (dda.partition), made at the first step (and after a restore or when
        #: blocks moved more than ``margin`` [m]: half the median block size)
        self.part: Partition | None = None
        self.lsys: _LocalSystem | None = None
        size = np.maximum(bb[:, 2] - bb[:, 0], bb[:, 3] - bb[:, 1])
        self.margin = max(0.5 * float(np.median(size)), self.d0)
        self.stats["repartitions"] = 0
        #: the geometric overlap check runs on the trials of every n-th step (0: never; dda.overlap.CHECK_EVERY)
        self.overlap_check_every = CHECK_EVERY
        self._repartition = False
        self._figures = (0, 0, 0.0)
        #: this rank's own stop request, a callable (e.g. coupling's SIGINT/SIGTERM flag, set by the
        #: runner); a replicated run decides on it without a collective (:meth:`replicated_stop`)
        self.stop_signal: Callable[[], bool] | None = None
        self._stop_now = False
        self.result = Result.start(self)
        self.writer = None
        if s.output_dir is not None:
            from dda.output import Writer

            self.writer = Writer(s.output_dir, self, comm=self.comm)

    # ------------------------------------------------------------------ laws
    def _laws(self, strain: np.ndarray, law_state: dict, material_id: np.ndarray | None = None,
              sigma0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
        """Block stress σ0 + σ(ε), tangent C(ε) and law state, batched per material (of the
        blocks ``material_id`` with initial stress ``sigma0``; default: all blocks)."""
        material_id = self.system.material_id if material_id is None else material_id
        sigma0 = self.sigma0 if sigma0 is None else sigma0
        n = material_id.size
        stress, tangent, new_state = np.zeros((n, 3)), np.zeros((n, 3, 3)), {}
        for m, mat in self.system.materials.items():
            sel = material_id == m
            if not np.any(sel):
                if m in law_state:
                    new_state[m] = np.asarray(law_state[m])
                continue
            r = mat.law.evaluate(strain[sel], law_state.get(m))
            stress[sel] = sigma0[sel] + np.asarray(r.stress)
            tangent[sel] = np.asarray(r.tangent)
            new_state[m] = np.asarray(r.state)
        return stress, tangent, new_state

    def _impact_penalty(self, pen: np.ndarray, dn_step: np.ndarray, dt: float, con: Contacts, props) -> float:
        """The normal penalty [N/m] a step's closing contacts need to stop within the penetration
        limit δ_lim (``self.pen_limit``), all ranks; 0 when none is closing.

        A contact past half the limit, δ > δ_lim/2, still closing at v_n = −Δd_n/Δt [m/s] (its
        penetration grew in the step) stops, by energy, at δ_stop² = δ² + m v_n²/p_n, m = m_i m_j/(m_i + m_j) the
        reduced mass of its two blocks (m_i against a fixed block) [kg/m]. Where δ_stop > δ_lim the
        penetration check will fail some later step however short: a Δt cut shortens the step but
        not the approach, and each accepted cut step creeps closer to δ_lim until none fits (seen
        at the Vajont flank impact at Δt/4, t = 27.6 s: the step cut to 1.7e-9 s, session 15). So
        the next step takes p_n ≥ m v_n² / (δ_lim² − δ²) (δ capped at 0.9 δ_lim in the
        denominator); the run's penalty never decreases (Simulation's retries double it too).
        Contacts within half the limit are left alone: the rule acts where the check is at risk,
        and a run whose contacts never pass δ_lim/2 keeps its penalty (and its results) as before."""
        closing = (pen > 0.5 * self.pen_limit) & (dn_step < 0.0)
        need = 0.0
        if np.any(closing):
            fixed = self.system.fixed if self.lsys is None else self.lsys.fixed
            m = self._mass(props)
            mi, mj = m[con.i[closing]], m[con.j[closing]]
            m_red = np.where(fixed[con.j[closing]], mi, mi * mj / (mi + mj))
            v = -dn_step[closing] / dt
            room = self.pen_limit ** 2 - np.minimum(pen[closing], 0.9 * self.pen_limit) ** 2
            need = float(np.max(m_red * v * v / room))
        return self._allmax(need)

    def _impact_step(self, cs0: ContactState, cs: ContactState, con: Contacts, props, pn: float, t: float) -> float | None:
        """The step [s] that resolves this step's landings on a band, all ranks; None without one.

        A landing: a contact on a joint whose law carries a state (``JointLaw.n_state`` > 0: the
        thermally pressurised band) that was open at the start of the step and is closed at its
        end. Its impact lasts about half a period of the contact spring, T_c = π √(m/p_n), m the
        reduced mass of its two blocks [kg/m] (one block's against a fixed block), p_n [N/m] the
        normal penalty; the step is T_c / ``impact_steps``. Why: the heat a landing puts into the
        band, ∫ μ N (1 − r) dδ, weighs the impact's force N(t) by the pore-pressure ratio r, which
        rises with the slip δ during the impact: with the impact over 2-4 steps the step's length
        sets where the force peaks against r, and the heat moved with Δt (vajont_10block, session
        25, benchmarks/vajont_landing.py). The steps stay at most that long for T_c
        (:attr:`impact_hold`), then grow back by ``dt_grow``."""
        laws, dflt = self.joint_laws(t), self.system.default_joint_law
        stateful = np.array([t_ for t_, law in laws.items() if law.n_state > 0], dtype=np.int64)
        band = np.isin(con.tag, stateful)
        if dflt.n_state > 0:
            band |= ~np.isin(con.tag, np.array(list(laws), dtype=np.int64))
        landing = band & (cs0.state == OPEN) & (cs.state != OPEN)
        need = np.inf
        if np.any(landing):
            fixed = self.system.fixed if self.lsys is None else self.lsys.fixed
            m = self._mass(props)
            i, j = con.i[landing], con.j[landing]
            mi, mj = m[i], m[j]
            m_red = np.where(fixed[j], mi, np.where(fixed[i], mj, mi * mj / (mi + mj)))
            need = float(np.pi * np.sqrt(np.min(m_red) / pn) / self.settings.impact_steps)
        need = -self._allmax(-need)
        return max(need, self.settings.dt_min) if np.isfinite(need) else None

    def _mass(self, props) -> np.ndarray:
        """Mass of each block [kg/m]: area × density (per unit thickness)."""
        return props.area * (self.density if self.lsys is None else self.lsys.density)

    def _weight(self, props) -> np.ndarray:
        """Weight of each block [N]: m_b |g| (per unit thickness)."""
        return self._mass(props) * self._g

    def _local_laws(self, strain: np.ndarray, law_state: dict) -> tuple[np.ndarray, np.ndarray, dict]:
        """:meth:`_laws` of the local blocks. On several ranks rank 0 evaluates every block's law
        as one rank does (the whole batch of each material, in block order: a law's result may
        depend on the batch, e.g. numpy's matmul of one row takes another BLAS path than of
        many) and each rank receives its local blocks' rows."""
        if not self._local():
            return self._laws(strain, law_state)
        P, ls = self.part, self.lsys
        own = P.own_idx
        mine = (P.loc, P.loc[own], strain[own],
                {m: (ls.law_rows[int(m)][P.owned[ls.material_id == m]], np.asarray(a)[P.owned[ls.material_id == m]])
                 for m, a in law_state.items()}, ls.law_rows)
        wait_for_ranks(self.comm)  # the ranks arrive apart: wait without spinning (then the gather is quick)
        parts = self.comm.gather(mine, root=0)
        send = None
        if P.rank == 0:
            strain_g = np.zeros((self.nb, 3))
            state_g: dict = {}
            for p in parts:
                strain_g[p[1]] = p[2]
                for m, (rows, a) in p[3].items():
                    if m not in state_g:
                        state_g[m] = np.empty((int(np.sum(self.system.material_id == m)),) + a.shape[1:], dtype=a.dtype)
                    state_g[m][rows] = a
            stress, tangent, new = self._laws(strain_g, state_g)
            send = [(stress[p[0]], tangent[p[0]], {m: a[p[4][int(m)]] for m, a in new.items()}) for p in parts]
        wait_for_ranks(self.comm)  # the other ranks wait here while rank 0 evaluates the laws
        return self.comm.scatter(send, root=0)

    def polygons(self, state: State | None = None) -> Polygons:
        """The blocks of ``state`` (a whole state, e.g. :meth:`global_state`), or by default of
        ``self.state``: on several ranks only this rank's local blocks (``self.part.loc``)."""
        if state is None:
            st = self.state
            local = self.part is not None and not self.part.trivial
            return Polygons(st.xy, self.part.voff if local else self.voff)
        return Polygons(state.xy, self.voff)

    # ------------------------------------------------------------------ partition
    def _local_system(self, P: Partition) -> _LocalSystem:
        sy, loc = self.system, P.loc
        glob_to_loc = np.full(self.nb, -1, dtype=np.int64)
        glob_to_loc[loc] = np.arange(loc.size)
        on = glob_to_loc[self.point_block] >= 0 if self.point_block.size else np.zeros(0, dtype=bool)
        pl = np.flatnonzero(on[: self.n_pl])
        fp = np.flatnonzero(on[self.n_pl : self.n_pl + self.n_fp])
        ll = np.flatnonzero(on[self.n_pl + self.n_fp :: 2])
        point_idx = np.concatenate([pl, self.n_pl + fp, (self.n_pl + self.n_fp + 2 * ll[:, None] + np.arange(2)).ravel()])
        point_idx = point_idx.astype(np.int64)
        mid = sy.material_id[loc]
        law_rows = {}
        for m in np.unique(sy.material_id):
            pos = np.cumsum(sy.material_id == m) - 1  # row of each block in material m's law state
            law_rows[int(m)] = pos[loc[mid == m]]
        counts = np.diff(P.voff)
        return _LocalSystem(
            nb=int(loc.size), fixed=sy.fixed[loc], free=self.free[loc], density=self.density[loc], material_id=mid,
            sigma0=self.sigma0[loc], block=np.repeat(np.arange(loc.size), counts), edge_tag=sy.edge_tag[P.vloc],
            point_loads=[sy.point_loads[k] for k in pl], line_loads=[sy.line_loads[k] for k in ll],
            n_pl=int(pl.size), n_fp=int(fp.size), point_idx=point_idx, point_block=glob_to_loc[self.point_block[point_idx]],
            fixed_anchor=self.fixed_anchor[fp], law_rows=law_rows, joint_laws=sy.joint_laws,
            default_joint_law=sy.default_joint_law, water=sy.water,
        )

    def _contact_blocks(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Global (vertex block, edge block) of contacts with global ``key`` = vertex·nv + edge."""
        nv = int(self.voff[-1])
        blk = self.system.polys.block
        return blk[key // nv], blk[key % nv]

    def _partition(self, g: State) -> None:
        """(Re)make the spatial partition from the whole state ``g`` and keep this rank's part."""
        polys = Polygons(g.xy, self.voff)
        P = Partition(self.comm, polys.props().centroid, polys.bbox(), self.voff, self.system.fixed, g.xy, self.d0,
                      self.margin, parts=self.block_parts, n_parts=self.schur_parts, replicated=not self.distributed)
        self.part = P
        self.lsys = ls = self._local_system(P)
        if P.trivial:
            self.state = g
            return
        self.stats["repartitions"] += 1
        loc, cs = P.loc, g.contacts
        a, b = self._contact_blocks(cs.key)
        mine = P.owner[deciding_block(a, b, self.system.fixed)] == P.rank if cs.size else np.zeros(0, dtype=bool)
        law_state = {m: np.asarray(arr)[ls.law_rows[int(m)]] for m, arr in g.law_state.items()}
        self.state = State(
            xy=g.xy[P.vloc], velocity=g.velocity[loc], strain=g.strain[loc], stress=g.stress[loc], tangent=g.tangent[loc],
            rotation=g.rotation[loc], centroid0=g.centroid0[loc], contacts=_take(cs, mine),
            points=g.points[ls.point_idx], time=g.time, step=g.step, dt=g.dt, penalty=g.penalty, law_state=law_state,
            vertex_band=g.vertex_band,
        )
        last = getattr(self, "last_contacts", None)
        if last is not None and last.size:  # the drawn contacts of the last step: this rank's
            self.last_contacts = _take(last, P.owner[deciding_block(last.i, last.j, self.system.fixed)] == P.rank)

    def invalidate_partition(self) -> None:
        """``self.state`` was replaced by a whole state (a restore, on every rank): partition again
        at the next step (every rank holds this state: nothing to send on a replicated run)."""
        self.part = None
        self._synced_step = self.state.step

    # ------------------------------------------------------------------ global figures
    def _local(self) -> bool:
        return self.part is not None and not self.part.trivial

    def _allsum(self, x: float) -> float:
        from mpi4py import MPI

        if not self._local():
            return x
        wait_for_ranks(self.comm)  # arrive together (no rank spins), then reduce
        return self.comm.allreduce(x, op=MPI.SUM)

    def _allmax(self, x: float) -> float:
        from mpi4py import MPI

        if not self._local():
            return x
        wait_for_ranks(self.comm)
        return self.comm.allreduce(x, op=MPI.MAX)

    def _maxloc(self, value: float, block: int) -> tuple[float, int]:
        """(value, global block) of the largest value over the ranks (first block on ties)."""
        if not self._local():
            return value, block
        from mpi4py import MPI

        if block < 0:
            value, block = -np.inf, self.nb
        else:
            block = int(self.part.loc[block])
        v, b = self.comm.allreduce((float(value), block), op=MPI.MAXLOC)
        return v, int(b)

    def global_state(self) -> State:
        """The whole state (every block, every contact sorted by key), gathered from the ranks
        for output (frames, checkpoints, the result); ``self.state`` itself on one rank (on a
        replicated run after rank 0 sent it, :meth:`_sync`). Collective."""
        if not self._local():
            self._sync()
            return self.state
        P, ls, st = self.part, self.lsys, self.state
        own = P.own_idx
        vown = np.repeat(P.owned, np.diff(P.voff))
        pown = P.owned[ls.point_block] if ls.point_block.size else np.zeros(0, dtype=bool)
        mine = {
            "blocks": P.loc[own], "verts": P.vloc[vown], "xy": st.xy[vown], "points_idx": ls.point_idx[pown],
            "points": st.points[pown], "contacts": st.contacts,
            **{k: getattr(st, k)[own] for k in ("velocity", "strain", "stress", "tangent", "rotation", "centroid0")},
            "law": {m: (ls.law_rows[int(m)][P.owned[ls.material_id == m]], np.asarray(a)[P.owned[ls.material_id == m]])
                    for m, a in st.law_state.items()},
        }
        parts = self.comm.allgather(mine)
        nb, nv = self.nb, int(self.voff[-1])
        out = {"xy": np.empty((nv, 2))}
        for k in ("velocity", "strain", "stress", "tangent", "rotation", "centroid0"):
            out[k] = np.empty((nb,) + np.shape(mine[k])[1:])
        n_points = self.n_pl + self.n_fp + 2 * len(self.system.line_loads)
        points = np.empty((n_points, 2))
        law_state: dict = {}
        for p in parts:
            out["xy"][p["verts"]] = p["xy"]
            for k in ("velocity", "strain", "stress", "tangent", "rotation", "centroid0"):
                out[k][p["blocks"]] = p[k]
            points[p["points_idx"]] = p["points"]
            for m, (rows, a) in p["law"].items():
                if m not in law_state:
                    n_m = int(np.sum(self.system.material_id == m))
                    law_state[m] = np.empty((n_m,) + a.shape[1:], dtype=a.dtype)
                law_state[m][rows] = a
        contacts = _concat_sorted([p["contacts"] for p in parts])
        return State(**out, contacts=contacts, points=points, time=st.time, step=st.step, dt=st.dt, penalty=st.penalty,
                     law_state=law_state, vertex_band=st.vertex_band)

    def global_last_contacts(self) -> Contacts | None:
        """The contacts of the last step (global block numbers, sorted by key), gathered for output. Collective."""
        self._sync()
        last = getattr(self, "last_contacts", None)
        if not self._local():
            return last
        parts = self.comm.allgather(last)
        parts = [p for p in parts if p is not None]
        return _concat_sorted(parts) if parts else None

    def history_row(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, tuple[int, int, int]]:
        """What the history records of the current state: centroids (nb,2) [m], velocities
        (nb,3), rotations (nb,) [rad], kinetic energy [J/m] and the (open, sliding, locked)
        contact counts, over all blocks and contacts (gathered on several ranks: output)."""
        row = getattr(self, "_row", None)
        if row is not None:  # a replicated run's rank > 0: the row rank 0 recorded for this step
            self._row = None
            return row
        st = self.state
        cs = st.contacts.state
        counts = (int(np.sum(cs == OPEN)), int(np.sum(cs == SLIDING)), int(np.sum(cs == LOCKED)))
        if not self._local():
            props = self.geometry()[1]
            M = self._mass_matrix(props, self.density)
            ke = 0.5 * float(np.einsum("bi,bij,bj->", st.velocity, M, st.velocity))
            return props.centroid.copy(), st.velocity[:, :3].copy(), st.rotation.copy(), ke, counts
        P = self.part
        own = P.own_idx
        props = self.geometry()[1]
        M = self._mass_matrix(props, self.lsys.density)[own]
        v = st.velocity[own]
        parts = self.comm.allgather((P.loc[own], props.centroid[own], v, M, st.rotation[own], counts))
        centroid, velocity, rotation = np.empty((self.nb, 2)), np.empty((self.nb, 6)), np.empty(self.nb)
        Mg = np.empty((self.nb, 6, 6))
        for blocks, c, vel, m, rot, _ in parts:
            centroid[blocks], velocity[blocks], Mg[blocks], rotation[blocks] = c, vel, m, rot
        # the kinetic energy summed as one rank sums it (every block, in block order)
        ke = 0.5 * float(np.einsum("bi,bij,bj->", velocity, Mg, velocity))
        velocity = velocity[:, :3]
        counts = tuple(int(sum(p[5][k] for p in parts)) for k in range(3))
        return centroid, velocity, rotation, ke, counts

    def _owner_sides(self, con: Contacts, vi: np.ndarray, vj: np.ndarray) -> tuple:
        """Every contact on this rank's owned blocks, from all ranks, in global key order (the
        contact order of one rank), to sum per-block contact terms exactly as one rank does:
        ``(ai, vi, aj, vj)``, ``ai`` (n_i,) the local owned block on the contact's vertex side
        and ``vi`` (n_i, …) its value; the same for the edge side. A contact whose block on a
        side is a ghost here sends that side's value to the block's owner (one alltoall)."""
        P = self.part
        out = []
        for blk, val in ((con.i, vi), (con.j, vj)):
            own = P.owned[blk]
            ghost = np.flatnonzero(~own)
            dest = P.owner[P.loc[blk[ghost]]]
            send = [(con.key[ghost[dest == q]], P.loc[blk[ghost[dest == q]]], val[ghost[dest == q]])
                    for q in range(P.size)]
            wait_for_ranks(self.comm)
            got = self.comm.alltoall(send)
            key = np.concatenate([con.key[own]] + [g[0] for g in got])
            glob = np.concatenate([P.loc[blk[own]]] + [g[1] for g in got])
            v = np.concatenate([val[own]] + [g[2] for g in got])
            order = np.argsort(key, kind="stable")
            out += [np.searchsorted(P.loc, glob[order]), v[order]]
        return tuple(out)

    def _block_stiffness(self, Kb: np.ndarray, Kc: np.ndarray, con: Contacts) -> np.ndarray | None:
        """Per local block, K_b plus the diagonal blocks of every contact spring on it
        (dda.openclose.closing_stiffness), summed by the block's owner in the order of one
        rank (K_b, then the vertex-side terms, then the edge-side terms, each in key order)
        and sent to the ghosts; None on one rank (closing_stiffness sums them itself)."""
        if not self._local():
            return None
        t = _time.perf_counter()
        ai, ki, aj, kj = self._owner_sides(con, Kc[:, :6, :6], Kc[:, 6:, 6:])
        K = Kb.copy()
        np.add.at(K, ai, ki)
        np.add.at(K, aj, kj)
        self.part.forward(K)  # the owners' totals to the ghosts
        self.phase_times["ghost_exchange"] += _time.perf_counter() - t
        return K

    def _block_scale(self, N: np.ndarray, weight: np.ndarray, con: Contacts) -> np.ndarray | None:
        """Per local block, the force scale S_b = m_b |g| + Σ N_c of dda.openclose.block_force_scale,
        summed by the block's owner in the order of one rank and sent to the ghosts; None on one rank."""
        if not self._local():
            return None
        t = _time.perf_counter()
        Np = np.maximum(N, 0.0)
        ai, ni, aj, nj = self._owner_sides(con, Np, Np)
        nb = weight.size
        S = weight + np.bincount(ai, ni, minlength=nb) + np.bincount(aj, nj, minlength=nb)
        self.part.forward(S)
        self.phase_times["ghost_exchange"] += _time.perf_counter() - t
        return S

    def _ordered_sums(self, key: np.ndarray, *values: np.ndarray) -> tuple[float, ...]:
        """Σ of each ``values`` array over the contacts of all ranks, summed as one rank sums it
        (np.sum over the contacts in key order): the same floats on every rank count."""
        if not self._local():
            return tuple(float(np.sum(v)) for v in values)
        parts = self.comm.allgather((key, np.stack(values)))
        order = np.argsort(np.concatenate([p[0] for p in parts]), kind="stable")
        allv = np.concatenate([p[1] for p in parts], axis=1)
        return tuple(float(np.sum(np.ascontiguousarray(allv[k][order]))) for k in range(len(values)))

    def _solve(self, Kb: np.ndarray, Fb: np.ndarray, Kc: np.ndarray, Fc: np.ndarray, con: Contacts,
               symmetric: bool, kc_changed: np.ndarray | None = None) -> np.ndarray:
        """D (nloc, 6) of the local blocks. On several ranks the block terms of the owned blocks
        and the contact terms of every rank go to rank 0, which solves the very system one rank
        solves (global block numbers, contacts in key order, the same solver): the same D to
        the last bit on any number of ranks (a distributed LU is not: its round-off depends on
        the partition, and the open–close decisions amplify it). Each rank receives the rows of
        its local blocks (owned and ghosts). ``kc_changed``: the rows of ``Kc`` changed since the
        last solve (dda.assembly.GlobalSystem.solve; one rank only, None: unknown).

        ``linear_solver = "schur"`` (dda.schur): distributed substructuring instead; each rank
        solves for its owned blocks, the ghosts' rows come from their owners (the same numbers
        on any rank count up to ``schur_parts``)."""
        if self.block_parts is not None:
            return self._solve_schur(Kb, Fb, Kc, Fc, con)
        if not self._local():
            return self.solver.solve(Kb, Fb, Kc, Fc, con.i, con.j, pattern_key=self._token, symmetric=symmetric,
                                     kc_changed=kc_changed)
        P, tm = self.part, self.solver.timings
        t = _time.perf_counter()
        own = P.own_idx
        wait_for_ranks(self.comm)  # rank 0 may arrive before the others have assembled: wait without spinning
        parts = self.comm.gather((P.loc, P.loc[own], Kb[own], Fb[own], con.key, P.loc[con.i], P.loc[con.j], Kc, Fc), root=0)
        if P.rank == 0:
            nb = self.nb
            Kg, Fg = np.zeros((nb, 6, 6)), np.zeros((nb, 6))
            for p in parts:
                Kg[p[1]], Fg[p[1]] = p[2], p[3]
            # the contacts of all ranks in key order: each rank's rows written once to their place
            # (rank by rank, each rank's contacts already in key order), no concatenated copy
            order = np.argsort(np.concatenate([p[4] for p in parts]), kind="stable")
            place = np.empty_like(order)
            place[order] = np.arange(order.size)
            ends = np.cumsum([p[4].size for p in parts])
            # numpy's own dtype objects: a dtype unpickled from a message is an equal but distinct
            # instance, and np.add.at (the block-LU assembly) then takes its generic path, ~30× slower
            ci, cj, Kcg, Fcg = (np.empty((order.size,) + parts[0][k].shape[1:], dtype=dtype)
                                for k, dtype in ((5, np.int64), (6, np.int64), (7, np.float64), (8, np.float64)))
            for p, end in zip(parts, ends):
                at = place[end - p[4].size:end]
                ci[at], cj[at], Kcg[at], Fcg[at] = p[5], p[6], p[7], p[8]
            tm["gather"] += _time.perf_counter() - t
            D = self.solver.solve(Kg, Fg, Kcg, Fcg, ci, cj, pattern_key=self._token, symmetric=symmetric)
            t = _time.perf_counter()
            send = [(D[p[0]], self.solver.ksp_iterations) for p in parts]
        else:
            send = None
            self.solver.n_solves += 1
        wait_for_ranks(self.comm)  # the other ranks wait here while rank 0 factorises and solves
        D, self.solver.ksp_iterations = self.comm.scatter(send, root=0)
        tm["gather"] += _time.perf_counter() - t
        return D

    def _solve_schur(self, Kb: np.ndarray, Fb: np.ndarray, Kc: np.ndarray, Fc: np.ndarray, con: Contacts) -> np.ndarray:
        """D (nloc, 6) by dda.schur.SchurSolve: the owned blocks' rows solved by their rank's
        parts and the interface system, the ghosts' rows sent by their owners."""
        P = self.part
        if P.trivial:
            return self.solver.solve(np.arange(self.nb), Kb, Fb, con.key, con.i, con.j, Kc, Fc, pattern_key=self._token)
        own = P.own_idx
        D_own = self.solver.solve(P.loc[own], Kb[own], Fb[own], con.key, P.loc[con.i], P.loc[con.j], Kc, Fc,
                                  pattern_key=self._token)
        D = np.zeros((P.n_local, 6))
        D[own] = D_own
        t = _time.perf_counter()
        P.forward(D)
        self.phase_times["ghost_exchange"] += _time.perf_counter() - t
        return D

    def contact_guarantees(self) -> tuple[float, float, bool]:
        """The two contact guarantees, measured on the last accepted step's solution (all ranks):

        * penetration: the largest penetration of any contact, open or closed [m]; a step is
          accepted only with it ≤ ``max_penetration_ratio`` × d0 (``self.pen_limit``; else Δt
          is cut);
        * friction: the largest excess of the shear force F_s = p_s (g_s + Δd_s) of a contact
          LOCKED in the last solve over its strength at the solved normal force, relative to the
          force scale of its blocks (dda.openclose.locked_friction_excess) [-]; it is
          ≤ ``oc_force_tolerance`` when the open–close iteration converged (the third value; a
          step accepted at the iteration cap after ``oc_max_retries`` Δt cuts carries no
          friction guarantee).

        Returns (penetration [m], friction excess [-], converged)."""
        self._sync()
        max_pen, converged = getattr(self, "_last_check", (0.0, True))
        con, cs = self._con_local, self.state.contacts  # this rank's contacts, local block numbers
        if not self._allsum(cs.size):
            return max_pen, 0.0, converged
        state, shear, strength = self._solved
        _, props = self.geometry()
        weight = self._weight(props)
        scale = block_force_scale(con.i, con.j, cs.normal_force, weight, self.lsys.fixed,
                                  block_scale=self._block_scale(cs.normal_force, weight, con))
        excess = locked_friction_excess(state, shear, strength, scale)
        return max_pen, self._allmax(float(excess.max()) if excess.size else 0.0), converged

    def step_figures(self) -> tuple[int, int, float]:
        """(contacts, closed contacts, largest block speed [m/s]) of the last accepted step, over all ranks."""
        return self._figures

    def _mass_matrix(self, props, density: np.ndarray) -> np.ndarray:
        """Block mass matrices (nb, 6, 6) of the geometry ``props`` (dda.kinematics.mass_matrix),
        computed once per accepted state: the history record of a state and the next step's
        inertia share them."""
        cached = getattr(self, "_mass_cache", None)
        if cached is None or cached[0] is not props or not (cached[1] is density or np.array_equal(cached[1], density)):
            cached = (props, density, mass_matrix(props, density))
            self._mass_cache = cached
        return cached[2]

    def geometry(self) -> tuple[Polygons, Any]:
        """(polygons, their integral properties) of the current state, computed once per
        accepted state (the history record and the next step share them)."""
        cached = getattr(self, "_geometry", None)
        if cached is None or cached[0] is not self.state:
            polys = self.polygons()
            cached = (self.state, polys, polys.props())
            self._geometry = cached
        return cached[1], cached[2]

    # ------------------------------------------------------------------ settling and trigger
    def settling(self, t: float | None = None) -> bool:
        """True while a step starting at time t [s] is in the static settling phase."""
        return (self.state.time if t is None else t) < self.settings.settle_time * (1 - 1e-12)

    def dt_cap(self) -> float:
        """Largest Δt [s] of the next step: ``settle_dt`` while settling (static relaxation
        is faster with longer steps), else ``dt``; at most the cap of :attr:`impact_hold` while
        an impact on a band is under way (``impact_steps``)."""
        s = self.settings
        cap = (s.settle_dt or s.dt) if self.settling() else s.dt
        if self.state.time < self.impact_hold[0]:  # an impact on a band under way (settings.impact_steps)
            cap = min(cap, self.impact_hold[1])
        return cap

    def trigger_phi(self, t: float) -> float | None:
        """Peak friction angle [deg] of the trigger joint for a step ending at t [s] (None: no trigger):
        φ_p(t) = max(φ_p − rate·(t − start), φ_r), or the held value after the onset."""
        s = self.settings
        if s.trigger_joint is None:
            return None
        if self.stats["trigger_held_time"] is not None:
            return self.stats["trigger_phi_deg"]
        law = self.system.joint_laws[int(s.trigger_joint)]
        start = s.settle_time if s.trigger_start is None else s.trigger_start
        phi0, phir = (float(np.degrees(np.arctan(m))) for m in (law.mu_p, law.mu_r))
        return max(phi0 - s.trigger_rate * max(t - start, 0.0), phir)

    def joint_laws(self, t: float) -> dict:
        """The joint laws by tag for a step ending at t [s]: the system's, with the trigger
        joint's peak friction at :meth:`trigger_phi` (a copy of its law; the system's is not changed)."""
        phi = self.trigger_phi(t)
        if phi is None:
            return self.system.joint_laws
        if self._laws_cache is None or self._laws_cache[0] != phi:
            import copy

            tag = int(self.settings.trigger_joint)
            law = copy.copy(self.system.joint_laws[tag])
            law.mu_p = float(np.tan(np.radians(phi)))
            if hasattr(law, "phi_peak"):
                law.phi_peak = phi
            self._laws_cache = (phi, {**self.system.joint_laws, tag: law})
        return self._laws_cache[1]

    def _after_step(self) -> None:
        """Trigger bookkeeping after an accepted step: record φ_p, hold it at the onset."""
        s, st = self.settings, self.state
        if s.trigger_joint is None or self.stats["trigger_held_time"] is not None:
            return
        self.stats["trigger_phi_deg"] = self.trigger_phi(st.time)
        # this rank's blocks (owned and ghosts); the decision is reduced over the ranks
        moving = bool(np.any(np.linalg.norm(st.velocity[self.lsys.free, :2], axis=1) > s.trigger_hold_velocity))
        if not self.settling() and self._allsum(int(moving)) > 0:
            self.stats["trigger_held_time"] = st.time

    # ------------------------------------------------------------------ contacts
    def detect_contacts(self, polys: Polygons) -> Contacts:
        """The contacts of this rank's block pairs (all pairs on one rank) among the blocks
        ``polys`` (local numbering: ``i``, ``j`` local blocks; ``vtx``, ``edge``, ``key`` global)."""
        if self.part is None:  # called before the first step, which makes the partition (collective)
            self._partition(self.state)
        ls, P = self.lsys, self.part
        bb = polys.bbox()
        cache = getattr(self, "_broad_phase", None)
        if cache is None:
            cache = self._broad_phase = BroadPhaseCache()
        pairs = cache.pairs(bb, self.d0, key=P)  # = broad_phase_grid(bb, d0); P: the local numbering
        pairs = pairs[~(ls.fixed[pairs[:, 0]] & ls.fixed[pairs[:, 1]])]
        if not P.trivial:  # the pairs whose deciding block this rank owns
            dec = deciding_block(P.loc[pairs[:, 0]], P.loc[pairs[:, 1]], self.system.fixed)
            pairs = pairs[P.owner[dec] == P.rank]
        #: this rank's candidate pairs (local blocks), boxes padded by d0: the pairs the overlap
        #: check measures (no block moves more than g2·w0 = 0.4 d0 in a step, so two blocks
        #: outside each other's padded box at the start of a step cannot overlap at its end)
        self._near_pairs = pairs
        g = self._g
        cs = self.state.contacts
        con = detect(
            polys, pairs, self.d0, self.d_pen, ls.edge_tag, self.settings.angle_tolerance_deg,
            prev_keys=P.local_keys(cs.key), up=-self.gravity / g if g > 0 else None,
            held_keys=P.local_keys(cs.key[cs.state != OPEN]), bbox=bb,
        )
        if not P.trivial and con.size:
            con.vtx, con.edge = P.vloc[con.vtx], P.vloc[con.edge]
            con.key = con.vtx * int(self.voff[-1]) + con.edge
        return con

    def _bond_new(self, c: Contacts) -> np.ndarray:
        if self.state.step > 0 or c.size == 0:
            return np.zeros(c.size, dtype=bool)
        has = np.full(c.size, self._default_strength, dtype=bool)
        for t, v in self._has_strength.items():  # a loop over the joint laws, not the contacts
            has[c.tag == t] = v
        return has & (c.gap <= 1e-3 * self.d0)

    def _damped(self, dt: float) -> bool:
        """True when a dynamic step of length Δt [s] has a normal contact dashpot (_dashpot)."""
        s = self.settings
        return s.contact_damping_ratio > 0 or s.contact_damping_time > 0.5 * dt or s.contact_restitution is not None

    def _dashpot(self, con: Contacts, props, pn: float, dt: float) -> np.ndarray:
        """c/Δt [N/m] per contact of the normal dashpot: c = 2ζ√(p_n m_eff)
        (settings.contact_damping_ratio ζ; m_eff = m_i m_j/(m_i + m_j) [kg/m] of the contact's
        two blocks, m_i when j is fixed, m_j when i is) + p_n max(τ_c − Δt/2, 0)
        (settings.contact_damping_time τ_c: the update's own damping p_n Δt/2 tops it up to
        p_n τ_c at any Δt ≤ 2τ_c, see dda.Settings) + the top-up to the restitution e_n
        (settings.contact_restitution, restitution_dashpot). The dashpot force on the relative normal
        displacement w_nᵀD of the step is −(c/Δt) w_nᵀD: the mid-step normal velocity times c
        under the trapezoidal rule (v₁ + v₀)/2 = D/Δt, so it dissipates c (w_nᵀD/Δt)² Δt ≥ 0
        (for a contact open at the start of the step only the part past its gap, see _try)."""
        ls = self.lsys
        m = props.area * ls.density
        inv = np.where(ls.fixed, 0.0, 1.0 / np.maximum(m, 1e-300))
        inv_sum = inv[con.i] + inv[con.j]
        m_eff = 1.0 / np.maximum(inv_sum, 1e-300)
        s = self.settings
        c = 2.0 * s.contact_damping_ratio * np.sqrt(pn * m_eff)
        if s.contact_damping_time > 0.5 * dt:
            c = c + pn * (s.contact_damping_time - 0.5 * dt)
        if s.contact_restitution is not None:
            c = c + restitution_dashpot(s.contact_restitution, pn, m_eff, con.i, con.j, dt)
        return c / dt

    # ------------------------------------------------------------------ one trial step
    def _try(self, dt: float, polys: Polygons, props, con: Contacts, cs0: ContactState, pn: float) -> _Trial:
        s, sy, st = self.settings, self.lsys, self.state  # this rank's blocks (all on one rank)
        P = self.part
        ph, clock = self.phase_times, _time.perf_counter
        t_phase = clock()
        ps = pn / s.shear_ratio
        c = props.centroid
        t1 = st.time + dt
        Kb = np.zeros((sy.nb, 6, 6))
        Fb = np.zeros((sy.nb, 6))
        sm.elastic(props.area, st.tangent, Kb)
        sm.initial_stress(props.area, st.stress, Fb)
        settling = self.settling()
        if s.block_damping_time > 0.5 * dt and not settling:
            # the blocks' Kelvin–Voigt dashpot C A τ_b less the update's own C A Δt/2, on the
            # strain of the step: force −(C A (τ_b − Δt/2)/Δt) Δε (settings.block_damping_time)
            sm.elastic(props.area * ((s.block_damping_time - 0.5 * dt) / dt), st.tangent, Kb)
        sm.inertia(self._mass_matrix(props, sy.density), (0.0 if settling else s.dynamic) * st.velocity, dt, Kb, Fb)
        sm.body_force(props.area, sy.density, self.gravity, Fb)
        if sy.n_pl:
            f = np.array([np.asarray(fl(t1) if callable(fl) else fl, dtype=float) for _, _, fl in sy.point_loads])
            sm.point_loads(sy.point_block[: sy.n_pl], st.points[: sy.n_pl], f, c, Fb)
        if sy.n_fp:
            k = slice(sy.n_pl, sy.n_pl + sy.n_fp)
            sm.fixed_points(sy.point_block[k], st.points[k], st.points[k] - sy.fixed_anchor, s.fixed_point_factor * pn, c, Kb, Fb)
        if sy.line_loads:
            e = st.points[sy.n_pl + sy.n_fp :].reshape(-1, 2, 2)
            q = np.array([ll[3] for ll in sy.line_loads])
            sm.line_loads(sy.point_block[sy.n_pl + sy.n_fp :: 2], e[:, 0], e[:, 1], q, q, c, Fb)
        if sy.water is not None:
            water_loads(polys, sy.free, sy.water(t1), sy.water.density, float(np.linalg.norm(self.gravity)), c, Fb)
            if sy.water.drag and not settling:
                # hydrodynamic drag, explicit on the start-of-step velocity (dda.water_drag: stable
                # while dt < M/(rho_w C_d L |v|), accurate for dt much shorter)
                water_drag_loads(polys, sy.free, sy.water(t1), sy.water.density, sy.water.drag_coefficient,
                                 sy.water.skin_friction, c, s.dynamic * st.velocity, Fb, self.d0)
        t = clock()
        ph["block_assembly"] += t - t_phase
        t_phase = t
        wn, ws = contact_vectors(con, c)
        cs = cs0.copy()
        laws, dflt = self.joint_laws(t1), sy.default_joint_law
        group = joint_group(con.tag, laws)  # the law of each contact (the same for every iteration)
        converged, it = self._allsum(con.size) == 0, 0
        weight = self._weight(props)
        c_dt = self._dashpot(con, props, pn, dt) if (self._damped(dt) and not settling) else None
        flips = np.zeros(con.size, dtype=np.int64)
        stiffness = ContactStiffness()  # the contacts' K, recomputed only where the springs change
        hist = []
        law_state0 = cs.law_state  # the joint-law state at the step's start (advanced once the step is accepted)
        while True:
            it += 1
            rate = np.zeros_like(cs.slip_rate) if settling else cs.slip_rate  # settling: static strength
            # a joint law's state (the band's pore pressure) as its mean over the step at this
            # iterate's slip (JointLaw.step_state): the work of the strength is the law's heat
            state_of_step = cs.law_state if settling else step_joint_state(
                con.tag, np.where(cs.state == SLIDING, np.abs(rate) * dt, 0.0), laws, dflt, dt, law_state0, group)
            fmax, _, mu = joint_strength(con.tag, cs.normal_force, cs.slip, rate, con.lc, cs.bonded, laws, dflt, self.l_ref,
                                         state_of_step, group=group)
            # friction of sliding contacts linear in the solved normal force (implicit: F_f = F_max(N₀) + μ (N − N₀))
            t = clock()
            ph["open_close"] += t - t_phase
            solved_state, solved_stretch = cs.state, cs.stretch  # (update_states returns new arrays)
            Kc, Fc = contact_system(wn, ws, cs.state, con.gap, cs.stretch, cs.sign, fmax, pn, ps, mu, cs.normal_force,
                                    previous=stiffness)
            if c_dt is not None:
                # normal dashpot of the closed contacts on the penetration gained in the step,
                # N_d = −(c/Δt)(w_nᵀD + g⁺), g⁺ = max(g_n, 0): a contact that was open at the start
                # of the step is damped only from where it touches, not across its gap. Like a
                # spring on g⁺: (c/Δt) w_n w_nᵀ and the load −(c/Δt) g⁺ w_n. Friction sees the
                # whole normal force N = −p_n d_n + N_d, so a sliding contact adds
                # −σ μ_t (c/Δt) w_s w_nᵀ and σ μ_t (c/Δt) g⁺ w_s (as contact_system does for the spring)
                k_d = np.where(cs.state != OPEN, c_dt, 0.0)
                k_fd = np.where(cs.state == SLIDING, cs.sign * mu * k_d, 0.0)
                gap_open = np.maximum(con.gap, 0.0)
                Kc = Kc + (k_d[:, None, None] * wn[:, :, None] - k_fd[:, None, None] * ws[:, :, None]) * wn[:, None, :]
                Fc = Fc + (k_fd * gap_open)[:, None] * ws - (k_d * gap_open)[:, None] * wn
            symmetric = not np.any((cs.state == SLIDING) & (mu != 0))
            t_phase = clock()
            ph["contact_assembly"] += t_phase - t
            symmetric = self._allsum(int(not symmetric)) == 0
            # (nloc, 6): owned blocks and ghosts; Kc is the stiffness's own array unless the dashpot added to it
            D = self._solve(Kb, Fb, Kc, Fc, con, symmetric, kc_changed=stiffness.changed if c_dt is None else None)
            t_phase = clock()
            all_finite = bool(np.isfinite(D).all())
            if self._allsum(int(not all_finite)):
                finite = np.all(np.isfinite(D), axis=1)
                _, bad = self._maxloc(1.0 if not all_finite else 0.0, int(np.argmax(~finite)))
                return _Trial(StepFailure.NOT_FINITE, block=bad, detail="non-finite solution", iterations=it)
            Dij = np.concatenate((D[con.i], D[con.j]), axis=1)
            dn_step = np.sum(wn * Dij, axis=1)  # normal displacement of the step [m]
            dn = con.gap + dn_step
            ds = np.sum(ws * Dij, axis=1)
            # the normal force of the solve, linear in D: the spring (and the dashpot of a closed
            # contact, dda.contact_damping_ratio); strength at the solved normal force; an open contact
            # that penetrates: at the force it would carry once closed (it decides whether it closes
            # locked or sliding; k_d = 0 on open contacts)
            if c_dt is None:
                N_solved = -pn * dn
            else:
                N_solved = -pn * dn - k_d * (dn_step + gap_open)
            N_trial = np.maximum(N_solved, 0.0)
            N = np.where(cs.state != OPEN, N_trial, 0.0)
            if not settling:
                state_of_step = step_joint_state(con.tag, np.where(cs.state == SLIDING, np.abs(ds), 0.0), laws, dflt,
                                                 dt, law_state0, group)
            fmax_new, tmax_new, _ = joint_strength(con.tag, N_trial, cs.slip, rate, con.lc, cs.bonded, laws, dflt, self.l_ref,
                                                   state_of_step, group=group)
            new, sign, bonded, stretch, jump = update_states(
                cs, dn, ds, pn, ps, fmax_new, tmax_new, self.tol_open, self.tol_close, self.tol_shear, friction_prev=fmax,
                gap_start=con.gap,
            )
            # each change is weighed against the force scale of its own blocks (weight + contact forces)
            any_change = self._allsum(int(np.count_nonzero(new != cs.state)))
            scale = (block_force_scale(con.i, con.j, N, weight, sy.fixed, block_scale=self._block_scale(N, weight, con))
                     if any_change else None)
            # update_states' jump bounds the force a closing (p_n |d_n|) or locking (p_s |d_s|, 2 F_f)
            # contact corrects from above; the series stiffness below only lowers it, so it is needed
            # only where that bound counts (the same significant changes, for a fraction of the work)
            counts = jump > s.oc_force_tolerance * scale if any_change else np.zeros(con.size, dtype=bool)
            closing = (cs.state == OPEN) & (new != OPEN) & counts
            block_stiffness = None  # K_b + the contact diagonal blocks per block (closing_stiffness), once per iteration
            if self._allsum(int(np.any(closing))):  # the force a closing contact adds: |d_n| × its closed stiffness
                block_stiffness = self._block_stiffness(Kb, Kc, con)
                jump[closing] = np.abs(dn[closing]) * closing_stiffness(closing, con.i, con.j, wn, Kc, Kb, sy.fixed, pn,
                                                                        block_stiffness=block_stiffness)
            locking = (cs.state == SLIDING) & (new == LOCKED) & counts
            if self._allsum(int(np.any(locking))):  # the force that stops the reversed slip: |d_s| × the shear stiffness in series
                if block_stiffness is None:
                    block_stiffness = self._block_stiffness(Kb, Kc, con)
                k_s = closing_stiffness(locking, con.i, con.j, ws, Kc, Kb, sy.fixed, ps, block_stiffness=block_stiffness)
                jump[locking] = np.minimum(jump[locking], np.abs(ds[locking]) * k_s)
            if np.any(new != cs.state):
                unfrozen = new
                new, flips, _ = freeze_oscillating(cs.state, new, flips, s.oc_freeze_after)
                frozen = (new != unfrozen) & (cs.state != SLIDING)  # frozen SLIDING: slip along its shear force
                if np.any(frozen):
                    fs = ds + np.where(cs.state == LOCKED, cs.stretch, 0.0)
                    sign = np.where(frozen, np.sign(fs) + (fs == 0), sign)
                    bonded = bonded & ~frozen
            if not any_change:
                changed = 0  # no state change on any rank: nothing to weigh
            else:
                sig = significant_changes(cs.state, new, jump, scale, s.oc_force_tolerance)
                changed = int(self._allsum(int(np.count_nonzero(sig))))
            # the friction the solve applied to sliding contacts: F_f(N₀) + μ (N(D) − N₀),
            # N(D) = −p_n d_n (+ the dashpot's N_d) (= μN for Coulomb: on the cone at the solved normal force)
            friction = np.maximum(fmax + mu * (N_solved - cs.normal_force), 0.0)
            cs.normal_force = N
            cs.slip_rate = ds / dt
            if changed == 0 and s.oc_friction_tolerance > 0 and it < s.oc_max_iterations:
                # the friction of sliding contacts was applied with the previous iterate's normal
                # force: an explicit coupling to the stiff normal contact mode that amplifies
                # round-off (issue 14); iterate until it agrees with this solve's N
                sl = (cs.state == SLIDING) & (new == SLIDING)
                moved, total = self._ordered_sums(con.key[sl], np.abs(fmax_new[sl] - fmax[sl]), np.abs(fmax[sl]))
                if moved > s.oc_friction_tolerance * total:
                    changed = -1  # not a state change: the friction force moved
            if changed == 0:
                converged = True
                # changes too small to count take effect from the next step (none is lost)
                cs.state, cs.sign, cs.bonded, cs.stretch = new, sign, bonded, stretch
                break
            hist.append(changed)
            if it >= s.oc_max_iterations:
                # past the cap: go on only while the changes keep falling (cheaper than a Δt cut)
                falling = changed <= 2 or (len(hist) > 1 and changed < hist[-2])
                if it >= s.oc_max_iterations + s.oc_extra_iterations or not falling:
                    break
            cs.state, cs.sign, cs.bonded, cs.stretch = new, sign, bonded, stretch
        # displacement ratio and penetration checks
        u = point_displacement(D[sy.block], *(polys.xy - c[sy.block]).T)
        umax = np.linalg.norm(u, axis=1)
        if not P.trivial:  # the owned blocks' vertices (a ghost's are its owner's)
            umax = np.where(P.owned[sy.block], umax, 0.0)
        umax_all, umax_block = self._maxloc(float(umax.max()) if umax.size else 0.0,
                                            int(sy.block[np.argmax(umax)]) if umax.size else -1)
        ratio = umax_all / (self.g2 * self.w0)
        pen = -dn  # every contact: an open one that penetrates counts too
        pen_max, pen_block = self._maxloc(float(pen.max()) if pen.size else 0.0,
                                          int(con.i[np.argmax(pen)]) if pen.size else -1)
        max_pen = max(pen_max, 0.0)
        trial = _Trial(None, D, cs, ds, ratio, it, converged, max_pen=max_pen, fmax=friction, solved_state=solved_state,
                       solved_stretch=solved_stretch, strength=fmax_new,
                       penalty_needed=self._impact_penalty(pen, dn_step, dt, con, props) if not settling else 0.0)
        ph["open_close"] += clock() - t_phase
        if s.impact_steps and not settling:
            trial.impact_dt = self._impact_step(cs0, cs, con, props, pn, t1)
        if ratio > 1.0:
            trial.failure, trial.block = StepFailure.DISPLACEMENT, umax_block
        elif max_pen > self.pen_limit:
            trial.failure, trial.block = StepFailure.PENETRATION, pen_block
            trial.detail = f"penetration {max_pen:.3g} m > limit {self.pen_limit:.3g} m"
        elif trial.impact_dt is not None and dt > trial.impact_dt * (1.0 + 1e-9):
            trial.failure = StepFailure.IMPACT
        else:
            t_overlap = clock()
            n = self.overlap_check_every
            over = self._overlap(polys, c, D) if n and (st.step + 1) % n == 0 else None
            ph["overlap"] += clock() - t_overlap
            if over is not None:
                trial.failure, trial.block, trial.detail = StepFailure.OVERLAP, over[0], over[1]
            elif not converged:
                trial.failure = StepFailure.OPEN_CLOSE
        return trial

    def _overlap(self, polys: Polygons, centroid: np.ndarray, D: np.ndarray) -> tuple[int, str] | None:
        """The geometric overlap check of a trial step (dda.overlap): the blocks moved by ``D``
        (this rank's, local numbering; fixed blocks do not move), every candidate pair of the
        step's broad phase; None when no pair overlaps by more than A_tol = penetration limit ×
        the smaller perimeter, else (global block i, "blocks i and j overlap by A m² > A_tol m²").
        Only reads: nothing of the trial or the state changes. The worst pair (largest
        area / A_tol) is reduced over the ranks (the same decision on every rank)."""
        sy = self.lsys
        Dm = np.where(sy.fixed[:, None], 0.0, D)
        move = move_points if self.settings.exact_rotation else move_points_first_order
        moved = Polygons(move(polys.xy, centroid[sy.block], Dm[sy.block]), polys.voff)
        pairs = getattr(self, "_near_pairs", np.zeros((0, 2), dtype=np.int64))
        ratio, row, area, tol = worst_overlap(moved, pairs, self.pen_limit)
        if row >= 0 and not self.part.trivial:
            pairs = self.part.loc[pairs]  # global block numbers
        worst = (ratio, *(int(b) for b in pairs[row]), area, tol) if row >= 0 else (0.0, -1, -1, 0.0, 0.0)
        if self._local():
            wait_for_ranks(self.comm)
            worst = max(self.comm.allgather(worst), key=lambda w: (w[0], -w[1], -w[2]))
        ratio, i, j, area, tol = worst
        if ratio <= 1.0:
            return None
        return i, f"blocks {i} and {j} overlap by {area:.4g} m² > {tol:.4g} m² (penetration limit × the smaller perimeter)"

    # ------------------------------------------------------------------ one accepted step
    def step(self) -> StepInfo:
        """Advance one accepted step (with Δt cuts and retries); returns its StepInfo.

        Not distributed on several ranks (``self.distributed`` False, below
        ``settings.distribute_min_free_blocks``): rank 0 computes the step as one rank does and
        sends the other ranks a short message (:meth:`_replicate`: the step's time, figures and
        history row), which they wait for without holding a core and record; the whole state
        follows when a rank needs it (:meth:`_sync`, at the collective :meth:`global_state`,
        :meth:`global_last_contacts`, :meth:`contact_guarantees`). A divergence on rank 0 is raised
        on every rank."""
        if self.distributed or self.comm.size == 1:
            return self._compute_step()
        if self.comm.rank == 0:
            try:
                info = self._compute_step()
            except SolverDivergence as err:
                self._replicate(("diverged", (err.step, err.time, err.block, err.reason), self._step_message()))
                for request in self._sends:  # the message is out before rank 0 leaves the run
                    request.wait()
                raise
            except BaseException as err:  # the other ranks must not wait for a state that never comes
                self._replicate(("failed", f"{type(err).__name__}: {err}", None))
                raise
            message = self._step_message()
            if getattr(self, "_read_step", -1) == self.state.step - 1:
                # the whole state was read after the last step (e.g. an output monitor reading it
                # every step): send it with this step's message, one message and one wake-up instead of two
                message["state"] = {name: getattr(self, name, None) for name in self.REPLICATED}
                self._synced_step = self.state.step
            message["stop"] = self._poll_stop()
            self._replicate(("step", (info.dt, info.oc_iterations, info.retries), message))
            return info
        return self._replicated_step()

    #: MPI tag of rank 0's messages to the other ranks in a replicated run (ordered: one tag)
    REPLICATE_TAG = 15015
    #: what :meth:`_sync` sends: the accepted state and what the output and the guarantees read
    REPLICATED = ("state", "stats", "last_contacts", "_con_local", "_last_check", "_solved")

    def _replicated(self) -> bool:
        """True on a replicated run of several ranks (rank 0 computes, the others receive)."""
        return not self.distributed and self.comm.size > 1

    @property
    def replicated_run(self) -> bool:
        """True on a replicated run of several ranks (rank 0 computes, the others receive its steps)."""
        return self._replicated()

    #: MPI tag of a replicated run's stop requests from the other ranks to rank 0
    STOP_TAG = 15016

    def _poll_stop(self) -> bool:
        """Rank 0 of a replicated run, about to send an accepted step: whether the run stops after
        it (this rank's ``stop_signal``, or a stop request another rank sent, :meth:`replicated_stop`;
        once true it stays true). Only an ``iprobe``, no collective."""
        if self._stop_now or self.stop_signal is None:
            return self._stop_now
        from mpi4py import MPI

        while self.comm.iprobe(source=MPI.ANY_SOURCE, tag=self.STOP_TAG):
            self.comm.recv(source=MPI.ANY_SOURCE, tag=self.STOP_TAG)
            self._stop_now = True
        self._stop_now = self._stop_now or bool(self.stop_signal())
        return self._stop_now

    def replicated_stop(self) -> bool:
        """Whether a replicated run stops after the step just taken: the same answer on every rank,
        without the collective a per-step ``allreduce`` of the ranks' stop flags costs (on 2 ranks
        it held rank 0 until rank 1 had woken for the step: 1.3 → 2.1 ms per step of the 2-block
        incline). Rank 0 decides when it sends the step (:meth:`_poll_stop`: its own
        ``stop_signal`` or a request received from another rank) and the decision comes with the
        step's message; a rank other than 0 whose ``stop_signal`` is set sends rank 0 one request,
        which takes effect at a later step, on every rank alike. Call it after every step (e.g. in
        the ``solve`` callback) on every rank of a replicated run (:attr:`replicated_run`)."""
        if (self.comm.rank > 0 and self.stop_signal is not None and not getattr(self, "_stop_sent", False)
                and self.stop_signal()):
            self._stop_sent = True
            self._stop_request = self.comm.isend(True, dest=0, tag=self.STOP_TAG)
        return self._stop_now

    def _replicate(self, message: tuple) -> None:
        """Rank 0 of a replicated run: send ``message`` to the other ranks, non-blocking (the
        previous sends are complete first: the receivers have taken them)."""
        for request in getattr(self, "_sends", ()):
            request.wait()
        self._sends = [self.comm.isend(message, dest=q, tag=self.REPLICATE_TAG) for q in range(1, self.comm.size)]

    def _step_message(self) -> dict:
        """Rank 0: what every accepted step tells the other ranks: the state's scalars, the step
        figures and the history row recorded for it (None when this step recorded none,
        ``settings.history_every``); the statistics come with the state (:meth:`_sync`)."""
        st, r = self.state, self.result
        row = None
        if len(r.time) > 1 and r.time[-1] == st.time:  # this step appended a history row
            row = (r.centroid[-1], r.velocity[-1], r.rotation[-1], r.kinetic_energy[-1],
                   (r.n_open[-1], r.n_sliding[-1], r.n_locked[-1]))
        return {"time": st.time, "step": st.step, "dt": st.dt, "penalty": st.penalty, "figures": self._figures,
                "row": row}

    def _sync(self) -> None:
        """A replicated run's whole state on every rank (collective; nothing to do on one rank, in
        a distributed run, or when this step's state has been sent already): rank 0 sends
        :data:`REPLICATED`, the others receive it."""
        if not self._replicated():
            return
        self._read_step = self.state.step
        if getattr(self, "_synced_step", 0) == self.state.step:
            return
        if self.comm.rank == 0:
            self._replicate(("state", None, {name: getattr(self, name, None) for name in self.REPLICATED}))
            self._synced_step = self.state.step
        else:
            self._receive(until=("state",))

    def _receive(self, until: tuple) -> tuple:
        """A rank other than 0: take rank 0's messages in order (a state applied as it comes)
        until one of the kinds ``until``; returns it (kind, args, content)."""
        from dda.partition import wait_for_message

        while True:
            # a step message does not come much sooner than the last step took rank 0 (T): 0.7 T
            # is slept in one pause, then the polls are at most 1 % of T apart (at least
            # REPLICATED_LONGEST_PAUSE_S): a rank that only waits wakes ~100 times a step, not
            # every 0.25 ms (10 % of a core at 1.8 s steps, beside rank 0 on a 2-core machine)
            first, longest = 0.0, REPLICATED_LONGEST_PAUSE_S
            if "step" in until and getattr(self, "_step_interval", 0.0) > 0:
                first = 0.7 * self._step_interval - (_time.perf_counter() - self._step_arrival)
                longest = max(longest, 0.01 * self._step_interval)
            kind, args, content = wait_for_message(self.comm, 0, self.REPLICATE_TAG, longest_pause=longest, first_pause=first)
            if kind in ("step", "diverged"):
                now = _time.perf_counter()
                if hasattr(self, "_step_arrival"):
                    self._step_interval = now - self._step_arrival
                self._step_arrival = now
            if kind == "failed":
                raise RuntimeError(f"rank 0 stopped the replicated DDA run: {args}")
            state = content if kind == "state" else (content or {}).get("state")
            if state is not None:
                for name, value in state.items():
                    setattr(self, name, value)
                self._synced_step = self.state.step
            if kind in until:
                return kind, args, content

    def _replicated_step(self) -> StepInfo:
        """A rank other than 0 of a replicated run: take rank 0's accepted step and record it
        (the state's arrays stay those of the last :meth:`_sync` until the next one)."""
        if self.part is None:  # the (trivial) partition and the local system, as rank 0 has them
            self._partition(self.state)
        kind, args, m = self._receive(until=("step", "diverged"))
        # the accepted step's scalars (its arrays came with the message or come with the next _sync)
        if m.get("state") is None:
            self.state = replace(self.state, time=m["time"], step=m["step"], dt=m["dt"], penalty=m["penalty"])
        self._figures, self._row = m["figures"], m["row"]
        self._stop_now = bool(m.get("stop", False))
        if kind == "diverged":
            step, time, block, reason = args
            result = self._finish("diverged")  # collective: the whole last state comes with it
            raise SolverDivergence(step, time, block, reason, last_state=self.state.copy(), result=result)
        dt, iterations, retries = args
        return self.result.record(self, dt, iterations, retries)

    def _compute_step(self) -> StepInfo:
        """:meth:`step` computed on this rank (one rank, a distributed run, or rank 0 of a replicated one)."""
        if self.part is None:  # first step, or after a restore: self.state is the whole state
            self._partition(self.state)
        elif self._repartition:  # blocks moved beyond the ghost margin: rebalance
            self._partition(self.global_state())
        self._repartition = False
        s, st = self.settings, self.state
        polys, props = self.geometry()
        t0 = _time.perf_counter()
        con = self.detect_contacts(polys)
        self.phase_times["detect"] += _time.perf_counter() - t0
        self._token = getattr(self, "_token", 0) + 1  # one COO pattern per contact list
        cs0 = transfer(st.contacts, con, st.penalty, self._bond_new(con), touch_tol=1e-6 * self.d0, n_state=self.n_joint_state,
                       nxt=self.system.polys.nxt, vertex_band=st.vertex_band)
        settling = self.settling()
        # settling steps end at settle_time; they may be as long as settle_dt, the event's steps as dt
        end = s.settle_time if settling else s.duration
        remaining = end - st.time
        dt = min(st.dt, remaining, self.dt_cap())
        if remaining - dt < 1e-3 * dt:
            dt = remaining
        pn = st.penalty
        retries, pen_fails, oc_fails, dt_keep = 0, 0, 0, dt
        while True:
            trial = self._try(dt, polys, props, con, cs0, pn)
            self.stats["solves"] = self.solver.n_solves
            self.stats["oc_iterations_total"] += trial.iterations
            fail = trial.failure
            if fail is None:
                break
            if fail is StepFailure.IMPACT:  # a landing on a band: the step that resolves it (not a retry)
                self.stats["n_impact_cuts"] += 1
                dt = dt_keep = trial.impact_dt
                continue
            if fail is StepFailure.OPEN_CLOSE and (oc_fails >= s.oc_max_retries or dt * s.dt_cut < s.dt_min):
                self.stats["n_nonconverged_steps"] += 1  # accept: Shi's iteration cap
                break
            if ((fail in (StepFailure.PENETRATION, StepFailure.NOT_FINITE, StepFailure.OVERLAP) and retries >= s.max_retries)
                    or dt * min(s.dt_cut, 0.5) < s.dt_min):
                reason = trial.detail or ("displacement ratio not met at dt_min" if fail is StepFailure.DISPLACEMENT
                                          else fail.value)
                raise SolverDivergence(
                    st.step + 1, st.time + dt, trial.block, f"{reason} after {retries + oc_fails} retries (dt = {dt:.3g} s)",
                    last_state=st.copy(), result=self._finish("diverged"),
                )
            self.stats["n_retries"] += 1
            if fail is StepFailure.DISPLACEMENT:  # Shi's time-step control: Δt scaled to the allowed displacement
                self.stats["n_dt_cuts"] += 1
                dt *= max(0.1, min(s.dt_cut, 0.8 / trial.ratio))
                dt_keep = dt
                continue
            dt *= s.dt_cut
            if fail is StepFailure.OPEN_CLOSE:
                oc_fails += 1
                self.stats["n_oc_retries"] += 1
                continue
            retries += 1
            dt_keep = dt
            if fail is StepFailure.PENETRATION:
                self.stats["n_penetration_retries"] += 1
                pen_fails += 1
                if pen_fails >= 2:
                    pn *= 2.0
                    self.stats["penalty_increases"] += 1
            elif fail is StepFailure.OVERLAP:
                self.stats["n_overlap_retries"] += 1
            else:
                self.stats["n_nan_retries"] += 1
        if trial.impact_dt is not None:  # a landing on a band in this step: hold its step for the impact's duration
            until = st.time + trial.impact_dt * s.impact_steps
            if st.time >= self.impact_hold[0]:
                self.impact_hold = (until, trial.impact_dt)
            else:
                self.impact_hold = (max(until, self.impact_hold[0]), min(trial.impact_dt, self.impact_hold[1]))
        t0 = _time.perf_counter()
        self._accept(trial, dt, polys, props, con, pn)
        self.phase_times["update"] += _time.perf_counter() - t0
        if trial.penalty_needed > self.state.penalty:  # an impact the penalty cannot stop in time (_impact_penalty)
            self.state.penalty = trial.penalty_needed
            self.stats["penalty_increases"] += 1
        planned = min(st.dt, remaining)
        if dt_keep < planned * (1 - 1e-12):  # cut for displacement/penetration: continue from there
            self.state.dt = dt_keep
        elif trial.ratio < 0.5 and dt >= planned * (1 - 1e-12):  # quiet step: grow towards settings.dt
            self.state.dt = min(st.dt * s.dt_grow, self.dt_cap())
        else:
            self.state.dt = st.dt
        cs = self.state.contacts
        vmax = float(np.max(np.linalg.norm(self.state.velocity[:, :2], axis=1))) if self.state.velocity.size else 0.0
        if self._local():
            from mpi4py import MPI

            n_con, n_closed = self.comm.allreduce(np.array([cs.size, int(np.sum(cs.state != OPEN))]), op=MPI.SUM)
            self._figures = (int(n_con), int(n_closed), self._allmax(vmax))
            self._repartition = self.part.moved_too_far(self.state.xy)
        else:
            self._figures = (int(cs.size), int(np.sum(cs.state != OPEN)), vmax)
        self.stats["oc_iterations_max"] = max(self.stats["oc_iterations_max"], trial.iterations)
        self.stats["max_penetration"] = max(self.stats["max_penetration"], trial.max_pen)
        self.stats["n_contacts_max"] = max(self.stats["n_contacts_max"], self._figures[0])
        self.stats["dt_min_used"] = min(self.stats["dt_min_used"], dt)
        self.stats["dt_max_used"] = max(self.stats["dt_max_used"], dt)
        self.stats["steps"] = self.state.step
        return self.result.record(self, dt, trial.iterations, retries + oc_fails)

    def _vertex_band(self, vertex_band: np.ndarray, cs: ContactState) -> np.ndarray:
        """:attr:`State.vertex_band` after an accepted step: each vertex with a loaded (not OPEN)
        contact that carries a band (a law state not all zero) takes that contact's state (the
        first by key when it has several); the others keep theirs. A distributed run gathers
        every rank's contacts first (collective), so the array is the same on every rank and the
        same as on one rank."""
        if vertex_band.shape[1] == 0:
            return vertex_band
        sel = (cs.state != OPEN) & np.any(cs.law_state != 0.0, axis=1)
        key, vtx, band = cs.key[sel], cs.vertex[sel], cs.law_state[sel]
        if self._local():
            parts = self.comm.allgather((key, vtx, band))
            key, vtx, band = (np.concatenate([q[k] for q in parts]) for k in range(3))
        if key.size == 0:
            return vertex_band
        order = np.lexsort((key, vtx))  # by vertex, then key
        first = np.unique(vtx[order], return_index=True)[1]
        out = vertex_band.copy()
        out[vtx[order][first]] = band[order][first]
        return out

    def _accept(self, trial: _Trial, dt: float, polys: Polygons, props, con: Contacts, pn: float) -> None:
        s, sy, st = self.settings, self.lsys, self.state
        D = trial.D
        D[sy.fixed] = 0.0
        c = props.centroid
        blk = sy.block
        move = move_points if s.exact_rotation else move_points_first_order
        xy = move(polys.xy, c[blk], D[blk])
        points = move(st.points, c[sy.point_block], D[sy.point_block]) if st.points.size else st.points
        settling = self.settling()
        v0 = s.dynamic * st.velocity
        velocity = np.where(sy.free[:, None], 2.0 * D / dt - v0, 0.0)
        if settling:  # static: no velocity is carried to the next step
            velocity = np.zeros_like(velocity)
        strain = st.strain + D[:, 3:6]
        stress, tangent, law_state = self._local_laws(strain, st.law_state)
        cs, ds = trial.cs, trial.ds
        lock, slide = cs.state == LOCKED, cs.state == SLIDING
        # the shear spring of a contact locked in the solve stretches by this step's Δd_s; one that
        # locks from the next step (a change too small to re-solve) starts at its new stretch
        # (the friction force it replaces, or 0 for a contact that was open), not + Δd_s
        solved_lock = trial.solved_state == LOCKED
        # what the last solve carried (contact_guarantees): states, shear forces F_s = p_s (g_s + Δd_s) [N], strengths [N]
        self._solved = (trial.solved_state, (pn / s.shear_ratio) * (trial.solved_stretch + ds), trial.strength)
        cs.stretch = np.where(lock, np.where(solved_lock, trial.solved_stretch + ds, cs.stretch), 0.0)
        if not settling:  # settling moves nothing that counts: slip and joint-law state unchanged
            cs.slip = cs.slip + np.where(slide, np.abs(ds), 0.0)
            # joint-law state (e.g. thermal pressurisation) changes once per accepted step, with
            # the converged normal force and the slip of the sliding contacts
            cs.law_state = advance_joint_state(con.tag, cs.normal_force, np.where(slide, np.abs(ds), 0.0), con.lc,
                                               self.joint_laws(st.time + dt), sy.default_joint_law, self.l_ref, dt, cs.law_state)
        else:
            cs.slip_rate = np.zeros_like(cs.slip_rate)
        cs.normal_force = np.where(cs.state != OPEN, cs.normal_force, 0.0)
        ps = pn / s.shear_ratio
        cs.shear_force = np.where(lock, -ps * cs.stretch, np.where(slide, -cs.sign * trial.fmax, 0.0))
        self.state = State(
            xy=xy, velocity=velocity, strain=strain, stress=stress, tangent=tangent, rotation=st.rotation + D[:, 2],
            centroid0=st.centroid0, contacts=cs, points=points, time=st.time + dt, step=st.step + 1, dt=st.dt,
            penalty=pn, law_state=law_state, vertex_band=self._vertex_band(st.vertex_band, cs) if not settling else st.vertex_band,
        )
        self._con_local = con  # this rank's contacts in local block numbers (contact_guarantees)
        self._last_check = (trial.max_pen, trial.converged)
        # the contacts drawn in the frames: global block numbers
        self.last_contacts = con if self.part.trivial else replace(con, i=self.part.loc[con.i], j=self.part.loc[con.j])
        self._after_step()

    # ------------------------------------------------------------------ solve
    def solve(self, *, duration: float | None = None, rtol: float | None = None,
              max_iterations: int | None = None,
              callback: Callable[[StepInfo], Any] | None = None) -> Result:
        """The solver contract: run to ``duration`` [s] (default ``settings.duration``).

        ``rtol`` overrides ``settings.oc_force_tolerance`` (the open–close iteration has
        converged when the force each remaining contact-state change would correct is
        ≤ rtol × the force scale of the contact's own blocks, dda.openclose), ``max_iterations`` ``settings.oc_max_iterations``
        (open–close iterations per step before Δt is cut). ``callback(info)`` gets a
        :class:`StepInfo` (a :class:`learned.contract.StepRecord`) after every accepted
        step, on every rank; returning True stops the run after that step. Returns a
        :class:`Result`; raises :class:`SolverDivergence` whose ``result`` is the partial
        result up to the last good step (written when output is on).
        """
        changes = {name: value for name, value in (("duration", duration), ("oc_force_tolerance", rtol),
                                                   ("oc_max_iterations", max_iterations)) if value is not None}
        if changes:
            from dataclasses import replace

            self.settings = replace(self.settings, **changes)
            self.settings.validate()
        t0 = _time.perf_counter()
        s = self.settings
        if self.writer is not None and self.state.step == 0:  # the initial frame (not again on a restart)
            self.writer.frame(self)
        status = "ok"
        try:
            while self.state.time < s.duration * (1 - 1e-12):
                info = self.step()
                if self.writer is not None:
                    self.writer.maybe_frame(self)
                if callback is not None and callback(info):
                    status = "interrupted"
                    break
        except SolverDivergence as err:
            self.stats["wall_time_s"] = _time.perf_counter() - t0
            if self.writer is not None:
                self.writer.frame(self, force=True)
                self.writer.finish(self, status="diverged", message=str(err))
            raise
        self.stats["wall_time_s"] = _time.perf_counter() - t0
        res = self._finish(status)
        if self.writer is not None:
            self.writer.frame(self, force=True)
            self.writer.finish(self, status=status)
        return res

    def _finish(self, status: str) -> Result:
        self.result.finalize(self, status)  # collective (the whole state)
        if self._replicated() and self.comm.rank == 0 and self.stop_signal is not None:
            from mpi4py import MPI

            while self.comm.iprobe(source=MPI.ANY_SOURCE, tag=self.STOP_TAG):  # stop requests that came too late
                self.comm.recv(source=MPI.ANY_SOURCE, tag=self.STOP_TAG)
        for request in getattr(self, "_sends", ()):  # rank 0 of a replicated run: the other ranks have
            request.wait()  # taken its last messages in the same collective call
        self._sends = []
        return self.result

    @property
    def last_good_state(self) -> State:
        """A copy of the last accepted state."""
        return self.state.copy()
