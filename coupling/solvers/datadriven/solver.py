"""Data-driven fixed-point solver on DOLFINx (Kirchdoerfer & Ortiz 2016; design.md §4).

Given material states (ε*, σ*) at the quadrature points, two linear solves with the
numerical stiffness C (one matrix, factorised once):

    ∫ C ε(u) · ε(v) dx = ∫ C ε* · ε(v) dx                 (u = g on Γ_D)
    ∫ C ε(η) · ε(v) dx = f(v) − ∫ σ* · ε(v) dx            (η = 0 on Γ_D)

give the mechanical states ε = ε(u), σ = σ* + C ε(η): compatible and in equilibrium. Every
point is then projected onto the material data (a learned manifold or a discrete set), and
the map (ε*, σ*) ↦ project(mechanical state) is iterated to its fixed point with the engine
of :mod:`coupling.solvers.fixed_point` (Picard, Aitken or Anderson).
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

from coupling.solvers.datadriven.errors import DataDrivenDivergence
from coupling.solvers.datadriven.projectors import Projector, metric_coordinates
from coupling.solvers.fem.discretisation import Dirichlet, Discretisation, Traction, voigt_strain
from coupling.solvers.fixed_point import Accelerator, ConstantRelaxation, FixedPointResult, solve_fixed_point
from learned.contract import SolverStatistics, StepRecord


@dataclass
class DataDrivenStats(SolverStatistics):
    """Typed statistics of a data-driven solve (the ``solver`` figures of summary.json).

    converged        : whether ‖G(x) − x‖ ≤ rtol ‖G(x)‖ was reached
    iterations       : fixed-point iterations done
    residual_history : ‖G(x_k) − x_k‖ / ‖G(x_k)‖ per iteration (dimensionless)
    distance         : rms metric distance between mechanical and material states [Pa^½]
    extra            : timings [s] (``time_linear_solves_s``, ``time_projection_s``)
    """

    converged: bool
    iterations: int
    residual_history: list[float]
    distance: float
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class DataDrivenResult:
    """What a data-driven solve returns: the fixed-point record (iterations, changes
    ‖G(x) − x‖ / ‖G(x)‖, converged), the rms distance to the data, and timings [s];
    :attr:`stats` gives them as typed statistics."""

    fixed_point: FixedPointResult
    distance: float  # rms metric distance between mechanical and material states [Pa^1/2]
    timings: dict[str, float] = field(default_factory=dict)
    load_factor: float = 1.0  # λ of the step this result closes (solve_path)

    @property
    def stats(self) -> DataDrivenStats:
        """The typed statistics of this solve (:class:`DataDrivenStats`)."""
        fp = self.fixed_point
        return DataDrivenStats(converged=fp.converged, iterations=fp.iterations, residual_history=fp.residuals,
                               distance=self.distance, extra=dict(self.timings))

    def as_dict(self) -> dict:
        """The record written to summary.json (``stats.as_dict()``)."""
        return self.stats.as_dict()


class DataDrivenProblem:
    """Equilibrium and compatibility closest to material data, for a 2D body (unit thickness, SI).

    mesh, degree, density [kg/m³], gravity (2,) [m/s²], dirichlet (values [m]), tractions [Pa]:
    as :class:`coupling.solvers.fem.problem.ContinuumProblem`.
    C : (3,3) numerical stiffness [Pa] (Voigt xx, yy, xy), the metric of the projection.
    projector   : the material (a :class:`Projector` onto a learned manifold or a data set), the
                  data-driven counterpart of the other solvers' law; may instead be given to
                  :meth:`solve`, so that one discretisation serves several data sets
    accelerator : the fixed-point accelerator (default plain Picard), likewise
    After :meth:`solve`: ``u`` (DOLFINx Function, ``x.array`` (2 · n_nodes,) [m]),
    ``final_material_state`` and ``final_mechanical_state``, each (strain (n_points, 3) [-],
    stress (n_points, 3) [Pa]) at this rank's quadrature points.
    """

    def __init__(
        self,
        mesh: dmesh.Mesh,
        C: np.ndarray,
        *,
        degree: int = 1,
        quadrature_degree: int | None = None,
        density: float = 0.0,
        gravity: Sequence[float] = (0.0, 0.0),
        dirichlet: Sequence[Dirichlet] = (),
        tractions: Sequence[Traction] = (),
        linear_solver: str = "mumps",
        projector: Projector | None = None,
        accelerator: Accelerator | None = None,
    ) -> None:
        self.projector, self.accelerator = projector, accelerator
        self.disc = disc = Discretisation(mesh, degree, quadrature_degree)
        self.mesh, self.comm, self.V, self.degree = mesh, mesh.comm, disc.V, disc.degree
        self.C = np.ascontiguousarray(C, dtype=float)  # fem.Constant needs C order (a law may give a transposed view)
        self.u = fem.Function(self.V, name="displacement")
        self.eta = fem.Function(self.V, name="lagrange_multiplier")
        self.strain_star = fem.Function(disc.Qs)
        self.stress_star = fem.Function(disc.Qs)
        Cc = fem.Constant(mesh, self.C)
        v, w = ufl.TestFunction(self.V), ufl.TrialFunction(self.V)
        dx = disc.dx
        self.a = fem.form(ufl.inner(ufl.dot(Cc, voigt_strain(w)), voigt_strain(v)) * dx)
        self.L_u = fem.form(ufl.inner(ufl.dot(Cc, self.strain_star), voigt_strain(v)) * dx)
        external = disc.external_work(v, density, gravity, tractions)
        self.load_factor = fem.Constant(mesh, PETSc.ScalarType(1.0))  # λ: scales f(v) (solve_path)
        self.L_eta = fem.form(self.load_factor * external - ufl.inner(self.stress_star, voigt_strain(v)) * dx)
        self.bcs, _ = disc.dirichlet_bcs(dirichlet)
        self.bcs0, _ = disc.dirichlet_bcs(dirichlet, homogeneous=True)
        self.A = fpetsc.assemble_matrix(self.a, bcs=self.bcs)
        self.A.assemble()
        self.ksp = disc.make_ksp(self.A, linear_solver)
        self.b = fpetsc.create_vector(self.V)
        self._eps_u = disc.strain_expression(self.u)
        self._eps_eta = disc.strain_expression(self.eta)
        self.n_points = disc.n_points
        self.stress_scale = float(np.abs(np.diag(self.C)).max())
        self.timings = {"time_linear_solves_s": 0.0, "time_projection_s": 0.0}

    def _solve(self, L: fem.Form, bcs, out: fem.Function) -> None:
        b = self.b
        with b.localForm() as loc:
            loc.set(0.0)
        fpetsc.assemble_vector(b, L)
        fpetsc.apply_lifting(b, [self.a], bcs=[bcs])
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fpetsc.set_bc(b, bcs)
        self.ksp.solve(b, out.x.petsc_vec)
        out.x.scatter_forward()

    def mechanical_state(self, strain_star: np.ndarray, stress_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Compatible, equilibrated (ε, σ) closest to the material states (two linear solves)."""
        t0 = time.perf_counter()
        self.disc.set_points(self.strain_star, strain_star)
        self.disc.set_points(self.stress_star, stress_star)
        self._solve(self.L_u, self.bcs, self.u)
        self._solve(self.L_eta, self.bcs0, self.eta)
        eps = self.disc.at_points(self._eps_u)
        sig = stress_star + self.disc.at_points(self._eps_eta) @ self.C.T
        self.timings["time_linear_solves_s"] += time.perf_counter() - t0
        return eps, sig

    def strain_of_displacement(self) -> np.ndarray:
        """ε(u) (n_points, 3) at this rank's quadrature points, of the current ``u`` [-]
        (e.g. an initial guess set into ``u.x.array``)."""
        return self.disc.at_points(self._eps_u)

    def _pack(self, eps: np.ndarray, sig: np.ndarray) -> np.ndarray:
        return np.concatenate([eps.ravel(), sig.ravel() / self.stress_scale])

    def _unpack(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = 3 * self.n_points
        return x[:n].reshape(-1, 3), x[n:].reshape(-1, 3) * self.stress_scale

    def solve(
        self,
        projector: Projector | None = None,
        accelerator: Accelerator | None = None,
        *,
        load_steps: int = 1,
        rtol: float = 1e-8,
        max_iterations: int = 200,
        initial: tuple[np.ndarray, np.ndarray] | None = None,
        callback: Callable[[StepRecord], None] | None = None,
        on_step: Callable[[int, DataDrivenResult], None] | None = None,
    ) -> DataDrivenResult:
        """Iterate (ε*, σ*) ← project(mechanical_state(ε*, σ*)) to a fixed point.

        Stops when ‖G(x) − x‖ ≤ rtol ‖G(x)‖ (x = (ε*, σ*/s) stacked over all points, s the
        largest diagonal entry of C [Pa]) or after ``max_iterations``. ``callback(record)`` gets
        a :class:`learned.contract.StepRecord` (step k, iterations, residual the relative
        change ‖G(x) − x‖/‖G(x)‖, converged; ``load_factor`` λ when ``load_steps`` > 1) after
        every iteration (returning True stops the iteration there: not converged), ``on_step(k, result)`` after every converged load step.
        ``projector`` / ``accelerator`` default to the constructor's.
        ``load_steps`` = n > 1 solves at λ = 1/n, 2/n, …, 1 (:meth:`solve_path`; a projector
        with history commits its state after each step). Returns the :class:`DataDrivenResult`
        of the last step; raises :class:`DataDrivenDivergence` (``result``: the last iterate)
        when a step does not converge.
        """
        projector = projector or self.projector
        if projector is None:
            raise ValueError("a data-driven solve needs a projector (the material): give it to the constructor or solve")
        accelerator = accelerator or self.accelerator
        if load_steps != 1:
            if load_steps < 1:
                raise ValueError(f"load_steps must be >= 1, got {load_steps}")
            return self.solve_path(projector, [k / load_steps for k in range(1, load_steps + 1)],
                                   (lambda: accelerator) if accelerator else None, rtol=rtol,
                                   max_iterations=max_iterations, callback=callback, on_step=on_step)[-1]
        out = self._fixed_point(projector, accelerator, rtol, max_iterations, initial, callback, 1, None)
        if on_step:
            on_step(1, out)
        return out

    def _fixed_point(self, projector: Projector, accelerator: Accelerator | None, rtol: float, max_iterations: int,
                     initial: tuple[np.ndarray, np.ndarray] | None, callback: Callable[[StepRecord], None] | None,
                     step: int, load_factor: float | None) -> DataDrivenResult:
        """One fixed point at the present load factor (see :meth:`solve`)."""

        def G(x: np.ndarray) -> np.ndarray:
            eps, sig = self.mechanical_state(*self._unpack(x))
            t0 = time.perf_counter()
            e, s = projector.project(eps, sig)
            self.timings["time_projection_s"] += time.perf_counter() - t0
            return self._pack(e, s)

        if initial is None:
            zero = np.zeros((self.n_points, 3))
            initial = projector.project(zero, zero)
        result = solve_fixed_point(
            G, self._pack(*initial), accelerator or ConstantRelaxation(1.0), rtol=rtol,
            max_iterations=max_iterations, comm=self.comm,
            callback=(lambda k, change: callback(StepRecord(step=step, iterations=k, residual=change,
                                                            converged=change <= rtol, load_factor=load_factor)))
            if callback else None,
        )
        eps_star, sig_star = self._unpack(result.x)
        eps, sig = self.mechanical_state(eps_star, sig_star)
        self.final_material_state = (eps_star, sig_star)
        self.final_mechanical_state = (eps, sig)
        out = DataDrivenResult(result, self.distance(eps, sig, eps_star, sig_star), dict(self.timings),
                               float(self.load_factor.value))
        if not result.converged:
            raise DataDrivenDivergence(
                f"data-driven fixed point did not converge in {result.iterations} iterations "
                f"(change {result.residuals[-1]:.3e} > rtol {rtol:g})", out)
        return out

    def solve_path(
        self,
        projector: Projector,
        load_factors: Sequence[float],
        accelerator_factory: Callable[[], Accelerator] | None = None,
        *,
        rtol: float = 1e-8,
        max_iterations: int = 200,
        on_step: Callable[[int, DataDrivenResult], None] | None = None,
        callback: Callable[[StepRecord], None] | None = None,
        initial: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> list[DataDrivenResult]:
        """Fixed point per load step along a path of load factors λ_k (loading–unloading–reloading).

        λ scales the external work f(v) (tractions and body force; Dirichlet values are
        fixed). A projector with history (:class:`LawProjector` of a law with state) projects
        step k onto the admissible set of that step, M_k = {(e, σ(e; q_{k−1}))}: the manifold
        of the return mapping from the state q_{k−1} of the last converged step, which the
        projector holds fixed during the iterations. Only when step k converges is the state
        advanced, q_k = state(e*_k; q_{k−1}) (``projector.commit(e*)``); a step that does not
        converge raises :class:`DataDrivenDivergence` with the committed state unchanged.
        Each step starts from the previous step's material state. ``accelerator_factory``
        gives a fresh accelerator per step (its history belongs to one fixed point).
        ``on_step(k, result)`` after every converged step (``result.load_factor`` λ_k, the
        per-step hook of every solver); ``callback(record)`` after every
        iteration (a :class:`StepRecord` with step k and load_factor λ_k). ``initial``
        (ε*, σ*) starts the first step (default: the projection of zero). Returns the results per step.
        """
        results = []
        for k, lam in enumerate(load_factors, start=1):
            self.load_factor.value = float(lam)
            acc = accelerator_factory() if accelerator_factory else None
            res = self._fixed_point(projector, acc, rtol, max_iterations, initial, callback, k, float(lam))
            eps_star, sig_star = self.final_material_state
            commit = getattr(projector, "commit", None)
            if commit is not None:
                commit(eps_star)
            initial = (eps_star, sig_star)
            results.append(res)
            if on_step:
                on_step(k, res)
        return results

    def distance(self, eps, sig, eps_star, sig_star) -> float:
        """(Σ_q [½|ε − ε*|²_C + ½|σ − σ*|²_{C⁻¹}] / n_q)^{1/2}: the rms distance over all points [Pa^½]."""
        A, B = metric_coordinates(self.C)
        d = 0.5 * (((eps - eps_star) @ A.T) ** 2).sum(1) + 0.5 * (((sig - sig_star) @ B.T) ** 2).sum(1)
        total = self.comm.allreduce(float(d.sum()))
        count = self.comm.allreduce(len(d))
        return float(np.sqrt(total / max(count, 1)))
