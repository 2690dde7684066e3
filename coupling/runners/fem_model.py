"""Turn a validated FEM case into a :class:`ContinuumProblem`."""

from __future__ import annotations

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import mesh as dmesh
from mpi4py import MPI

from coupling.case.common import build_law
from coupling.case.fem import FemCase, FileMesh, PlateWithHoleMesh, RectangleMesh, TractionSpec
from coupling.case.loader import Case
from coupling.limits import check_counted_cells
from coupling.solvers.fem import mesh as meshes
from coupling.solvers.fem.errors import MeshInputError
from coupling.solvers.fem.problem import ContinuumProblem
from learned.boundary import Dirichlet, MeshFacets, Point, Traction


def build_mesh(case: Case, comm: MPI.Comm) -> meshes.MeshBundle:
    """The mesh of a FEM or data-driven case (rectangle, gmsh plate with a hole, or a file)."""
    spec = case.spec.mesh
    if isinstance(spec, RectangleMesh):
        return meshes.rectangle(comm, spec.size, spec.cells, spec.origin, spec.diagonal)
    if isinstance(spec, PlateWithHoleMesh):
        return meshes.plate_with_hole(comm, spec.width, spec.height, spec.radius,
                                      spec.element_size, spec.hole_element_size)
    assert isinstance(spec, FileMesh)
    try:
        bundle = meshes.from_file(comm, case.resolve(spec.path))
    except MeshInputError as exc:
        raise case.error("mesh.path", exc.found, exc.allowed) from None
    check_counted_cells(case, bundle.mesh.topology.index_map(2).size_global, "mesh.path")
    return bundle


def _region(case: Case, bundle: meshes.MeshBundle, name: str, key: str) -> np.ndarray:
    if name not in bundle.regions:
        raise case.error(key, f"found {name!r}", " | ".join(sorted(bundle.regions)) + " | point")
    facets = bundle.regions[name]
    if bundle.mesh.comm.allreduce(len(facets)) == 0:
        raise case.error(key, f"boundary {name!r} has no facets on this mesh")
    return facets


def _extent(bundle: meshes.MeshBundle, facets: np.ndarray) -> tuple[int, float, float]:
    """Direction (0 = x, 1 = y) along which a facet set extends, and its global range."""
    mesh = bundle.mesh
    verts = dmesh.entities_to_geometry(mesh, 1, facets.astype(np.int32))
    x = mesh.geometry.x[verts.ravel(), :2] if len(facets) else np.zeros((0, 2))
    lo = np.array([mesh.comm.allreduce(float(x[:, i].min()) if len(x) else np.inf, op=MPI.MIN) for i in range(2)])
    hi = np.array([mesh.comm.allreduce(float(x[:, i].max()) if len(x) else -np.inf, op=MPI.MAX) for i in range(2)])
    axis = int(np.argmax(hi - lo))
    return axis, float(lo[axis]), float(hi[axis])


def _traction(case: Case, bundle: meshes.MeshBundle, t: TractionSpec, key: str) -> Traction:
    facets = MeshFacets(_region(case, bundle, t.boundary, f"{key}.boundary"))
    if t.traction is not None:
        tx, ty = t.traction
        return Traction(facets, value=(tx, ty))
    axis, s0, s1 = _extent(bundle, facets.indices)
    length = s1 - s0
    fx, fy = t.force
    if t.profile == "uniform":
        return Traction(facets, value=(fx / length, fy / length))
    # parabolic: w(s) = 6 (s − s0)(s1 − s) / L³, ∫ w ds = 1
    def parabolic(x):
        w = 6.0 * (x[axis] - s0) * (s1 - x[axis]) / length**3
        return (fx * w, fy * w)

    return Traction(facets, value=parabolic)


def build_boundary(case: Case, bundle: meshes.MeshBundle) -> tuple[list[Dirichlet], list[Traction]]:
    """Dirichlet conditions and tractions of a continuum case (``[boundary]``), as the
    solver-agnostic :mod:`learned.boundary` objects on this mesh's facets (or a point)."""
    spec = case.spec
    dirichlet: list[Dirichlet] = []
    for i, d in enumerate(spec.boundary.dirichlet):
        key = f"boundary.dirichlet[{i}]"
        if d.boundary == "point":
            where = Point(tuple(d.point))
        else:
            where = MeshFacets(_region(case, bundle, d.boundary, f"{key}.boundary"))
        dirichlet.append(Dirichlet(where, ux=d.ux, uy=d.uy))
    tractions = [_traction(case, bundle, t, f"boundary.traction[{i}]") for i, t in enumerate(spec.boundary.traction)]
    return dirichlet, tractions


def build_problem(case: Case, comm: MPI.Comm = MPI.COMM_WORLD) -> tuple[ContinuumProblem, meshes.MeshBundle]:
    """The :class:`ContinuumProblem` and mesh of a validated FEM case."""
    spec: FemCase = case.spec
    bundle = build_mesh(case, comm)
    law = build_law(case, spec.material)
    dirichlet, tractions = build_boundary(case, bundle)
    problem = ContinuumProblem(
        bundle.mesh,
        law,
        degree=spec.fem.degree,
        quadrature_degree=spec.fem.quadrature_degree,
        density=spec.material.density,
        gravity=spec.gravity,
        dirichlet=dirichlet,
        tractions=tractions,
        linear_solver=spec.fem.linear_solver,
    )
    return problem, bundle
