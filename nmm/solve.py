"""Static (Newton) and dynamic (DDA implicit scheme) solves of an NMM model.

Static: find u with R(u) = F_ext − f_int(u) − K_lin u = 0, f_int = ∫ Bᵀ σ(ε(u)) dΩ, by
Newton's method with the law's consistent tangent (one batched ``law.evaluate`` over all
integration points per iteration; a linear law converges in one step). K_lin holds the
penalty springs, the order-1 stabilisation and the contact springs.

Dynamic (Shi's DDA scheme, constant-average acceleration with v_new = 2d/Δt − v):
per step solve for the increment d

    (K_t + K_lin + 2M/Δt²) Δd = F_ext − f_int(u + d) − K_lin(u + d) − M(2d/Δt² − 2v/Δt)

then v ← 2d/Δt − v, u ← u + d. M = ∫ ρ NᵀN dΩ [kg].
"""

from __future__ import annotations

import time
import numpy as np

from learned.contract import StepRecord, converged
from learned.law import LawResponse
from nmm.errors import SolverDivergence
from nmm.model import ManifoldModel, blocks_to_coo
from nmm.result import NMMDynamicStats, NMMResult, NMMStats


class _System:
    """Fixed matrix pattern and the linear terms of a model."""

    def __init__(self, model: ManifoldModel) -> None:
        self.model = model
        asm = model.asm
        self.pen_blocks, F_lin = model.linear_terms()
        self.F_ext = F_lin + model.body_load()
        self.state = model.law.initial_state(len(asm.quad.w))
        resp = model.law.evaluate(asm.strain(np.zeros(model.ndof)), self.state)
        Ke = asm.element_matrices(np.asarray(resp.tangent))
        stab = model.stabilisation_block(Ke)
        self.contact = getattr(model, "contact", None)
        blocks = list(self.pen_blocks) + ([stab] if stab is not None else [])
        self.rows, self.cols, self.vals, self.K_fixed = blocks_to_coo(blocks, model.ndof)
        crow, ccol = (self.contact.pattern() if self.contact is not None else (np.zeros(0, np.int64),) * 2)
        # Nitsche consistency points (replicated): dofs, S·N, B, P_n, w
        nit = model.nitsche
        nd = asm.dofs.shape[1]
        if nit:
            self.nb_dofs, self.nb_SN, self.nb_B, self.nb_P, self.nb_w, nb_x = (np.concatenate([b[i] for b in nit]) for i in range(6))
        else:
            self.nb_dofs, self.nb_SN = np.zeros((0, nd), np.int64), np.zeros((0, 2, nd))
            self.nb_B, self.nb_P, self.nb_w, nb_x = np.zeros((0, 3, nd)), np.zeros((0, 2, 3)), np.zeros(0), np.zeros((0, 2))
        # initial stress σ₀ at the volume and Nitsche points (total stress = σ₀ + law)
        self.sigma0 = model.initial_stress_at(np.r_[asm.quad.x, nb_x]) if model.initial_stress is not None else None
        self.nb_state = model.law.initial_state(len(self.nb_w))
        brow = np.repeat(self.nb_dofs, nd, axis=1).ravel()
        bcol = np.tile(self.nb_dofs, (1, nd)).ravel()
        crow, ccol = np.r_[brow, crow], np.r_[bcol, ccol]
        self.n_fixed = len(self.rows)
        if model.comm.rank == 0:
            asm.set_extra_pattern(np.r_[self.rows, crow], np.r_[self.cols, ccol])
        else:
            asm.set_extra_pattern(np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.iterations = 0
        self.solves = 0
        self.load_factor = 1.0  # scales σ₀ together with the loads (static load steps)
        #: friction is lagged (fixed point on σ_n), so contact problems converge linearly
        self.contact_rtol = 1e-7

    def extra_values(self, contact_vals: np.ndarray | None) -> np.ndarray:
        if self.model.comm.rank != 0:
            return np.zeros(0)
        return np.r_[self.vals, contact_vals] if contact_vals is not None else self.vals

    def residual_vector(self, u: np.ndarray, F: np.ndarray, mass: tuple | None = None):
        """R(u) = F − f_int(u) − K_fixed u (+ Nitsche consistency, contact, inertia) [N], (n_dofs,);
        also the law's response at the volume points and the Nitsche/contact matrix values."""
        model, asm, law = self.model, self.model.asm, self.model.law
        nq = len(asm.quad.w)
        eps_b = np.einsum("nij,nj->ni", self.nb_B, u[self.nb_dofs])
        full = law.evaluate(np.r_[asm.strain(u), eps_b], np.r_[self.state, self.nb_state])
        fs, ft = np.asarray(full.stress), np.asarray(full.tangent)
        if self.sigma0 is not None:
            fs = fs + self.load_factor * self.sigma0
        resp = LawResponse(fs[:nq], ft[:nq], np.asarray(full.state)[:nq])
        fint = asm.internal_force(resp.stress)
        R = F - fint - self.K_fixed @ u
        # Nitsche consistency: +∫ v·S σ(u) n dΓ, tangent −∫ SNᵀ P_n C_t B
        tb = np.einsum("nij,nj->ni", self.nb_P, fs[nq:]) * self.nb_w[:, None]
        R += np.bincount(self.nb_dofs.ravel(), np.einsum("nid,ni->nd", self.nb_SN, tb).ravel(), minlength=model.ndof)
        PCB = np.einsum("nij,njk,nkd->nid", self.nb_P, ft[nq:], self.nb_B)
        cvals = -np.einsum("nid,nie->nde", self.nb_SN * self.nb_w[:, None, None], PCB).ravel()
        if self.contact is not None:
            Kc, fc, cv = self.contact.linearise(u)
            R += fc - Kc @ u
            cvals = np.r_[cvals, cv]
        if mass is not None:
            c, u0, vterm = mass
            R -= asm.mass_times(c * (u - u0) - vterm, model.density)
        return R, resp, cvals

    def newton(self, u: np.ndarray, F: np.ndarray, rtol: float, max_iter: int, mass: tuple | None = None, progress=None,
               atol: float = 0.0, reference: float | None = None):
        """Newton iterations from u; mass = (c, v_term, d0_u) adds c·M(u − u0) − M v_term.

        Converged when ‖R_k‖ ≤ max(atol, rtol·‖R₀‖, ROUNDOFF·‖F‖) (:func:`learned.contract.converged`;
        R₀ the residual at the first iteration, F the step's load vector, ‖·‖ the Euclidean
        norm [N]), after at least one
        solve and with the contact states settled. ``reference`` (optional) replaces ‖R₀‖, e.g.
        the cold start's when u is an initial guess (see :func:`solve_static`).
        ``progress(it, ‖R‖/‖R₀‖, converged)`` is called after every residual evaluation."""
        model, asm = self.model, self.model.asm
        u = u.copy()
        ok_states = True
        cached = None
        for it in range(max_iter + 1):
            R, resp, cvals = cached if cached is not None else self.residual_vector(u, F, mass)
            cached = None
            tangent = resp.tangent
            norm = float(np.linalg.norm(R))
            if it == 0:
                norm0 = norm if reference is None else reference
            tol = rtol if self.contact is None else max(rtol, self.contact_rtol)
            self.residual = norm / norm0 if norm0 > 0 else 0.0
            if it == 0:
                force_norm = float(np.linalg.norm(F))
            done = it > 0 and ok_states and converged(norm, norm0, tol, atol, force_norm)
            if progress is not None:
                progress(it, self.residual, done)
            if done:
                return u, resp, it
            if it == max_iter:
                break
            mc = mass[0] * model.density if mass is not None else 0.0
            A = asm.matrix(asm.element_matrices(tangent, mc), self.extra_values(cvals))
            du = asm.solve(A, R)
            self.solves += 1
            self.iterations += 1
            if self.contact is None:
                u += du
            else:
                u, ok_states, cached = self._contact_line_search(u, du, norm, F, mass)
        raise SolverDivergence(f"NMM Newton/open-close iteration did not converge in {max_iter} iterations "
                               f"(|R|/|R0| = {self.residual:.3g}, |R0| = {norm0:.3g} N)")


    #: halvings of the Newton step tried by :meth:`_contact_line_search` (α = 1, 1/2, ..., 1/2⁵)
    max_backtracks = 5

    def _contact_line_search(self, u: np.ndarray, du: np.ndarray, norm: float, F: np.ndarray, mass):
        """Backtracking line search on the Newton step du with joint contact (globalised
        semi-smooth Newton): the step u + α du, α = 1, 1/2, ..., 2^-max_backtracks, whose
        residual ‖R(u + α du)‖ (with the contact states updated at u + α du) is first below
        ‖R(u)‖ = ``norm``; the smallest residual tried if none is. Returns (u_new, states
        unchanged, the residual at u_new as :meth:`residual_vector` returns it).

        Without it the open–close iteration on fine covers of cases/nmm_jointed_tunnel.toml
        (every cover size / 3) chattered between stick and slide at the slip fronts until a
        full step opened whole joints and the roof block became a mechanism
        (|R|/|R0| ~ 1e43 after 60 iterations, session 14). A step that lowers the
        residual (every step of a converging run without chatter) is taken whole."""
        contact = self.contact
        saved, before = contact.snapshot(), contact.state.copy()
        alpha, best = 1.0, None
        for k in range(self.max_backtracks + 1):
            if k:
                contact.restore(saved)
            ut = u + alpha * du
            contact.update_states(ut)
            out = self.residual_vector(ut, F, mass)
            nt = float(np.linalg.norm(out[0]))
            if nt < norm:
                return ut, not np.any(contact.state != before), out
            if best is None or nt < best[0]:
                best = (nt, alpha)
            alpha *= 0.5
        if best[1] != alpha * 2:  # the smallest residual was not the last tried: back to it
            contact.restore(saved)
            ut = u + best[1] * du
            contact.update_states(ut)
            out = self.residual_vector(ut, F, mass)
        return ut, not np.any(contact.state != before), out


def solve_static(model: ManifoldModel, load_steps: int = 1, rtol: float = 1e-9, max_iterations: int = 30,
                 callback=None, on_step=None, atol: float = 1e-10, initial_guess: np.ndarray | None = None) -> NMMResult:
    """Static equilibrium in ``load_steps`` proportional load steps; returns an :class:`NMMResult`.

    Each step's Newton / open–close iteration stops when ‖R_k‖ ≤ max(atol, rtol · ‖R₀‖,
    1e-13 ‖F_ext‖) (the last term a round-off floor), R₀
    the residual [N] at the first iteration of the load step — the meaning of rtol/atol in
    every solver (:func:`learned.contract.converged`); with joint contact rtol ≥ 1e-7 since
    friction is lagged. ``callback(record)`` gets a :class:`~learned.contract.StepRecord`
    after every residual evaluation, ``on_step(step,
    result)`` (collective) with the :class:`NMMResult` of every converged step. A step that does
    not converge raises :class:`SolverDivergence` whose ``result`` is the last converged
    state (``load_factor`` its load factor; ``result`` None before step 1). Loads, body force
    and initial stress are scaled together by the load factor k/load_steps.

    ``initial_guess`` (n_dofs,) [m] (one load step; e.g. a field surrogate's prediction): Newton
    starts from it instead of u = 0, and stops on the cold start's ‖R₀‖ = ‖R(u = 0)‖ (one law
    call and one residual assembly) instead of the residual of the guess, so warm and cold
    runs stop at the same absolute accuracy; ``stats.initial_guess`` then holds
    ``cold_initial_residual`` [N] and ``predicted_residual`` = ‖R(u_guess)‖ / ‖R₀,cold‖.
    """
    steps, max_iter, progress = load_steps, max_iterations, callback
    t0 = time.perf_counter()
    sysm = _System(model)
    t_setup = time.perf_counter() - t0
    u = np.zeros(model.ndof)
    resp = None
    sysm.residual = 0.0
    residuals = []
    reference, warm = None, None
    if initial_guess is not None:
        if steps != 1 or np.shape(initial_guess) != (model.ndof,):
            raise ValueError(f"initial_guess needs one load step and shape ({model.ndof},); "
                             f"found {steps} step(s), shape {np.shape(initial_guess)}")
        if sysm.contact is not None:
            sysm.contact.begin_step(u)
        reference = float(np.linalg.norm(sysm.residual_vector(u, sysm.F_ext)[0]))
        u = np.asarray(initial_guess, dtype=float).copy()
        warm = {"cold_initial_residual": reference}

    def stats_now(load_factor):
        return NMMStats(
            dofs=model.ndof,
            covers=model.man.n_covers,
            elements=model.man.n_elements,
            integration_points=int(model.comm.allreduce(len(model.asm.quad.w))),
            newton_iterations=sysm.iterations,
            solves=sysm.solves,
            load_steps=steps,
            load_factor=load_factor,
            residuals=list(residuals),
            mpi_ranks=model.comm.size,
            contact=model.contact.summary() if model.contact is not None else None,
            timings={**model.timings, "setup": t_setup, "solve": time.perf_counter() - t0 - t_setup},
            initial_guess=dict(warm) if warm is not None else None,
        )

    try:
        for k in range(1, steps + 1):
            cb = ((lambda it, r, done, k=k: progress(StepRecord(step=k, iterations=it, residual=r, converged=done,
                                                                load_factor=k / steps)))
                  if progress is not None else None)
            try:
                sysm.load_factor = k / steps
                if sysm.contact is not None:
                    sysm.contact.begin_step(u)
                first: list[float] = []
                cb_warm = cb
                if warm is not None:
                    def cb_warm(it, r, done, cb=cb):
                        if it == 0:
                            first.append(r)
                        if cb is not None:
                            cb(it, r, done)
                u_new, resp_new, _ = sysm.newton(u, sysm.F_ext * (k / steps), rtol, max_iter, progress=cb_warm,
                                                 atol=atol, reference=reference)
                if warm is not None:
                    warm["predicted_residual"] = first[0]
            except SolverDivergence as exc:
                last = None
                if resp is not None:
                    last = NMMResult(model, u, np.asarray(resp.stress), np.asarray(resp.state), stats_now((k - 1) / steps))
                raise SolverDivergence(str(exc), result=last, load_factor=(k - 1) / steps) from None
            u, resp = u_new, resp_new
            if sysm.contact is not None:
                sysm.contact.commit(u)
            residuals.append(sysm.residual)
            sysm.state = np.asarray(resp.state)
            if on_step is not None:
                on_step(k, NMMResult(model, u, np.asarray(resp.stress), np.asarray(resp.state), stats_now(k / steps)))
    finally:
        model.asm.release()
    stats = stats_now(1.0)
    return NMMResult(model, u, np.asarray(resp.stress), np.asarray(resp.state), stats)


def solve_dynamic(
    model: ManifoldModel,
    dt: float,
    n_steps: int,
    probes: np.ndarray | None = None,
    rtol: float = 1e-9,
    max_iter: int = 30,
    u0: np.ndarray | None = None,
    v0: np.ndarray | None = None,
    max_cuts: int = 4,
    atol: float = 1e-10,
    on_step=None,
    resume: dict | None = None,
) -> NMMResult:
    """Implicit dynamics (DDA scheme) for ``n_steps`` of ``dt`` [s] from rest (or u0, v0).

    Each step's Newton iteration stops when ‖R_k‖ ≤ max(atol, rtol · ‖R₀‖, 1e-13 ‖F_ext‖) (R₀ [N] at the
    step's first iteration, as in every solver: :func:`learned.contract.converged`).

    ``probes`` (m,2): points whose displacement is recorded each step in result.history.
    A step whose Newton / open–close iteration does not settle is cut in halves (up to
    ``max_cuts`` levels, as DDA cuts Δt); the count is ``stats["step_cuts"]``.

    Restart: ``on_step(step, snapshot)`` is called (collectively) after every step; calling
    ``snapshot()`` returns this rank's step-loop state as ``{name: ndarray}`` — step, u and v
    (ndof,), the law state at this rank's integration points, the contact history (states,
    normal and shear stress, anchors, slip rates), iteration and solve counts, step cuts and
    the recorded histories — and returning True stops after this step
    (``snapshot.result()`` returns the step's :class:`NMMResult`: u, velocity, stress at the
    integration points; ``stats`` None). ``resume`` (such a
    snapshot, taken with the same model and ``dt`` on the same ranks) continues from its step:
    the steps that follow are those an uninterrupted run computes.
    """
    if not (dt > 0 and model.density > 0):
        from nmm.errors import InputError

        raise InputError("dynamics", f"dt={dt}, density={model.density}", "dt > 0 s and density > 0 kg/m^3")
    t0 = time.perf_counter()
    sysm = _System(model)
    u = np.zeros(model.ndof) if u0 is None else np.asarray(u0, float).copy()
    v = np.zeros(model.ndof) if v0 is None else np.asarray(v0, float).copy()
    c = 2.0 / dt**2
    hist = {"time": [0.0], "probes": []}
    if probes is not None:
        probes = np.atleast_2d(probes)
        pe, pN, pd = model.point_matrices(probes)
        hist["probes"].append(np.einsum("nij,nj->ni", pN, u[pd]))
    resp = None
    cuts = [0]
    first = 1
    if resume is not None:
        first = int(np.asarray(resume["step"]).item()) + 1
        if first > n_steps:
            from nmm.errors import InputError

            raise InputError("resume.step", f"step {first - 1} of {n_steps}", f"a step before {n_steps}")
        u, v = np.array(resume["u"], float), np.array(resume["v"], float)
        if u.shape != (model.ndof,) or v.shape != (model.ndof,):
            raise ValueError(f"resume: u has shape {u.shape}, this model {model.ndof} dofs")
        sysm.state = np.array(resume["state"])
        if sysm.contact is not None:
            sysm.contact.restore({k[8:]: np.asarray(a) for k, a in resume.items() if k.startswith("contact/")})
        sysm.iterations, sysm.solves = (int(np.asarray(resume[k]).item()) for k in ("iterations", "solves"))
        cuts[0] = int(np.asarray(resume["step_cuts"]).item())
        hist["time"] = np.asarray(resume["history/time"], float).tolist()
        if probes is not None:
            hist["probes"] = list(np.asarray(resume["history/probes"], float))

    def snapshot_at(step: int, resp):
        def snapshot() -> dict:
            out = {"step": np.asarray(step), "u": u.copy(), "v": v.copy(), "state": np.array(sysm.state),
                   "iterations": np.asarray(sysm.iterations), "solves": np.asarray(sysm.solves),
                   "step_cuts": np.asarray(cuts[0]), "history/time": np.asarray(hist["time"], float)}
            if probes is not None:
                out["history/probes"] = np.asarray(hist["probes"], float)
            if sysm.contact is not None:
                out.update({f"contact/{k}": a for k, a in sysm.contact.snapshot().items()})
            return out

        def result() -> NMMResult:
            r = NMMResult(model, u.copy(), np.asarray(resp.stress), np.asarray(resp.state), None)
            r.velocity = v.copy()
            return r

        snapshot.result = result
        return snapshot

    def advance(u, v, h, depth):
        """One step of h from (u, v); on a failed Newton/open–close iteration the step is
        retried as two steps of h/2 (Shi's time-step cut), at most ``max_cuts`` times deep."""
        saved = sysm.contact.snapshot() if sysm.contact is not None else None
        try:
            if sysm.contact is not None:
                sysm.contact.begin_step(u, h)
            un, resp, _ = sysm.newton(u, sysm.F_ext, rtol, max_iter, mass=(2.0 / h**2, u, 2.0 / h * v), atol=atol)
        except SolverDivergence:
            if depth >= max_cuts:
                raise
            if saved is not None:
                sysm.contact.restore(saved)
            cuts[0] += 1
            u1, v1, _ = advance(u, v, h / 2, depth + 1)
            return advance(u1, v1, h / 2, depth + 1)
        if sysm.contact is not None:
            sysm.contact.commit(un)
        sysm.state = np.asarray(resp.state)
        return un, 2.0 * (un - u) / h - v, resp

    try:
        for step in range(first, n_steps + 1):
            u, v, resp = advance(u, v, dt, 0)
            hist["time"].append(step * dt)
            if probes is not None:
                hist["probes"].append(np.einsum("nij,nj->ni", pN, u[pd]))
            if on_step is not None and on_step(step, snapshot_at(step, resp)):
                n_steps = step
                break
    finally:
        model.asm.release()
    stats = NMMDynamicStats(
        dofs=model.ndof, covers=model.man.n_covers, elements=model.man.n_elements, steps=n_steps,
        step_cuts=cuts[0], newton_iterations=sysm.iterations, solves=sysm.solves, mpi_ranks=model.comm.size,
        timings={**model.timings, "total": time.perf_counter() - t0},
    )
    res = NMMResult(model, u, np.asarray(resp.stress), np.asarray(resp.state), stats)
    res.velocity = v
    res.history = {"time": np.asarray(hist["time"]), "probes": np.asarray(hist["probes"]) if probes is not None else None}
    return res
