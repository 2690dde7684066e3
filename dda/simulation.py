"""The DDA time loop: one implicit step = assemble, open–close iteration, checks, update.

Per step (Shi 1988): detect contacts at the start-of-step geometry; assemble the block
submatrices (elastic from the law's tangent, initial stress, inertia, body force, loads,
fixed points, water); iterate solve → contact states (open / sliding / locked) until the
state changes left are insignificant (see dda.openclose; at most ``oc_max_iterations``, plus
``oc_extra_iterations`` while the changes still fall); check the displacement ratio (max vertex
displacement ≤ g2·w0) and the penetration (≤ limit); on failure cut Δt and retry. Accepted
steps move the vertices with the exact rotation, set v = 2D/Δt − v₀ and update the block
stresses through the law.
"""

from __future__ import annotations

import enum
import time as _time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from dda import submatrices as sm
from dda.assembly import GlobalSystem
from dda.contact_detect import Contacts, broad_phase_grid, detect
from dda.contact_law import LOCKED, OPEN, SLIDING, advance_joint_state, contact_system, contact_vectors, joint_strength
from dda.errors import InputError, SolverDivergence
from dda.geometry import Polygons
from dda.kinematics import mass_matrix, move_points, move_points_first_order, point_displacement
from dda.openclose import ContactState, block_force_scale, closing_stiffness, freeze_oscillating, significant_changes, transfer, update_states
from dda.result import Result, StepInfo
from dda.settings import Settings
from dda.state import State
from dda.system import BlockSystem
from dda.water import water_loads


class StepFailure(enum.Enum):
    """Why a trial step was rejected (Δt is cut and the step retried, or the run diverges).

    DISPLACEMENT : the largest vertex displacement exceeds g2·w0 (Shi's displacement ratio)
    PENETRATION  : a closed contact penetrates more than the penetration limit [m]
    OPEN_CLOSE   : the open–close iteration did not settle within its iteration cap
    NOT_FINITE   : the linear solve gave a non-finite displacement increment
    """

    DISPLACEMENT = "displacement ratio"
    PENETRATION = "penetration"
    OPEN_CLOSE = "open-close iteration"
    NOT_FINITE = "non-finite solution"


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
        self.solver = GlobalSystem(self.nb, sy.fixed, self.comm, s.linear_solver)
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
                                 "a joint tag whose law has a peak and a residual friction (velocity_weakening, thermal_pressurisation)")
        polys0 = sy.polys
        props = polys0.props()
        strain = np.zeros((self.nb, 3))
        law_state = {int(m): sy.materials[int(m)].law.initial_state(int(np.sum(sy.material_id == m))) for m in np.unique(sy.material_id)}
        stress, tangent, law_state = self._laws(strain, law_state)
        self.state = State(
            xy=polys0.xy.copy(), velocity=np.where(self.free[:, None], sy.velocity, 0.0), strain=strain,
            stress=stress, tangent=tangent, rotation=np.zeros(self.nb), centroid0=props.centroid.copy(),
            contacts=ContactState.empty(self.n_joint_state), points=points, time=0.0, step=0, dt=s.dt, penalty=pn, law_state=law_state,
        )
        self.stats: dict[str, Any] = {
            "steps": 0, "n_dt_cuts": 0, "n_retries": 0, "n_oc_retries": 0, "n_penetration_retries": 0,
            "n_nan_retries": 0, "n_nonconverged_steps": 0, "oc_iterations_total": 0, "oc_iterations_max": 0,
            "penalty_increases": 0, "solves": 0, "max_penetration": 0.0, "n_contacts_max": 0,
            "dt_min_used": np.inf, "dt_max_used": 0.0, "wall_time_s": 0.0, "mpi_ranks": self.comm.size,
            "penalty_initial": pn, "w0": self.w0, "d0": self.d0,
        }
        if s.trigger_joint is not None:  # the trigger's state (checkpointed with the stats)
            law = sy.joint_laws[int(s.trigger_joint)]
            self.stats.update({"trigger_phi_deg": float(np.degrees(np.arctan(law.mu_p))), "trigger_held_time": None})
        self._laws_cache: tuple[float, dict] | None = None
        #: wall time [s] per phase, summed over the run: contact detection, block assembly
        #: (submatrices), contact assembly (springs and friction), open–close bookkeeping
        #: (strength, state changes, checks), update (accepted step); the linear algebra is in
        #: ``self.solver.timings`` (assemble, factorise, solve, gather)
        self.phase_times = {"detect": 0.0, "block_assembly": 0.0, "contact_assembly": 0.0, "open_close": 0.0, "update": 0.0}
        self.result = Result.start(self)
        self.writer = None
        if s.output_dir is not None:
            from dda.output import Writer

            self.writer = Writer(s.output_dir, self, comm=self.comm)

    # ------------------------------------------------------------------ laws
    def _laws(self, strain: np.ndarray, law_state: dict) -> tuple[np.ndarray, np.ndarray, dict]:
        """Block stress σ0 + σ(ε), tangent C(ε) and law state, batched per material."""
        stress, tangent, new_state = np.zeros((self.nb, 3)), np.zeros((self.nb, 3, 3)), {}
        for m, mat in self.system.materials.items():
            sel = self.system.material_id == m
            if not np.any(sel):
                continue
            r = mat.law.evaluate(strain[sel], law_state.get(m))
            stress[sel] = self.sigma0[sel] + np.asarray(r.stress)
            tangent[sel] = np.asarray(r.tangent)
            new_state[m] = np.asarray(r.state)
        return stress, tangent, new_state

    def _weight(self, props) -> np.ndarray:
        """Weight of each block [N]: m_b |g| (per unit thickness)."""
        return props.area * self.density * float(np.linalg.norm(self.gravity))

    def polygons(self, state: State | None = None) -> Polygons:
        st = state or self.state
        return Polygons(st.xy, self.voff)

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
        is faster with longer steps), else ``dt``."""
        s = self.settings
        return (s.settle_dt or s.dt) if self.settling() else s.dt

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
        if not self.settling() and np.any(np.linalg.norm(st.velocity[self.free, :2], axis=1) > s.trigger_hold_velocity):
            self.stats["trigger_held_time"] = st.time

    # ------------------------------------------------------------------ contacts
    def detect_contacts(self, polys: Polygons) -> Contacts:
        bb = polys.bbox()
        pairs = broad_phase_grid(bb, self.d0)
        pairs = pairs[~(self.system.fixed[pairs[:, 0]] & self.system.fixed[pairs[:, 1]])]
        g = float(np.linalg.norm(self.gravity))
        return detect(
            polys, pairs, self.d0, self.d_pen, self.system.edge_tag, self.settings.angle_tolerance_deg,
            prev_keys=self.state.contacts.key, up=-self.gravity / g if g > 0 else None,
        )

    def _bond_new(self, c: Contacts) -> np.ndarray:
        if self.state.step > 0 or c.size == 0:
            return np.zeros(c.size, dtype=bool)
        has = np.full(c.size, self._default_strength, dtype=bool)
        for t, v in self._has_strength.items():  # a loop over the joint laws, not the contacts
            has[c.tag == t] = v
        return has & (c.gap <= 1e-3 * self.d0)

    # ------------------------------------------------------------------ one trial step
    def _try(self, dt: float, polys: Polygons, props, con: Contacts, cs0: ContactState, pn: float) -> _Trial:
        s, sy, st = self.settings, self.system, self.state
        ph, clock = self.phase_times, _time.perf_counter
        t_phase = clock()
        ps = pn / s.shear_ratio
        c = props.centroid
        t1 = st.time + dt
        Kb = np.zeros((self.nb, 6, 6))
        Fb = np.zeros((self.nb, 6))
        sm.elastic(props.area, st.tangent, Kb)
        sm.initial_stress(props.area, st.stress, Fb)
        settling = self.settling()
        sm.inertia(mass_matrix(props, self.density), (0.0 if settling else s.dynamic) * st.velocity, dt, Kb, Fb)
        sm.body_force(props.area, self.density, self.gravity, Fb)
        if self.n_pl:
            f = np.array([np.asarray(fl(t1) if callable(fl) else fl, dtype=float) for _, _, fl in sy.point_loads])
            sm.point_loads(self.point_block[: self.n_pl], st.points[: self.n_pl], f, c, Fb)
        if self.n_fp:
            k = slice(self.n_pl, self.n_pl + self.n_fp)
            sm.fixed_points(self.point_block[k], st.points[k], st.points[k] - self.fixed_anchor, s.fixed_point_factor * pn, c, Kb, Fb)
        if sy.line_loads:
            e = st.points[self.n_pl + self.n_fp :].reshape(-1, 2, 2)
            q = np.array([ll[3] for ll in sy.line_loads])
            sm.line_loads(self.point_block[self.n_pl + self.n_fp :: 2], e[:, 0], e[:, 1], q, q, c, Fb)
        if sy.water is not None:
            water_loads(polys, self.free, sy.water(t1), sy.water.density, float(np.linalg.norm(self.gravity)), c, Fb)
        t = clock()
        ph["block_assembly"] += t - t_phase
        t_phase = t
        wn, ws = contact_vectors(con, c)
        cs = cs0.copy()
        laws, dflt = self.joint_laws(t1), sy.default_joint_law
        converged, it = con.size == 0, 0
        weight = self._weight(props)
        flips = np.zeros(con.size, dtype=np.int64)
        hist = []
        while True:
            it += 1
            rate = np.zeros_like(cs.slip_rate) if settling else cs.slip_rate  # settling: static strength
            fmax, _, mu = joint_strength(con.tag, cs.normal_force, cs.slip, rate, con.lc, cs.bonded, laws, dflt, self.l_ref,
                                         cs.law_state)
            # friction of sliding contacts linear in the solved normal force (implicit: F_f = F_max(N₀) + μ (N − N₀))
            t = clock()
            ph["open_close"] += t - t_phase
            Kc, Fc = contact_system(wn, ws, cs.state, con.gap, cs.stretch, cs.sign, fmax, pn, ps, mu, cs.normal_force)
            symmetric = not np.any((cs.state == SLIDING) & (mu != 0))
            t_phase = clock()
            ph["contact_assembly"] += t_phase - t
            D = self.solver.solve(Kb, Fb, Kc, Fc, con.i, con.j, pattern_key=self._token, symmetric=symmetric)
            t_phase = clock()
            if not np.all(np.isfinite(D)):
                bad = int(np.argmax(~np.all(np.isfinite(D), axis=1)))
                return _Trial(StepFailure.NOT_FINITE, block=bad, detail="non-finite solution", iterations=it)
            Dij = np.hstack([D[con.i], D[con.j]])
            dn = con.gap + np.sum(wn * Dij, axis=1)
            ds = np.sum(ws * Dij, axis=1)
            N = np.where(cs.state != OPEN, pn * np.maximum(-dn, 0.0), 0.0)
            fmax_new, tmax_new, _ = joint_strength(con.tag, N, cs.slip, rate, con.lc, cs.bonded, laws, dflt, self.l_ref, cs.law_state)
            new, sign, bonded, stretch, jump = update_states(
                cs, dn, ds, pn, ps, fmax_new, tmax_new, self.tol_open, self.tol_close, self.tol_shear, friction_prev=fmax
            )
            closing = (cs.state == OPEN) & (new != OPEN)
            if np.any(closing):  # the force a closing contact adds: |d_n| × its closed stiffness
                jump[closing] = np.abs(dn[closing]) * closing_stiffness(closing, con.i, con.j, wn, Kc, Kb, sy.fixed, pn)
            locking = (cs.state == SLIDING) & (new == LOCKED)
            if np.any(locking):  # the force that stops the reversed slip: |d_s| × the shear stiffness in series
                k_s = closing_stiffness(locking, con.i, con.j, ws, Kc, Kb, sy.fixed, ps)
                jump[locking] = np.minimum(jump[locking], np.abs(ds[locking]) * k_s)
            if np.any(new != cs.state):
                new, flips, _ = freeze_oscillating(cs.state, new, flips, s.oc_freeze_after)
            # each change against the force scale of its own blocks (weight + contact forces)
            scale = block_force_scale(con.i, con.j, N, weight, sy.fixed)
            sig = significant_changes(cs.state, new, jump, scale, s.oc_force_tolerance)
            changed = int(np.count_nonzero(sig))
            # the friction the solve applied to sliding contacts: F_f(N₀) + μ (N(D) − N₀),
            # N(D) = −p_n d_n (= μN for Coulomb: on the cone at the solved normal force)
            friction = np.maximum(fmax + mu * (-pn * dn - cs.normal_force), 0.0)
            cs.normal_force = N
            cs.slip_rate = ds / dt
            if changed == 0 and s.oc_friction_tolerance > 0 and it < s.oc_max_iterations:
                # the friction of sliding contacts was applied with the previous iterate's normal
                # force: an explicit coupling to the stiff normal contact mode that amplifies
                # round-off (issue 14); iterate until it agrees with this solve's N
                sl = (cs.state == SLIDING) & (new == SLIDING)
                if np.sum(np.abs(fmax_new[sl] - fmax[sl])) > s.oc_friction_tolerance * np.sum(np.abs(fmax[sl])):
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
        u = point_displacement(D[sy.polys.block], *(polys.xy - c[sy.polys.block]).T)
        umax = np.linalg.norm(u, axis=1)
        ratio = float(umax.max()) / (self.g2 * self.w0)
        pen = -dn  # every contact: an open one that penetrates counts too
        max_pen = max(float(pen.max()), 0.0) if pen.size else 0.0
        trial = _Trial(None, D, cs, ds, ratio, it, converged, max_pen=max_pen, fmax=friction)
        ph["open_close"] += clock() - t_phase
        if ratio > 1.0:
            trial.failure, trial.block = StepFailure.DISPLACEMENT, int(sy.polys.block[np.argmax(umax)])
        elif max_pen > self.pen_limit:
            trial.failure, trial.block = StepFailure.PENETRATION, int(con.i[np.argmax(pen)])
            trial.detail = f"penetration {max_pen:.3g} m > limit {self.pen_limit:.3g} m"
        elif not converged:
            trial.failure = StepFailure.OPEN_CLOSE
        return trial

    # ------------------------------------------------------------------ one accepted step
    def step(self) -> StepInfo:
        """Advance one accepted step (with Δt cuts and retries); returns its StepInfo."""
        s, st = self.settings, self.state
        polys, props = self.geometry()
        t0 = _time.perf_counter()
        con = self.detect_contacts(polys)
        self.phase_times["detect"] += _time.perf_counter() - t0
        self._token = getattr(self, "_token", 0) + 1  # one COO pattern per contact list
        cs0 = transfer(st.contacts, con, st.penalty, self._bond_new(con), touch_tol=1e-6 * self.d0, n_state=self.n_joint_state)
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
            if fail is StepFailure.OPEN_CLOSE and (oc_fails >= s.oc_max_retries or dt * s.dt_cut < s.dt_min):
                self.stats["n_nonconverged_steps"] += 1  # accept: Shi's iteration cap
                break
            if ((fail in (StepFailure.PENETRATION, StepFailure.NOT_FINITE) and retries >= s.max_retries)
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
            else:
                self.stats["n_nan_retries"] += 1
        t0 = _time.perf_counter()
        self._accept(trial, dt, polys, props, con, pn)
        self.phase_times["update"] += _time.perf_counter() - t0
        planned = min(st.dt, remaining)
        if dt_keep < planned * (1 - 1e-12):  # cut for displacement/penetration: continue from there
            self.state.dt = dt_keep
        elif trial.ratio < 0.5 and dt >= planned * (1 - 1e-12):  # quiet step: grow towards settings.dt
            self.state.dt = min(st.dt * s.dt_grow, self.dt_cap())
        else:
            self.state.dt = st.dt
        self.stats["oc_iterations_max"] = max(self.stats["oc_iterations_max"], trial.iterations)
        self.stats["max_penetration"] = max(self.stats["max_penetration"], trial.max_pen)
        self.stats["n_contacts_max"] = max(self.stats["n_contacts_max"], con.size)
        self.stats["dt_min_used"] = min(self.stats["dt_min_used"], dt)
        self.stats["dt_max_used"] = max(self.stats["dt_max_used"], dt)
        self.stats["steps"] = self.state.step
        return self.result.record(self, dt, trial.iterations, retries + oc_fails)

    def _accept(self, trial: _Trial, dt: float, polys: Polygons, props, con: Contacts, pn: float) -> None:
        s, sy, st = self.settings, self.system, self.state
        D = trial.D
        D[sy.fixed] = 0.0
        c = props.centroid
        blk = sy.polys.block
        move = move_points if s.exact_rotation else move_points_first_order
        xy = move(polys.xy, c[blk], D[blk])
        points = move(st.points, c[self.point_block], D[self.point_block]) if st.points.size else st.points
        settling = self.settling()
        v0 = s.dynamic * st.velocity
        velocity = np.where(self.free[:, None], 2.0 * D / dt - v0, 0.0)
        if settling:  # static: no velocity is carried to the next step
            velocity = np.zeros_like(velocity)
        strain = st.strain + D[:, 3:6]
        stress, tangent, law_state = self._laws(strain, st.law_state)
        cs, ds = trial.cs, trial.ds
        lock, slide = cs.state == LOCKED, cs.state == SLIDING
        cs.stretch = np.where(lock, cs.stretch + ds, 0.0)
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
            penalty=pn, law_state=law_state,
        )
        self.last_contacts = con
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
        self.result.finalize(self, status)
        return self.result

    @property
    def last_good_state(self) -> State:
        """A copy of the last accepted state."""
        return self.state.copy()
