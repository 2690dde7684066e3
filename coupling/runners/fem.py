"""Run a FEM case: build, solve, probe, write fields and plot."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from mpi4py import MPI

from coupling.case.loader import Case
from coupling.errors import SolverDivergence
from coupling.runners.fem_model import build_problem
from coupling.solvers.fem.fields import cell_stress, probe
from coupling.solvers.fem.output import plot_deformed, write_fields
from coupling.runner_context import RunContext
from coupling.setup_checks import check_probes_in_mesh


def run_fem_case(case: Case, ctx: RunContext) -> dict[str, Any]:
    spec = case.spec
    t0 = time.perf_counter()
    problem, bundle = build_problem(case, ctx.comm)
    t_setup = time.perf_counter() - t0
    ctx.stage_problem = problem  # lets a failed run still write its last state
    check_probes_in_mesh(case, bundle.mesh)
    ctx.setup_done(dofs=problem.num_dofs, cells=bundle.mesh.topology.index_map(2).size_global)

    path = spec.fem.load_path  # explicit load factors (loading-unloading), else k / load_steps
    steps = len(path) if path else spec.fem.load_steps
    with ctx.progress(total=steps, description=f"{case.name}: Newton") as bar:
        def report(step: int, it: int, residual: float) -> None:
            bar.update(step - 1 + (1 if residual <= spec.fem.newton.rtol else 0.5),
                       f"{case.name}: step {step}/{steps} it {it} |R|={residual:.2e}")

        try:
            stats = problem.solve(steps, spec.fem.newton.rtol, spec.fem.newton.atol,
                                  spec.fem.newton.max_iterations, progress=report, load_factors=path)
        except SolverDivergence:
            # publish the last converged load step, then let the orchestrator report it
            ctx.extra["partial"] = _finish(case, ctx, problem, bundle, problem.stats, t_setup)
            raise
        bar.update(steps)
    return _finish(case, ctx, problem, bundle, stats, t_setup)


def _finish(case: Case, ctx: RunContext, problem, bundle, stats, t_setup: float) -> dict[str, Any]:
    """Probes, fields and plots of the current (converged) state; the run's payload."""
    spec = case.spec
    steps = len(spec.fem.load_path) if spec.fem.load_path else spec.fem.load_steps
    stress, vm = cell_stress(problem)
    results: dict[str, Any] = {"converged_load_factor": problem.converged_load_factor}
    if spec.probes:
        values = probe(problem, np.array([p.point for p in spec.probes]), [p.quantity for p in spec.probes])
        probes = {}
        for p, value in zip(spec.probes, values):
            entry: dict[str, Any] = {"point": list(p.point), "quantity": p.quantity, "value": float(value)}
            if p.reference is not None:
                entry["reference"] = p.reference
                entry["relative_error"] = abs(value - p.reference) / abs(p.reference)
            probes[p.name] = entry
        results["probes"] = probes
    umax = np.abs(problem.u.x.array).max() if problem.u.x.array.size else 0.0
    results["max_abs_displacement"] = ctx.comm.allreduce(float(umax), op=MPI.MAX)
    n_own = bundle.mesh.topology.index_map(2).size_local
    vm_own = vm.x.array[vm.function_space.dofmap.list[:n_own, 0]]
    results["max_von_mises"] = ctx.comm.allreduce(float(vm_own.max()) if n_own else 0.0,
                                                  op=MPI.MAX)

    files = []
    if ctx.rundir is not None and spec.output.fields:
        write_fields(problem, ctx.rundir.file("fields.xdmf"), stress, vm)
        files += ["fields.xdmf", "fields.h5"]
    if ctx.rundir is not None and spec.output.plots:
        scale = plot_deformed(problem, vm, ctx.rundir.file("deformed.png"), spec.title, spec.output.deformation_scale)
        results["plot_deformation_scale"] = scale
        files.append("deformed.png")

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
        **stats.as_dict(),
    }
    return {"results": results, "solver": solver, "files": files}
