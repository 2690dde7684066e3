"""Run settings of a DDA simulation (SI units) with validation that names the key path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from dda.assembly import SOLVERS
from dda.errors import InputError
from dda.partition import DISTRIBUTE_MIN_FREE_BLOCKS


@dataclass
class Settings:
    """DDA run controls.

    duration          run time [s]
    dt                largest time step of the event [s] (must not exceed ``duration``); the first
                      step unless ``initial_dt`` is given
    impact_steps      steps over which a landing on a joint whose law carries a state (a thermally
                      pressurised band) is resolved: a step in which such a contact closes from
                      open is cut to T_c / impact_steps, T_c = π √(m/p_n) the impact's duration
                      (m the reduced mass of the pair [kg/m]); 0: off (Simulation._impact_step)
    initial_dt        first time step [s] (None: dt); the step control grows it by ``dt_grow`` per
                      quiet step towards ``settle_dt`` while settling and ``dt`` after. A time
                      refinement that halves dt keeps the settled state (the event's initial
                      state) when it keeps this first step (benchmarks/vajont_resolution.py)
    dt_min            smallest time step before the run is declared diverged [s]
    gravity           body acceleration (gx, gy) [m/s²]
    dynamic           velocity carried to the next step, 1 = dynamic, 0 = static (Shi's k01)
    max_displacement_ratio  g2: largest vertex displacement per step / w0 (Shi ≈ 0.001–0.01)
    length_scale      w0 [m]; None = half the largest extent of the model
    penalty           normal contact stiffness p_n [N/m]; None = penalty_factor · max C11
    penalty_factor    p_n / (block stiffness) when ``penalty`` is None (Shi: 10–100)
    shear_ratio       p_n / p_s (Shi's default 2.5)
    contact_damping_ratio  ζ of a viscous dashpot in parallel with the normal spring of every
                      closed contact in the dynamic steps (0: none, Shi's elastic contact):
                      c = 2ζ√(p_n m_eff), m_eff = m_i m_j/(m_i + m_j) (m_i for a fixed j),
                      acting on the relative normal displacement of the step, N_d = −(c/Δt) w_nᵀD;
                      the contact's normal force (friction, joint-law state) is spring + dashpot.
                      A penalty spring under the trapezoidal rule returns all the energy it
                      stores: an impact rebounds with restitution ≈ 1. ζ ≥ 1 makes the normal
                      impact of two blocks (nearly) plastic (restitution e = exp(−πζ/√(1−ζ²)) for
                      ζ < 1, no rebound for ζ ≥ 1 in the linear model) (Wu 2010, Eng. Geol. 114:
                      contact damping in DDA landslide runs). Note: DDA's own update
                      (v₁ = 2D/Δt − v₀, Newmark β = ½, γ = 1) already damps a contact spring like a
                      dashpot p_n Δt/2, so an undamped contact rebounds with e ≈ 1 − 0.75 ω_c Δt
                      (ω_c = √(p_n/m_eff)), not 1: see ``contact_damping_time``
    contact_damping_time  τ_c [s] of the normal contact damping c = p_n τ_c taken as part of the
                      model, so that it does not change with Δt (0: off, the damping is whatever the
                      update gives at the step used). DDA's update v₁ = 2D/Δt − v₀ (Newmark β = ½,
                      γ = 1) damps a spring of stiffness k like a dashpot k Δt/2 to leading order in
                      ωΔt (algorithmic damping ratio ωΔt/4): an impact's restitution is
                      e ≈ 1 − 0.75 ω_c Δt, it falls when Δt is cut and rises when Δt is refined,
                      so a run whose answer depends on impacts does not converge as Δt → 0
                      (issue 13 item 8). With τ_c > 0 every closed contact of a dynamic step gets
                      the dashpot p_n max(τ_c − Δt/2, 0) on top of the update's own p_n Δt/2:
                      the total is p_n τ_c at every Δt ≤ 2τ_c (damping ratio ω_c τ_c/2, restitution
                      → exp(−π ζ/√(1 − ζ²)) of that ζ as Δt → 0), and a run with Δt = 2τ_c and
                      no cut steps is bitwise the undamped one. Adds to ``contact_damping_ratio``'s
                      dashpot; acts like it (normal displacement of the step, spring + dashpot force)
    contact_restitution  e_n, the normal coefficient of restitution of a block pair's impact
                      (0 < e_n < 1; None: off), a material property taken as part of the model
                      so that impacts dissipate the same at every Δt. It sets a total normal
                      damping c = 2ζ√(p_n m_pair) on every closed contact of a dynamic step, with
                      ζ = −ln e_n / √(π² + ln² e_n) (the linear damped oscillator that rebounds
                      with e_n) and m_pair = m_eff / n_pair (m_eff as for
                      ``contact_damping_ratio``; n_pair = the number of contacts the two blocks
                      have with each other this step, so a face-to-face impact carried by two
                      corner contacts rebounds with e_n, as a point impact does). DDA's update
                      already supplies p_n Δt/2 of it (see ``contact_damping_time``); the solver
                      adds the rest, p_n·max(2ζ√(m_pair/p_n) − Δt/2, 0): e_n holds at every
                      Δt ≤ 4ζ/ω_c. Published: ≈ 0.2 for near-normal rock impacts, independent
                      of the slope material (Wyllie 2014, Int. J. Rock Mech. Min. Sci. 67:
                      170–180, field back-analysis of rock falls at five sites). It is the
                      rebound of blocks stiffer than the contact; blocks softer than it (p_n ≫ C11,
                      the default 50 C11) rebound with what their strain modes give back (see
                      ``block_damping_time``). Excludes ``contact_damping_ratio`` and
                      ``contact_damping_time``
    block_damping_time  τ_b [s] of the blocks' material damping, a Kelvin–Voigt viscosity η = E τ_b
                      on each block's strain: the stress σ = C ε + τ_b C ε̇ (the stress carried
                      between steps stays C ε), damping ratio ω τ_b/2 of a strain mode of angular
                      frequency ω [rad/s] (0: off, the damping is whatever
                      the update gives at the step used). A contact stiffer than the blocks
                      (p_n = penalty_factor · C11, 50x) leaves an impact's energy in the blocks'
                      strain modes, which the contact's dashpot (``contact_restitution``) hardly
                      reaches: their only damping is then DDA's update, which damps a strain mode
                      of stiffness K like a dashpot K Δt/2 (ratio ωΔt/4), so impacts between
                      deformable blocks get more elastic as Δt falls (tests/test_dda_block_damping.py:
                      a block with p_n = 42 C11 and e_n = 0.2 rebounds with 0.65 / 0.72 / 0.74
                      at ω Δt = 0.36 / 0.09 / 0.023, and with 0.648 / 0.649 / 0.645 with
                      τ_b = 0.6 ms). With τ_b > 0 the strain of every block in a dynamic step
                      gets the dashpot C A max(τ_b − Δt/2, 0) on top of the update's own
                      C A Δt/2: the total is C A τ_b at every Δt ≤ 2τ_b, and a run whose steps
                      are 2τ_b is bitwise the one without it. Not in the static settling steps
    fixed_point_factor  fixed-point spring / p_n
    max_penetration_ratio  penetration limit / d0 (search distance d0 = 2.5 g2 w0)
    oc_max_iterations open–close iterations per step before the step is cut (Shi: 6–8)
    oc_friction_tolerance  the iteration also goes on while the friction force of the sliding
                      contacts, applied with the previous iterate's normal force, moves by more
                      than this fraction of its total (0: off, the friction lags one iterate)
    oc_extra_iterations  iterations allowed past ``oc_max_iterations`` while the number of
                      state changes still falls (or is at most 2): cheaper than a Δt cut
    oc_max_retries    Δt cuts for a step whose open–close iteration does not settle; then
                      the step is accepted as non-converged (counted) and Δt is restored
    oc_freeze_after   a contact that flips this many times in one step is frozen closed
    oc_tolerance_ratio  opening band / w0: a closed contact opens when its spring stretches
                      beyond this (plus the tensile capacity over p_n) (Shi's f0: 2e-7; why
                      it is tighter here: see dda.openclose)
    oc_close_tolerance_ratio  closing band / w0: an open contact closes when it penetrates
                      beyond this (Shi's s0 is 2e-4)
    oc_shear_tolerance_ratio  slip reversal / w0 before a sliding contact locks (Shi: 1e-7)
    oc_force_tolerance  the iteration has converged when the force that each remaining
                      state change would correct is below this fraction of the force scale
                      of the contact's own blocks (the lighter block's weight plus its
                      contact normal forces; those changes act from the next step);
                      0: every change counts
    max_retries       cuts of one step before a non-settling step is accepted (open–close) or
                      the run is declared diverged (penetration, NaN)
    dt_cut, dt_grow   factor on Δt after a failed step / a quiet step
    linear_solver     "auto" (default: "schur" from ``dda.assembly.SCHUR_AUTO_MIN_FREE_BLOCKS``
                      = 5,000 free blocks on, "mumps" below; by size, never by the rank count,
                      so 1 and 2 ranks solve alike), "mumps" (PETSc LU), "cg" (PETSc CG + block Jacobi; BiCGStab while a
                      sliding contact makes K non-symmetric), "scipy" (serial) or "schur"
                      (substructuring over ``schur_parts`` fixed parts, MUMPS per part and a
                      dense interface system: distributed, the same numbers on any rank count
                      up to ``schur_parts``; dda.schur)
    schur_parts       number of parts of the "schur" solve (≥ the number of MPI ranks; under
                      "auto" raised to the rank count when smaller)
    distribute_min_free_blocks  under MPI (more than one rank) the blocks are distributed over the
                      ranks (dda.partition: each rank owns a spatial part, detects and assembles
                      its contacts) only for systems of at least this many free blocks, or with an
                      explicit ``linear_solver = "schur"`` (the distributed solve). Below it rank 0
                      computes every step as one rank does and the other ranks receive its results
                      (a short message per step, the whole state when it is read, e.g. for output;
                      they wait without holding a core: the numbers of one rank bit for bit on every
                      rank; output by rank 0), like PETSc's redundant solve for a system too small
                      to split. Default
                      ``dda.partition.DISTRIBUTE_MIN_FREE_BLOCKS`` = 5,000, measured on 2 cores
                      (benchmarks/dda_ranks.py, benchmarks/out/dda_ranks_session11.json): below it
                      the distributed step was 0.28–0.91× of the undistributed one on 2 ranks (the
                      rank-0 solve and ~10 collectives per open–close solve); at 5,041 free blocks,
                      with the "schur" solve that "auto" takes from 5,000 on, 2 ranks beat 1
                      (wall 1.22×, rank-0 CPU 1.81×). 0: always distribute
    exact_rotation    update vertices with the exact rotation (True) or Shi's linear map
    settle_time       static settling phase [s] before the event: for t < settle_time every
                      step is static (velocity not carried, Shi's k01 = 0, stored velocity 0),
                      joints see a zero slip rate (their static strength) and joint-law state
                      (band temperature, pore pressure) and accumulated slip do not change, so
                      gravity and water are balanced by contact forces before anything moves
                      dynamically (0: none; the loads are applied at once at t = 0)
    settle_dt         largest Δt [s] of the settling steps (None: dt). A static step relaxes the
                      out-of-balance force of a mode of stiffness k and mass m by the fraction
                      k/(k + 2m/Δt²): with the event's small Δt, settling a 500 m block's elastic
                      and sliding modes takes tens of seconds; longer static steps settle it sooner
    trigger_joint     joint tag whose peak friction falls from t = ``trigger_start`` (None: no
                      trigger): φ_p(t) = max(φ_p − rate·(t − start), φ_r), held from the first
                      accepted step at which a free block moves faster than
                      ``trigger_hold_velocity`` (the onset): a strength-reduction trigger
                      (progressive loss of the clay's peak strength), whose onset friction is
                      an outcome of the model (recorded in stats: trigger_phi_deg, trigger_held_time)
    trigger_rate      [deg/s] rate of the peak-friction reduction
    trigger_start     [s] start of the reduction (None: settle_time)
    trigger_hold_velocity  [m/s] onset speed that stops the reduction
    output_dir        folder for VTU/PVD, history.h5 and PNGs (None: nothing written)
    output_interval   time between VTU frames [s] (None: 50 frames over the run)
    monitor_blocks    blocks whose mean velocity is plotted (None: all free blocks)
    history_every     record the history every n accepted steps
    """

    duration: float = 1.0
    dt: float = 1e-3
    dt_min: float = 1e-9
    gravity: Sequence[float] = (0.0, -9.81)
    dynamic: float = 1.0
    max_displacement_ratio: float = 0.01
    length_scale: float | None = None
    penalty: float | None = None
    penalty_factor: float = 50.0
    shear_ratio: float = 2.5
    contact_damping_ratio: float = 0.0
    contact_damping_time: float = 0.0
    contact_restitution: float | None = None
    block_damping_time: float = 0.0
    fixed_point_factor: float = 10.0
    max_penetration_ratio: float = 0.4
    oc_max_iterations: int = 7
    oc_max_retries: int = 2
    oc_freeze_after: int = 3
    oc_tolerance_ratio: float = 1e-9
    oc_close_tolerance_ratio: float = 2e-7
    oc_shear_tolerance_ratio: float = 1e-7
    oc_force_tolerance: float = 1e-2
    oc_friction_tolerance: float = 0.0
    oc_extra_iterations: int = 5
    max_retries: int = 6
    dt_cut: float = 0.5
    dt_grow: float = 1.2
    linear_solver: str = "auto"
    schur_parts: int = 2
    distribute_min_free_blocks: int = DISTRIBUTE_MIN_FREE_BLOCKS
    settle_time: float = 0.0
    settle_dt: float | None = None
    initial_dt: float | None = None
    impact_steps: int = 0
    trigger_joint: int | None = None
    trigger_rate: float = 0.0
    trigger_start: float | None = None
    trigger_hold_velocity: float = 0.1
    exact_rotation: bool = True
    output_dir: str | Path | None = None
    output_interval: float | None = None
    monitor_blocks: Sequence[int] | None = None
    history_every: int = 1
    angle_tolerance_deg: float = 15.0

    def validate(self, key: str = "settings") -> None:
        """Raise :class:`dda.InputError` (key path ``key.name``) for any value out of range."""
        def pos(name: str, allowed: str = "a finite value > 0") -> None:
            v = getattr(self, name)
            if v is None or not np.isfinite(v) or v <= 0:
                raise InputError(f"{key}.{name}", v, allowed)

        def nonneg(name: str, allowed: str) -> None:
            v = getattr(self, name)
            if v is None or not (np.isfinite(v) and v >= 0):
                raise InputError(f"{key}.{name}", v, allowed)

        pos("duration", "a run duration > 0 s")
        pos("dt", "a time step > 0 s")
        pos("dt_min", "a minimum time step > 0 s")
        if self.dt > self.duration:
            raise InputError(f"{key}.dt", f"{self.dt} s (> duration {self.duration} s)", f"a time step <= the run duration ({self.duration} s)")
        if self.dt_min > self.dt:
            raise InputError(f"{key}.dt_min", self.dt_min, f"a value <= dt ({self.dt} s)")
        if not 0.0 <= self.dynamic <= 1.0:
            raise InputError(f"{key}.dynamic", self.dynamic, "a value in [0, 1] (1 dynamic, 0 static)")
        pos("max_displacement_ratio", "a ratio in (0, 0.1]")
        if self.max_displacement_ratio > 0.1:
            raise InputError(f"{key}.max_displacement_ratio", self.max_displacement_ratio, "a ratio in (0, 0.1]")
        if self.length_scale is not None:
            pos("length_scale", "a length > 0 m or None")
        if self.penalty is not None:
            pos("penalty", "a contact stiffness > 0 N/m or None")
        pos("penalty_factor")
        pos("shear_ratio")
        nonneg("contact_damping_ratio", "a damping ratio >= 0 (0: elastic contact)")
        nonneg("contact_damping_time", "a time >= 0 s (0: off)")
        e = self.contact_restitution
        if e is not None:
            if not (np.isfinite(e) and 0.0 < e < 1.0):
                raise InputError(f"{key}.contact_restitution", e, "a coefficient of restitution in (0, 1), or None (off)")
            if self.contact_damping_ratio > 0 or self.contact_damping_time > 0:
                raise InputError(f"{key}.contact_restitution", e, "contact_restitution alone: contact_damping_ratio "
                                 "and contact_damping_time must be 0 with it (one normal contact damping)")
        nonneg("block_damping_time", "a time >= 0 s (0: off)")
        pos("fixed_point_factor")
        pos("max_penetration_ratio")
        if int(self.oc_max_iterations) < 1:
            raise InputError(f"{key}.oc_max_iterations", self.oc_max_iterations, "an integer >= 1 (Shi: 6-8)")
        if int(self.oc_max_retries) < 0 or int(self.oc_freeze_after) < 2:
            raise InputError(f"{key}.oc_max_retries", (self.oc_max_retries, self.oc_freeze_after), "oc_max_retries >= 0 and oc_freeze_after >= 2")
        for name in ("oc_tolerance_ratio", "oc_close_tolerance_ratio", "oc_shear_tolerance_ratio"):
            v = getattr(self, name)
            if v is None or not 0 <= v < 1e-3:
                raise InputError(f"{key}.{name}", v, "a ratio in [0, 1e-3)")
        if self.oc_force_tolerance is None or not 0 <= self.oc_force_tolerance < 1:
            raise InputError(f"{key}.oc_force_tolerance", self.oc_force_tolerance, "a fraction in [0, 1)")
        if self.oc_friction_tolerance is None or not 0 <= self.oc_friction_tolerance < 1:
            raise InputError(f"{key}.oc_friction_tolerance", self.oc_friction_tolerance, "a fraction in [0, 1)")
        if int(self.oc_extra_iterations) < 0:
            raise InputError(f"{key}.oc_extra_iterations", self.oc_extra_iterations, "an integer >= 0")
        if int(self.max_retries) < 0:
            raise InputError(f"{key}.max_retries", self.max_retries, "an integer >= 0")
        if not 0.0 < self.dt_cut < 1.0:
            raise InputError(f"{key}.dt_cut", self.dt_cut, "a factor in (0, 1)")
        if self.dt_grow < 1.0:
            raise InputError(f"{key}.dt_grow", self.dt_grow, "a factor >= 1")
        if self.settle_time is None or not (np.isfinite(self.settle_time) and self.settle_time >= 0):
            raise InputError(f"{key}.settle_time", self.settle_time, "a time >= 0 s (a run shorter than it only settles)")
        if self.settle_dt is not None:
            pos("settle_dt", "a settling time step > 0 s or None")
            if self.settle_dt < self.dt_min:  # steps below dt_min never end the settling (dt_min is the floor of a cut)
                raise InputError(f"{key}.settle_dt", self.settle_dt, f"a settling time step >= dt_min ({self.dt_min} s)")
        if int(self.impact_steps) != self.impact_steps or self.impact_steps < 0:
            raise InputError(f"{key}.impact_steps", self.impact_steps, "an integer >= 0 (0: off)")
        if self.initial_dt is not None:
            pos("initial_dt", "a first time step > 0 s or None")
            if self.initial_dt < self.dt_min:  # a first step below dt_min is a divergence at once
                raise InputError(f"{key}.initial_dt", self.initial_dt, f"a first time step >= dt_min ({self.dt_min} s)")
        if self.trigger_joint is not None:
            pos("trigger_rate", "a peak-friction reduction rate > 0 deg/s")
            pos("trigger_hold_velocity", "an onset speed > 0 m/s")
            if self.trigger_start is not None and not (np.isfinite(self.trigger_start) and 0 <= self.trigger_start < self.duration):
                raise InputError(f"{key}.trigger_start", self.trigger_start, f"a time in [0, duration = {self.duration}) s")
        if self.linear_solver not in SOLVERS:
            raise InputError(f"{key}.linear_solver", repr(self.linear_solver), " | ".join(SOLVERS))
        if isinstance(self.schur_parts, bool) or not isinstance(self.schur_parts, (int, np.integer)) or self.schur_parts < 1:
            raise InputError(f"{key}.schur_parts", self.schur_parts, "an integer >= 1 (>= the number of MPI ranks)")
        if (isinstance(self.distribute_min_free_blocks, bool) or not isinstance(self.distribute_min_free_blocks, (int, np.integer))
                or self.distribute_min_free_blocks < 0):
            raise InputError(f"{key}.distribute_min_free_blocks", self.distribute_min_free_blocks,
                             "an integer >= 0 (free blocks from which the blocks are distributed over the MPI ranks)")
        g = np.asarray(self.gravity, dtype=float)
        if g.shape != (2,) or not np.all(np.isfinite(g)):
            raise InputError(f"{key}.gravity", self.gravity, "(gx, gy) in m/s²")
        if self.output_interval is not None:
            pos("output_interval", "a time > 0 s or None")
        if int(self.history_every) < 1:
            raise InputError(f"{key}.history_every", self.history_every, "an integer >= 1")
