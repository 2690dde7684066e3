"""Run a FEM case: build, solve, probe, write fields and plot."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from mpi4py import MPI

from coupling.case.loader import Case
from coupling.errors import CaseDiverged, SolverDivergence
from coupling.output.fields_vtu import FieldSeries
from coupling.output.probes import fem_probe
from coupling.runner_context import RunContext, RunPayload
from coupling.signals import StopAtStep
from coupling.solvers.fem.problem import FemResult
from coupling.runners.fem_model import build_problem
from coupling.runners.reporting import accept_step, fem_cell_triangles, fem_stress_maximum, probes_report
from coupling.setup_checks import check_probes_in_mesh, check_stress_maxima_discs
from coupling.solvers.fem.fields import centroid_stress
from learned.contract import StepRecord
from coupling.output.fem import plot_deformed, write_fields
from coupling.output.load_curve import LoadDisplacementCurve


def run_fem_case(case: Case, ctx: RunContext) -> RunPayload:
    """Build, solve (load steps, Newton), probe and write a FEM case; the run payload."""
    spec = case.spec
    t0 = time.perf_counter()
    problem, bundle = build_problem(case, ctx.comm)
    t_setup = time.perf_counter() - t0
    check_probes_in_mesh(case, bundle.mesh)
    if spec.output.stress_maxima_exclude:
        check_stress_maxima_discs(case, fem_cell_triangles(bundle.mesh), bundle.mesh.comm)
    ctx.setup_done(dofs=problem.num_dofs, cells=bundle.mesh.topology.index_map(2).size_global)
    path = spec.fem.load_path  # explicit load factors (loading-unloading), else k / load_steps
    steps = len(path) if path else spec.fem.load_steps
    warm, predictor = None, None
    if ctx.initial_guess is not None:  # network proposes (u0 from a field surrogate), Newton corrects
        from coupling.ensemble.warm_start import set_displacement_guess

        t_guess = time.perf_counter()
        warm = set_displacement_guess(problem, case, ctx.initial_guess)
        u_final = problem.u.x.array.copy()  # the prediction at load factor 1
        problem.u.x.array[:] = 0.0
        factors = list(path) if path else [k / steps for k in range(1, steps + 1)]

        def predictor(step: int, lam: float, previous: np.ndarray) -> np.ndarray:
            """Step k starts from u_{k-1} + (λ_k − λ_{k−1}) u_pred (step 1: u_pred at λ = 1)."""
            return previous + (lam - (factors[step - 2] if step > 1 else 0.0)) * u_final

        warm["time_s"] = time.perf_counter() - t_guess
    # one field output step per converged load step, timestep = load factor
    series = FieldSeries(ctx.rundir.path if (ctx.rundir is not None and spec.output.fields) else None, ctx.comm.rank)
    curve = LoadDisplacementCurve(spec.probes, steps)

    def write_step(step: int, load_factor: float) -> None:
        curve.record(load_factor, lambda points, quantities: fem_probe(problem, points, quantities))
        if series.enabled:
            write_fields(problem, series, load_factor, *centroid_stress(problem))

    # SIGINT/SIGTERM: checked (collectively) at every Newton iteration; the run goes back to
    # the last complete load step (the displacement saved here) and publishes it
    last_complete = problem.u.x.array.copy()

    def complete_step(step: int, result: FemResult) -> None:
        last_complete[:] = problem.u.x.array
        write_step(step, result.converged_load_factor)

    if ctx.stop is not None:
        ctx.stop.deferred = True
    with ctx.progress(total=steps, description=f"{case.name}: Newton") as bar:
        def report(rec: StepRecord) -> None:
            if rec.converged:
                accept_step(case)
            bar.update(rec.step - 1 + (1 if rec.converged else 0.5),
                       f"{case.name}: step {rec.step}/{steps} it {rec.iterations} |R|/|R0|={rec.residual:.2e}")
            if ctx.stop_requested():
                raise StopAtStep

        try:
            result = problem.solve(load_steps=spec.fem.load_steps, load_factors=path, rtol=spec.fem.newton.rtol, atol=spec.fem.newton.atol,
                                   max_iterations=spec.fem.newton.max_iterations, callback=report,
                                   on_step=complete_step, predictor=predictor)
        except StopAtStep:
            problem.u.x.array[:] = last_complete
            return _finish(case, ctx, problem, bundle, FemResult(problem.u, problem.converged_load_factor, problem.stats),
                           t_setup, series, curve)
        except SolverDivergence as exc:
            # publish the last converged load step, then let the orchestrator report it
            partial = (_finish(case, ctx, problem, bundle, exc.result, t_setup, series, curve)
                       if exc.result is not None else None)
            raise CaseDiverged(str(exc), partial) from None
        bar.update(steps)
    payload = _finish(case, ctx, problem, bundle, result, t_setup, series, curve)
    if warm is not None:  # per step: the cold start's ‖R₀‖ and the prediction's residual relative to it
        refs = problem.step_references
        predicted = [h[0] / r for h, r in zip(problem.stats.residuals, refs)]
        warm.update(cold_initial_residual=refs[0], predicted_residual=predicted[0],
                    iterations=problem.stats.newton_iterations[0])
        if len(refs) > 1:
            warm.update(cold_initial_residual_per_step=refs, predicted_residual_per_step=predicted,
                        iterations_per_step=list(problem.stats.newton_iterations))
        payload.solver["initial_guess"] = warm
    return payload


def _finish(case: Case, ctx: RunContext, problem, bundle, result, t_setup: float,
            series: FieldSeries, curve: LoadDisplacementCurve | None = None) -> RunPayload:
    """Probes, fields and plots of the converged state ``result`` (a FemResult); the payload."""
    spec = case.spec
    steps = len(spec.fem.load_path) if spec.fem.load_path else spec.fem.load_steps
    stress, vm, szz = centroid_stress(problem)
    results: dict[str, Any] = {"converged_load_factor": result.converged_load_factor}
    if spec.probes:
        values = fem_probe(problem, np.array([p.point for p in spec.probes]), [p.quantity for p in spec.probes])
        results["probes"] = probes_report(spec.probes, values)
    umax = np.abs(problem.u.x.array).max() if problem.u.x.array.size else 0.0
    results["max_abs_displacement"] = ctx.comm.allreduce(float(umax), op=MPI.MAX)
    n_own = bundle.mesh.topology.index_map(2).size_local
    if spec.output.stress_maxima_exclude:  # over the cells wholly outside the discs
        results["max_von_mises"], results["stress_maxima_exclude"] = fem_stress_maximum(case, bundle.mesh, vm)
    else:
        results["max_von_mises"] = ctx.comm.allreduce(float(vm.max()) if n_own else 0.0, op=MPI.MAX)

    files = []
    if series.enabled and not series.entries:  # diverged in the first step: the initial state
        write_fields(problem, series, result.converged_load_factor, stress, vm, szz)
    files += series.files
    if ctx.rundir is not None and spec.output.displacement:
        from coupling.ensemble.warm_start import write_displacement

        files.append(write_displacement(problem, ctx.rundir.file("displacement.npz")))
    if ctx.rundir is not None and spec.output.plots:
        lam = result.converged_load_factor  # the state drawn: the last converged step (a load path may end unloaded)
        shown = f" (λ = {lam:.4g})" if steps > 1 or lam != 1.0 else ""
        scale = plot_deformed(problem, vm, ctx.rundir.file("deformed.png"), f"{case.name}: {spec.title}{shown}",
                              spec.output.deformation_scale, exclude=spec.output.stress_maxima_exclude,
                              reported_max=results["max_von_mises"])
        results["plot_deformation_scale"] = scale
        files.append("deformed.png")
    if curve is not None:
        curve.publish(case, ctx, results, files)

    solver = {
        "kind": "fem",
        "law": problem.law.describe(),
        "degree": problem.degree,
        "quadrature_degree": problem.qdeg,
        "dofs": problem.num_dofs,
        "cells": bundle.mesh.topology.index_map(2).size_global,
        "quadrature_points": problem.num_quadrature_points,
        "linear_solver": spec.fem.linear_solver,
        "load_steps": steps,
        "load_path": spec.fem.load_path,
        "time_setup_s": t_setup,
        **result.stats.as_dict(),
    }
    return RunPayload(results, solver, files)
