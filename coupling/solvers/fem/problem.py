"""Small-strain 2D continuum on DOLFINx with the stress supplied by a constitutive law.

Weak form (plane strain/stress, thickness 1 m), for all admissible v:

    R(u; v) = ∫ σ(ε(u)) · ε(v) dx − λ ( ∫ ρ g · v dx + Σ ∫ t · v ds ) = 0

with Voigt ε(u) = (u_x,x, u_y,y, u_x,y + u_y,x). σ and the tangent C = ∂σ/∂ε live at the
quadrature points (quadrature-element functions) and come from **one batched call** of
``law.evaluate`` per Newton iteration over every local point. Newton: J(u) du = −R(u) with
J = ∫ C ε(du) · ε(v) dx, solved by PETSc KSP (MUMPS LU, or CG + GAMG). A linear law
converges after one solve. Runs unchanged under ``mpiexec -n N``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import dolfinx_solver  # noqa: F401
import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh
from dolfinx.fem import petsc as fpetsc
from petsc4py import PETSc

from coupling.solvers.fem.discretisation import Dirichlet, Discretisation, Traction, voigt_strain  # noqa: F401 (re-exported)

from coupling.solvers.fem.errors import FemDivergence
from learned import ConstitutiveLaw
from learned.contract import SolverStatistics, StepRecord, converged


@dataclass
class SolveStats(SolverStatistics):
    """Newton statistics of a FEM solve: iterations and residual norms ‖b‖ [N] per load step,
    law calls, Krylov iterations, and the time [s] spent in each part."""

    newton_iterations: list[int] = field(default_factory=list)  # per load step
    residuals: list[list[float]] = field(default_factory=list)  # per load step, per iteration
    time_law: float = 0.0
    time_residual: float = 0.0
    time_jacobian: float = 0.0
    time_solve: float = 0.0
    law_calls: int = 0
    ksp_iterations: int = 0

    def as_dict(self) -> dict:
        """The record written to summary.json (totals and per-iteration times added)."""
        n = max(sum(self.newton_iterations), 1)
        calls = max(self.law_calls, 1)
        # one full Newton iteration = law call + residual + Jacobian + linear solve
        per_iteration = (self.time_law + self.time_residual) / calls + (self.time_jacobian + self.time_solve) / n
        return {
            "newton_iterations": self.newton_iterations,
            "newton_iterations_total": sum(self.newton_iterations),
            "law_calls": self.law_calls,
            "residual_history": self.residuals,
            "ksp_iterations": self.ksp_iterations,
            "time_law_s": self.time_law,
            "time_residual_s": self.time_residual,
            "time_jacobian_s": self.time_jacobian,
            "time_solve_s": self.time_solve,
            "time_law_per_call_s": self.time_law / calls,
            "time_per_newton_iteration_s": per_iteration,
        }


@dataclass
class FemResult:
    """What a FEM solve returns.

    displacement          : the displacement field u [m] (a dolfinx Function on the P-k space;
                            the problem's own ``u``, so it is the converged state)
    converged_load_factor : λ of the last converged load step (1 when the solve completed)
    stats                 : :class:`SolveStats`
    """

    displacement: fem.Function
    converged_load_factor: float
    stats: SolveStats


def _numpy(x) -> np.ndarray:
    """A float64 numpy view of a numpy array or a torch tensor (copied to the host)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float)


class ContinuumProblem:
    """Static equilibrium of a 2D body (unit thickness, SI units) with a pluggable constitutive law:
    find u with ∫ σ(ε(u)) : ε(v) dx = λ (∫ ρ g · v dx + ∫ t · v ds) for all v (Newton, λ the load factor).

    mesh              : a DOLFINx triangle mesh, coordinates [m]
    law               : a ``learned.ConstitutiveLaw`` (strain (N,3) → stress (N,3) [Pa], tangent (N,3,3) [Pa])
    degree            : Lagrange degree of u (1 or 2); quadrature_degree default 2·degree
    density, gravity  : ρ [kg/m³] and g, shape (2,) [m/s²] (body force ρ g [N/m³])
    dirichlet         : :class:`learned.boundary.Dirichlet` (where: mesh facets / vertices, a
                        segment or a point; ux, uy constants [m])
    tractions         : :class:`learned.boundary.Traction` (where: facets or a segment; value
                        (t_x, t_y) [Pa] or a callable of the UFL coordinate x, or pressure [Pa])
    linear_solver     : "mumps" (LU) or "cg" (CG + GAMG)

    ``self.u`` is the displacement, a DOLFINx Function whose ``x.array`` has shape
    (2 · n_nodes,) [m], interleaved (ux, uy) per node of the P-k space.
    """

    def __init__(
        self,
        mesh: dmesh.Mesh,
        law: ConstitutiveLaw,
        *,
        degree: int = 2,
        quadrature_degree: int | None = None,
        density: float = 0.0,
        gravity: Sequence[float] = (0.0, 0.0),
        dirichlet: Sequence[Dirichlet] = (),
        tractions: Sequence[Traction] = (),
        linear_solver: str = "mumps",
    ) -> None:
        self.mesh, self.law, self.comm = mesh, law, mesh.comm
        self.disc = disc = Discretisation(mesh, degree, quadrature_degree)
        self.degree, self.qdeg, self.V = disc.degree, disc.qdeg, disc.V
        self.u = fem.Function(self.V, name="displacement")
        self.du = fem.Function(self.V)
        self.load_factor = fem.Constant(mesh, PETSc.ScalarType(1.0))

        # quadrature-point stress and tangent, filled by the law
        self.stress_q = fem.Function(disc.Qs, name="stress_qp")
        self.tangent_q = fem.Function(disc.Qt, name="tangent_qp")
        self._strain_expr = disc.strain_expression(self.u)
        self.law_state = law.initial_state(len(disc.q_dofs))

        v, w = ufl.TestFunction(self.V), ufl.TrialFunction(self.V)
        external = disc.external_work(v, density, gravity, tractions)
        residual = ufl.inner(self.stress_q, voigt_strain(v)) * disc.dx - self.load_factor * external
        jacobian = ufl.inner(ufl.dot(self.tangent_q, voigt_strain(w)), voigt_strain(v)) * disc.dx
        self.F = fem.form(residual)
        self.J = fem.form(jacobian)
        # Dirichlet conditions, scaled by the load factor through their constants
        self.bcs, self._bc_values = disc.dirichlet_bcs(dirichlet)

        self.A = fpetsc.create_matrix(self.J)
        self.b = fpetsc.create_vector(self.V)
        self.ksp = disc.make_ksp(self.A, linear_solver)
        self.stats = SolveStats()

    # ------------------------------------------------------------------ pieces
    @property
    def num_dofs(self) -> int:
        """Global number of displacement degrees of freedom."""
        return self.disc.num_dofs

    @property
    def num_quadrature_points(self) -> int:
        """Global number of quadrature points."""
        return self.disc.num_quadrature_points

    def strain_at_quadrature_points(self) -> np.ndarray:
        """ε(u) at every local quadrature point, (n_points, 3), ordered like the stress dofs."""
        return self.disc.at_points(self._strain_expr)

    def update_constitutive(self) -> None:
        """One batched law call: σ and C at all local quadrature points."""
        t0 = time.perf_counter()
        strain = self.strain_at_quadrature_points()
        device = getattr(self.law, "device", None)
        if device is not None:  # a torch law: the points go to its device in one transfer
            import torch

            strain = torch.as_tensor(strain, dtype=torch.float64, device=device)
        response = self.law.evaluate(strain, self.law_state)
        self.disc.set_points(self.stress_q, _numpy(response.stress))
        self.disc.set_points(self.tangent_q, _numpy(response.tangent).reshape(-1, 9))
        self._trial_state = response.state
        self.stats.law_calls += 1
        self.stats.time_law += time.perf_counter() - t0

    def assemble_residual(self) -> float:
        """b = −R(u) with the Dirichlet rows set to g − u; returns ‖b‖."""
        t0 = time.perf_counter()
        b = self.b
        with b.localForm() as loc:
            loc.set(0.0)
        fpetsc.assemble_vector(b, self.F)
        fpetsc.apply_lifting(b, [self.J], bcs=[self.bcs], x0=[self.u.x.petsc_vec], alpha=-1.0)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fpetsc.set_bc(b, self.bcs, self.u.x.petsc_vec, -1.0)
        b.scale(-1.0)
        self.stats.time_residual += time.perf_counter() - t0
        return b.norm()

    def assemble_jacobian(self) -> None:
        """Assemble J = ∫ C ε(du)·ε(v) dx into PETSc (Dirichlet rows identity)."""
        t0 = time.perf_counter()
        self.A.zeroEntries()
        fpetsc.assemble_matrix(self.A, self.J, bcs=self.bcs)
        self.A.assemble()
        self.stats.time_jacobian += time.perf_counter() - t0

    def newton_update(self) -> None:
        """Solve J du = b and set u ← u + du."""
        t0 = time.perf_counter()
        self.ksp.setOperators(self.A)
        self.ksp.solve(self.b, self.du.x.petsc_vec)
        reason = self.ksp.getConvergedReason()
        if reason < 0:
            raise FemDivergence(f"linear solver failed (PETSc KSP reason {reason})")
        self.stats.ksp_iterations += self.ksp.getIterationNumber()
        self.du.x.scatter_forward()
        self.u.x.array[:] += self.du.x.array
        self.stats.time_solve += time.perf_counter() - t0

    # ------------------------------------------------------------------ driver
    def solve(
        self,
        *,
        load_steps: int = 1,
        rtol: float = 1e-8,
        atol: float = 1e-10,
        max_iterations: int = 25,
        callback: Callable[[StepRecord], None] | None = None,
        on_step: Callable[[int, FemResult], None] | None = None,
        load_factors: Sequence[float] | None = None,
        reference_residual: float | None = None,
        predictor: Callable[[int, float, np.ndarray], np.ndarray] | None = None,
    ) -> FemResult:
        """Incremental Newton: λ = k/n, k = 1..n; stop each step on ‖R‖ ≤ max(atol, rtol ‖R₀‖).

        ‖R‖ is the l2 norm of the assembled residual vector b [N] (Dirichlet rows g − u), R₀
        the residual at the first iteration of the load step (the tolerance meaning shared by
        every solver, :func:`learned.contract.converged`). ``callback(record)`` gets a
        :class:`~learned.contract.StepRecord` (step, iterations, ‖R‖/‖R₀‖, converged,
        load_factor) after every residual evaluation, ``on_step(step, result)`` after every
        converged load step with its :class:`FemResult` (``converged_load_factor`` λ; e.g. to
        write fields), the per-step hook of every solver. ``load_factors`` (optional) replaces k/n by
        any sequence of λ, e.g. a loading–unloading–reloading path 0.5, 1, 0.5, 0, 1; the law
        state (plastic strain, …) is committed only when a step converges.
        ``reference_residual`` (optional) replaces ‖R₀‖ of the *first* load step in the test, e.g.
        the cold start's ‖R₀‖ (:meth:`cold_reference_residual`) when ``u`` holds an initial guess:
        a warm start then stops at the same absolute accuracy as a cold one instead of
        tightening its own criterion. ``predictor(step, load_factor, u_previous)`` (optional)
        gives the displacement (local array of ``u``, [m]) each load step's Newton starts from
        instead of the previous converged ``u_previous``; that step's convergence reference is
        then the residual at ``u_previous`` (the cold start's ‖R₀‖, one extra law call and
        residual assembly per step), so the warm steps stop at the cold steps' accuracy.
        Returns a :class:`FemResult`. Raises
        :class:`FemDivergence` when a step does not converge, after restoring the last
        converged state; its ``result`` is the :class:`FemResult` of that state.
        """
        factors = [k / load_steps for k in range(1, load_steps + 1)] if load_factors is None else list(load_factors)
        self.converged_load_factor = 0.0
        self.step_references: list[float | None] = []  # the convergence reference used per step (None: its own ‖R₀‖)
        for step, lam in enumerate(factors, start=1):
            last_good = self.u.x.array.copy()
            self.load_factor.value = lam
            for c, value in self._bc_values:
                c.value = lam * value
            history: list[float] = []
            step_reference = reference_residual if (reference_residual is not None and step == 1) else None
            if predictor is not None:  # the cold start's ‖R₀‖ at u_previous, then start from the prediction
                self.update_constitutive()
                step_reference = self.assemble_residual()
                self.u.x.array[:] = predictor(step, lam, last_good)
            self.step_references.append(step_reference)
            for it in range(max_iterations + 1):
                self.update_constitutive()
                norm = self.assemble_residual()
                history.append(norm)
                if not np.isfinite(norm):
                    self._restore(last_good)
                    self.stats.residuals.append(history)
                    raise FemDivergence(f"load step {step}, Newton iteration {it}: residual is not finite",
                                        self._result())
                reference = step_reference if step_reference is not None else history[0]
                done = converged(norm, reference, rtol, atol)
                if callback:
                    callback(StepRecord(step=step, iterations=it, residual=norm / history[0] if history[0] > 0 else 0.0,
                                        converged=done, load_factor=lam))
                if done:
                    break
                if it == max_iterations:
                    self._restore(last_good)
                    self.stats.residuals.append(history)
                    raise FemDivergence(
                        f"load step {step}: Newton did not converge in {max_iterations} iterations "
                        f"(residual {norm:.3e}, started at {history[0]:.3e})", self._result()
                    )
                self.assemble_jacobian()
                try:
                    self.newton_update()
                except FemDivergence as exc:
                    self._restore(last_good)
                    self.stats.residuals.append(history)
                    raise FemDivergence(f"load step {step}: {exc}", self._result()) from None
            self.law_state = self._trial_state
            self.converged_load_factor = lam
            self.stats.newton_iterations.append(len(history) - 1)
            self.stats.residuals.append(history)
            if on_step:
                on_step(step, self._result())
        return self._result()

    def cold_reference_residual(self, load_factor: float) -> float:
        """‖R₀‖ [N] of a cold start at ``load_factor``: the residual of u = 0 from the initial
        law state (one law call and one residual assembly; ``u`` is restored afterwards).

        With u = 0 (strain 0) the residual is −λ F_ext on free rows and λ g on Dirichlet rows:
        the reference a warm start's convergence test uses (see :meth:`solve`).
        """
        saved = self.u.x.array.copy()
        self.u.x.array[:] = 0.0
        self.load_factor.value = load_factor
        for c, value in self._bc_values:
            c.value = load_factor * value
        self.update_constitutive()
        norm = self.assemble_residual()
        self.u.x.array[:] = saved
        return norm

    def _result(self) -> FemResult:
        """The current (converged) state as a :class:`FemResult`."""
        return FemResult(self.u, self.converged_load_factor, self.stats)

    def _restore(self, values: np.ndarray) -> None:
        """Go back to a converged displacement (the stats keep the failed history)."""
        self.u.x.array[:] = values
