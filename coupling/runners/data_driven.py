"""Run a data-driven case: mesh and loads as in FEM, material from a manifold or data set."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from mpi4py import MPI

from coupling.case.common import build_law
from coupling.case.data_driven import DataDrivenCase, DiscreteData
from coupling.case.loader import Case
from coupling.solvers.datadriven.projectors import LawProjector, NearestDataProjector
from coupling.solvers.datadriven.solver import DataDrivenProblem
from coupling.errors import SolverDivergence
from coupling.runners.fem_model import build_boundary, build_mesh
from coupling.solvers.fem.fields import von_mises
from coupling.solvers.fem.output import plot_deformed, write_fields
from coupling.runner_context import RunContext
from coupling.setup_checks import check_probes_in_mesh
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
            raise case.error("data.dataset", f"data set '{path}' not found", "an HDF5 data set (deepmanifold data generate)")
        ds = load_dataset(path)
        if ds.kind != "constitutive":
            raise case.error("data.dataset", f"'{path}' is a {ds.kind} data set",
                             "a constitutive (strain-stress) data set")
        C = spec.stiffness and LinearElastic(spec.stiffness.E, spec.stiffness.nu, spec.stiffness.plane).reference_stiffness()
        C = C if C is not None else _least_squares_stiffness(ds.strain, ds.stress)
        return NearestDataProjector(ds.strain, ds.stress, C), C, None, {"kind": "discrete", "points": len(ds), "dataset": str(path)}
    law = build_law(case, data.law, "data.law")
    if law.n_state:  # e.g. a learned return-mapping checkpoint: the projection carries no state yet
        raise case.error("data.law", f"a law with {law.n_state} state variables ({law.kind})",
                         "a path-independent law (no history) for the data-driven manifold")
    C = (LinearElastic(spec.stiffness.E, spec.stiffness.nu, spec.stiffness.plane).reference_stiffness()
         if spec.stiffness else law.reference_stiffness())
    return LawProjector(law, C), C, law, {"kind": "manifold", "law": law.describe()}


def _cell_average(problem: DataDrivenProblem, values: np.ndarray) -> np.ndarray:
    """Quadrature-weighted average per owned cell of (n_points, k) values."""
    w = problem.disc.q_weights / problem.disc.q_weights.sum()
    return np.einsum("q,cqk->ck", w, values.reshape(-1, len(w), values.shape[1]))


def run_data_driven_case(case: Case, ctx: RunContext) -> dict[str, Any]:
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
    ctx.setup_done(cells=bundle.mesh.topology.index_map(2).size_global,
                   dofs=bundle.mesh.comm.allreduce(problem.u.x.index_map.size_local) * problem.u.x.block_size)
    fp = spec.fixed_point
    with ctx.progress(total=fp.max_iterations, description=f"{case.name}: fixed point") as bar:
        def report(k: int, residual: float) -> None:
            bar.update(k, f"{case.name}: iteration {k} change {residual:.2e}")

        result = problem.solve(projector, fp.build(), rtol=fp.rtol, max_iterations=fp.max_iterations, callback=report)
    eps_star, sig_star = problem.final_material_state
    stress_cells = _cell_average(problem, sig_star)
    szz = None
    if law is not None:
        szz_q = law.out_of_plane_stress(eps_star)
        szz = None if szz_q is None else _cell_average(problem, np.asarray(szz_q, float)[:, None])[:, 0]
    vm_cells = von_mises(stress_cells, szz)

    results: dict[str, Any] = {"distance_to_data": result.distance}
    if spec.probes:
        results["probes"] = _probes(problem, spec, stress_cells, vm_cells)
    results["max_abs_displacement"] = ctx.comm.allreduce(float(np.abs(problem.u.x.array).max(initial=0.0)), op=MPI.MAX)
    results["max_von_mises"] = ctx.comm.allreduce(float(vm_cells.max(initial=0.0)), op=MPI.MAX)

    files: list[str] = []
    if ctx.rundir is not None:
        stress_f, vm_f = _dg0_fields(problem, stress_cells, vm_cells)
        if spec.output.fields:
            write_fields(problem, ctx.rundir.file("fields.xdmf"), stress_f, vm_f)
            files += ["fields.xdmf", "fields.h5"]
        if spec.output.plots:
            plot_deformed(problem, vm_f, ctx.rundir.file("deformed.png"), spec.title, spec.output.deformation_scale)
            files.append("deformed.png")
    solver = {
        "kind": "data_driven", "material": material, "metric_stiffness": C.tolist(),
        "degree": problem.degree, "dofs": problem.disc.num_dofs,
        "quadrature_points": problem.disc.num_quadrature_points,
        "fixed_point_method": fp.method, **result.as_dict(), "time_setup_s": t_setup,
    }
    if isinstance(projector, LawProjector):
        solver["gauss_newton_iterations"] = projector.gauss_newton_iterations
    payload = {"results": results, "solver": solver, "files": files}
    if not result.fixed_point.converged:
        ctx.extra["partial"] = payload
        raise SolverDivergence(
            f"data-driven fixed point did not converge in {result.fixed_point.iterations} iterations "
            f"(change {result.fixed_point.residuals[-1]:.3e} > rtol {fp.rtol:g})")
    return payload


def _dg0_fields(problem: DataDrivenProblem, stress_cells: np.ndarray, vm_cells: np.ndarray):
    from dolfinx import fem

    W = fem.functionspace(problem.mesh, ("DG", 0, (3,)))
    S = fem.functionspace(problem.mesh, ("DG", 0))
    sigma, vm = fem.Function(W, name="stress"), fem.Function(S, name="von_mises")
    n = len(stress_cells)
    sigma.x.array.reshape(-1, 3)[W.dofmap.list[:n, 0]] = stress_cells
    vm.x.array[S.dofmap.list[:n, 0]] = vm_cells
    sigma.x.scatter_forward()
    vm.x.scatter_forward()
    return sigma, vm


def _probes(problem: DataDrivenProblem, spec: DataDrivenCase, stress_cells, vm_cells) -> dict[str, Any]:
    """Displacements at points; stresses as the material stress averaged over the cell."""
    from dolfinx import geometry

    mesh, comm = problem.mesh, problem.comm
    pts = np.zeros((len(spec.probes), 3))
    pts[:, :2] = [p.point for p in spec.probes]
    tree = geometry.bb_tree(mesh, 2)
    cells = geometry.compute_colliding_cells(mesh, geometry.compute_collisions_points(tree, pts), pts)
    n_own = len(stress_cells)
    local = np.zeros(len(pts))
    found = np.zeros(len(pts), dtype=np.int64)
    for i, p in enumerate(spec.probes):
        c = [c for c in cells.links(i) if c < n_own]
        if not c:
            continue
        found[i] = 1
        if p.quantity in ("ux", "uy"):
            local[i] = problem.u.eval(pts[i], c[:1])[0 if p.quantity == "ux" else 1]
        elif p.quantity == "von_mises":
            local[i] = vm_cells[c[0]]
        else:
            local[i] = stress_cells[c[0], ["sxx", "syy", "sxy"].index(p.quantity)]
    owner = np.empty_like(found)
    comm.Allreduce(np.where(found > 0, comm.rank, comm.size), owner, op=MPI.MIN)
    values = np.empty(len(pts))
    comm.Allreduce(np.where(owner == comm.rank, local, 0.0), values, op=MPI.SUM)
    out = {}
    for p, v, o in zip(spec.probes, values, owner):
        entry: dict[str, Any] = {"point": list(p.point), "quantity": p.quantity,
                                 "value": float(v) if o < comm.size else float("nan")}
        if p.quantity not in ("ux", "uy"):
            entry["note"] = "material stress averaged over the cell"
        if p.reference is not None:
            entry["reference"] = p.reference
            entry["relative_error"] = abs(v - p.reference) / abs(p.reference)
        out[p.name] = entry
    return out
