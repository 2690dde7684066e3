"""Run a data-driven case: mesh and loads as in FEM, material from a manifold or data set."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from mpi4py import MPI

from coupling.case.common import build_law
from coupling.case.data_driven import DataDrivenCase, DiscreteData
from coupling.case.loader import Case
from coupling.solvers.datadriven.errors import DataDrivenDivergence
from coupling.solvers.datadriven.projectors import LawProjector, NearestDataProjector
from coupling.solvers.datadriven.solver import DataDrivenProblem
from coupling.errors import CaseDiverged
from coupling.runners.fem_model import build_boundary, build_mesh
from coupling.output.fem import plot_deformed, write_fields
from coupling.output.load_curve import LoadDisplacementCurve
from coupling.output.fields_vtu import FieldSeries
from coupling.runner_context import RunContext, RunPayload
from coupling.runners.reporting import accept_step, fem_cell_triangles, fem_stress_maximum, probes_report, von_mises
from coupling.setup_checks import check_probes_in_mesh, check_stress_maxima_discs
from learned import LinearElastic


def _least_squares_stiffness(strain: np.ndarray, stress: np.ndarray) -> np.ndarray:
    """Symmetrised linear fit σ ≈ D ε of a data set, as the metric stiffness."""
    D, *_ = np.linalg.lstsq(strain, stress, rcond=None)
    D = 0.5 * (D.T + D)
    w, V = np.linalg.eigh(D)
    return (V * np.maximum(w, 1e-6 * w.max())) @ V.T


def build_projector(case: Case):
    """(projector, metric stiffness C, law or None, description) of the case's material data."""
    spec: DataDrivenCase = case.spec
    data = spec.data
    if isinstance(data, DiscreteData):
        from learned.dataset import load_dataset

        path = case.resolve(data.dataset)
        if not path.is_file():
            from learned.files import missing_file

            raise case.error("data.dataset", missing_file(path, f"data set '{path}'"),
                             "an HDF5 data set (deepmanifold data generate)")
        from learned.errors import LearnedInputError

        try:
            ds = load_dataset(path)
        except LearnedInputError as exc:
            where = ": ".join(p for p in (exc.path, exc.key) if p)  # its own "allowed" once, not two
            raise case.error("data.dataset", f"{where}: {exc.found}" if where else exc.found,
                             exc.allowed or "an HDF5 data set (deepmanifold data generate)") from None
        if ds.kind != "constitutive":
            raise case.error("data.dataset", f"'{path}' is a {ds.kind} data set",
                             "a constitutive (strain-stress) data set")
        C = spec.stiffness and LinearElastic(spec.stiffness.E, spec.stiffness.nu, spec.stiffness.plane).reference_stiffness()
        C = C if C is not None else _least_squares_stiffness(ds.strain, ds.stress)
        return NearestDataProjector(ds.strain, ds.stress, C), C, None, {"kind": "discrete", "points": len(ds), "dataset": str(path)}
    law = build_law(case, data.law, "data.law")
    C = (LinearElastic(spec.stiffness.E, spec.stiffness.nu, spec.stiffness.plane).reference_stiffness()
         if spec.stiffness else law.reference_stiffness())
    return LawProjector(law, C), C, law, {"kind": "manifold", "law": law.describe()}


def _cell_average(problem: DataDrivenProblem, values: np.ndarray) -> np.ndarray:
    """Quadrature-weighted average per owned cell of (n_points, k) values."""
    w = problem.disc.q_weights / problem.disc.q_weights.sum()
    return np.einsum("q,cqk->ck", w, values.reshape(-1, len(w), values.shape[1]))


def _material_stress(problem: DataDrivenProblem, law, state: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per owned cell, of the present material state (ε*, σ*): mean stress (c, 3) [Pa], its
    von Mises (c,) [Pa] and σzz (c,) [Pa] (None without a law: a discrete data set).

    σzz = σ_zz(ε*; q) of the law at the material strains with ``state`` q (n_points, S), the
    projector's committed state (a law with history): after a converged step q_k, at which
    the return mapping at ε* gives back σ* (q_k = state(ε*; q_{k−1})); after a step that did
    not converge q_{k−1}, the state σ* was projected from. None: the law's initial state."""
    eps_star, sig_star = problem.final_material_state
    stress_cells = _cell_average(problem, sig_star)
    szz = None
    if law is not None:
        if state is not None and len(state) != len(eps_star):
            state = None  # no state at these points yet (nothing committed)
        szz_q = law.out_of_plane_stress(eps_star, state)
        szz = None if szz_q is None else _cell_average(problem, np.asarray(szz_q, float)[:, None])[:, 0]
    return stress_cells, von_mises(stress_cells, szz), szz


def _law_state(projector) -> np.ndarray | None:
    """The committed law state (n_points, S) of a :class:`LawProjector` of a law with history, else None."""
    state = getattr(projector, "state", None)
    return None if state is None else np.asarray(state, dtype=float)


def run_data_driven_case(case: Case, ctx: RunContext) -> RunPayload:
    """Build, solve (fixed point), probe and write a data-driven case; the run payload."""
    spec: DataDrivenCase = case.spec
    t0 = time.perf_counter()
    projector, C, law, material = build_projector(case)
    bundle = build_mesh(case, ctx.comm)
    dirichlet, tractions = build_boundary(case, bundle)
    problem = DataDrivenProblem(
        bundle.mesh, C, degree=spec.fem.degree, quadrature_degree=spec.fem.quadrature_degree,
        density=spec.density, gravity=spec.gravity, dirichlet=dirichlet, tractions=tractions,
        linear_solver=spec.fem.linear_solver,
    )
    t_setup = time.perf_counter() - t0
    check_probes_in_mesh(case, bundle.mesh)
    if spec.output.stress_maxima_exclude:
        check_stress_maxima_discs(case, fem_cell_triangles(bundle.mesh), bundle.mesh.comm)
    ctx.setup_done(cells=bundle.mesh.topology.index_map(2).size_global,
                   dofs=bundle.mesh.comm.allreduce(problem.u.x.index_map.size_local) * problem.u.x.block_size)
    fp = spec.fixed_point
    # SIGINT/SIGTERM: checked (collectively) after every fixed-point iteration; the run
    # publishes its last complete iterate (a compatible, equilibrated mechanical state and its
    # material state; not converged: solver.converged false, solver.residuals its change)
    if ctx.stop is not None:
        ctx.stop.deferred = True
    initial, warm = None, None
    if ctx.initial_guess is not None:  # network proposes u0; the fixed point starts from project(ε(u0), C ε(u0))
        from coupling.ensemble.warm_start import set_displacement_guess

        t_guess = time.perf_counter()
        warm = set_displacement_guess(problem, case, ctx.initial_guess)
        eps0 = problem.strain_of_displacement()
        initial = projector.project(eps0, eps0 @ C.T)
        warm["time_s"] = time.perf_counter() - t_guess
    path = spec.fem.load_path
    if path is None and law is not None and law.n_state:
        path = [1.0]  # a law with history: one step from the virgin state, state committed at convergence
    # progress: without a load path, iterations out of max_iterations; along a path, load steps
    # (step k in progress counts k − ½, as the FEM's Newton), the iteration and its change in the detail
    steps = len(path) if path is not None else None
    with ctx.progress(total=steps or fp.max_iterations,
                      description=f"{case.name}: {'load step' if steps else 'fixed point'}") as bar:
        def report(rec) -> bool:
            if steps:
                bar.update(rec.step - (0 if rec.converged else 0.5),
                           f"{case.name}: step {rec.step}/{steps} iteration {rec.iterations} change {rec.residual:.2e}")
            else:
                bar.update(rec.iterations, f"{case.name}: iteration {rec.iterations} change {rec.residual:.2e}")
            return ctx.stop_requested()

        diverged = None
        curve = _PathRecord(spec, path) if path is not None else None
        series = FieldSeries(ctx.rundir.path if (ctx.rundir is not None and spec.output.fields) else None, ctx.comm.rank)

        def on_path_step(k: int, res) -> None:  # after each converged step of a load path (collective)
            accept_step(case)  # the step's material state joins the out-of-distribution counts
            curve.record_step(problem, res.load_factor, res)
            if series.enabled:
                write_fields(problem, series, res.load_factor, *_material_stress(problem, law, _law_state(projector)))
        try:
            if path is None:
                result = problem.solve(projector, fp.build(), rtol=fp.rtol, max_iterations=fp.max_iterations,
                                       callback=report, initial=initial)
                accept_step(case)  # converged: its material state is the run's one accepted step
            else:  # step by step; the state of a law with history advances only at convergence
                results = problem.solve_path(projector, path, fp.build, rtol=fp.rtol, max_iterations=fp.max_iterations,
                                             callback=report, initial=initial,
                                             on_step=on_path_step)
                result = results[-1]
        except DataDrivenDivergence as exc:
            result = exc.result
            if ctx.stop is None or ctx.stop.signum is None:  # stopped by a signal: interrupted, not diverged
                diverged = exc
    stress_cells, vm_cells, szz = _material_stress(problem, law, _law_state(projector))

    results: dict[str, Any] = {"distance_to_data": result.distance}
    if spec.probes:
        results["probes"] = _probes(problem, spec, stress_cells, vm_cells)
    results["max_abs_displacement"] = ctx.comm.allreduce(float(np.abs(problem.u.x.array).max(initial=0.0)), op=MPI.MAX)
    if spec.output.stress_maxima_exclude:  # over the cells wholly outside the discs
        results["max_von_mises"], results["stress_maxima_exclude"] = fem_stress_maximum(case, bundle.mesh, vm_cells)
    else:
        results["max_von_mises"] = ctx.comm.allreduce(float(vm_cells.max(initial=0.0)), op=MPI.MAX)

    files: list[str] = []
    if curve is not None:
        results["converged_load_factor"] = curve.load_factor[-1] if curve.load_factor else 0.0
        curve.publish(case, ctx, results, files)  # results.load_displacement, load_displacement.png
    if ctx.rundir is not None:
        if spec.output.fields:  # one output step (the converged fixed point), or one per load-path step
            if not series.entries:
                write_fields(problem, series, 1.0, stress_cells, vm_cells, szz)
            files += series.files
        if spec.output.plots:
            lam = results.get("converged_load_factor")  # along a load path: the state drawn (it may end unloaded)
            shown = (f" (λ = {lam:.4g})" if diverged is None and lam is not None and (len(path) > 1 or lam != 1.0)
                     else "")
            plot_deformed(problem, vm_cells, ctx.rundir.file("deformed.png"), f"{case.name}: {spec.title}{shown}",
                          spec.output.deformation_scale, exclude=spec.output.stress_maxima_exclude,
                          reported_max=results["max_von_mises"])
            files.append("deformed.png")
        if spec.output.displacement:
            from coupling.ensemble.warm_start import write_displacement

            files.append(write_displacement(problem, ctx.rundir.file("displacement.npz")))
    solver = {
        "kind": "data_driven", "material": material, "metric_stiffness": C.tolist(),
        "degree": problem.degree, "dofs": problem.disc.num_dofs,
        "quadrature_points": problem.disc.num_quadrature_points,
        "fixed_point_method": fp.method, **result.as_dict(), "time_setup_s": t_setup,
    }
    if curve is not None:
        solver["load_path"] = list(path)
        solver["fixed_point_iterations_per_step"] = curve.iterations
    if isinstance(projector, LawProjector):
        solver["gauss_newton_iterations"] = projector.gauss_newton_iterations
    if warm is not None:  # the proposal's residual: the first fixed-point change ‖G(x0) − x0‖/‖G(x0)‖
        history = solver.get("residual_history") or [None]
        warm.update(iterations=solver.get("iterations"), predicted_residual=history[0])
        solver["initial_guess"] = warm
    payload = RunPayload(results, solver, files)
    if diverged is not None:
        raise CaseDiverged(str(diverged), payload)
    return payload


class _PathRecord(LoadDisplacementCurve):
    """Per converged load step of a path: λ, the fixed-point iterations and the displacement
    probes (``ux``/``uy``, exact u_h), the curve reported as the FEM solver's
    ``results.load_displacement`` (:mod:`coupling.output.load_curve`)."""

    def __init__(self, spec: DataDrivenCase, path: list[float]) -> None:
        super().__init__(spec.probes, len(path))
        self.iterations: list[int] = []

    def record_step(self, problem: DataDrivenProblem, load_factor: float, result) -> None:
        """After a converged step (collective)."""
        from coupling.output.probes import fem_cell_value_probe

        self.iterations.append(int(result.fixed_point.iterations))
        n_own = problem.mesh.topology.index_map(2).size_local
        self.record(load_factor, lambda points, quantities: fem_cell_value_probe(
            problem, points, quantities, np.zeros((n_own, 4))))


def _probes(problem: DataDrivenProblem, spec: DataDrivenCase, stress_cells, vm_cells) -> dict[str, Any]:
    """Displacements at points; stresses as the material stress averaged over the cell, then
    over the cells touching the point (:mod:`coupling.output.probes`, partition independent)."""
    from coupling.output.probes import fem_cell_value_probe

    values = fem_cell_value_probe(problem, np.array([p.point for p in spec.probes], float),
                                  [p.quantity for p in spec.probes], np.c_[stress_cells, vm_cells])
    return probes_report(spec.probes, values, note="material stress averaged over the cell")
