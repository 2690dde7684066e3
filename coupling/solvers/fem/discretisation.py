"""What every FEM solver of the continuum shares: spaces, quadrature points, loads, BCs, KSP.

Displacements are vector Lagrange P_k; material quantities (strain, stress, tangent) live in
quadrature-element spaces whose points are the quadrature points of ``dx`` — so a law (or a
projection onto a learned manifold) is evaluated exactly where the forms integrate.

Boundary conditions are the solver-agnostic :class:`learned.boundary.Dirichlet` and
:class:`~learned.boundary.Traction` (NMM takes the same objects). The FEM mesh is
boundary-fitted, so a boundary part becomes a set of mesh entities (:meth:`Discretisation.entities`:
given facets or vertices, the boundary facets lying on a :class:`~learned.boundary.Segment`,
the vertex nearest to a :class:`~learned.boundary.Point`), Dirichlet values are imposed
strongly on the dofs there (constants, scaled by the load factor), and traction values
become UFL expressions of the ``SpatialCoordinate`` integrated exactly by the form compiler.
"""

from __future__ import annotations

from typing import Any, Sequence

import dolfinx_solver  # noqa: F401
import basix
import basix.ufl
import numpy as np
import ufl
from dolfinx import fem, la
from dolfinx import mesh as dmesh
from mpi4py import MPI
from petsc4py import PETSc

from learned.boundary import Dirichlet, MeshFacets, MeshVertices, Point, Segment, Traction, as_part

__all__ = ["Dirichlet", "Traction", "Discretisation", "voigt_strain"]


def voigt_strain(u: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """(ε_xx, ε_yy, γ_xy) of a 2D displacement."""
    e = ufl.sym(ufl.grad(u))
    return ufl.as_vector([e[0, 0], e[1, 1], 2 * e[0, 1]])


class Discretisation:
    """P_k displacement space, quadrature spaces and load/BC forms on one mesh."""

    def __init__(self, mesh: dmesh.Mesh, degree: int = 2, quadrature_degree: int | None = None) -> None:
        self.mesh, self.comm = mesh, mesh.comm
        self.degree = degree
        self.qdeg = quadrature_degree or 2 * degree
        self.V = fem.functionspace(mesh, ("Lagrange", degree, (2,)))
        cell = basix.CellType.triangle
        self.q_points, self.q_weights = basix.make_quadrature(cell, self.qdeg)
        self.Qs = fem.functionspace(mesh, basix.ufl.quadrature_element(cell, value_shape=(3,), scheme="default", degree=self.qdeg))
        self.Qt = fem.functionspace(mesh, basix.ufl.quadrature_element(cell, value_shape=(3, 3), scheme="default", degree=self.qdeg))
        imap = mesh.topology.index_map(2)
        # material data lives on the owned cells' points; ghosts are filled by scatter
        self.cells = np.arange(imap.size_local, dtype=np.int32)
        self.n_points = imap.size_local * len(self.q_points)
        self.q_dofs = self.Qs.dofmap.list[self.cells].ravel()
        self.dx = ufl.Measure("dx", domain=mesh, metadata={"quadrature_degree": self.qdeg, "quadrature_scheme": "default"})

    # ------------------------------------------------------------------ quadrature data
    def strain_expression(self, u: fem.Function) -> fem.Expression:
        """The expression of Voigt ε(u) at the quadrature points."""
        return fem.Expression(voigt_strain(u), self.q_points)

    def at_points(self, expr: fem.Expression) -> np.ndarray:
        """Evaluate a Voigt-vector expression at the owned quadrature points, (n, 3)."""
        return expr.eval(self.mesh, self.cells).reshape(-1, 3)

    def set_points(self, f: fem.Function, values: np.ndarray) -> None:
        """Fill a quadrature function from (n, k) owned-point values; ghosts by scatter."""
        bs = f.function_space.dofmap.index_map_bs
        f.x.array.reshape(-1, bs)[self.q_dofs] = np.asarray(values, dtype=float).reshape(len(self.q_dofs), bs)
        f.x.scatter_forward()

    @property
    def num_dofs(self) -> int:
        """Global number of displacement degrees of freedom."""
        return self.V.dofmap.index_map.size_global * self.V.dofmap.index_map_bs

    @property
    def num_quadrature_points(self) -> int:
        """Global number of quadrature points."""
        return self.mesh.topology.index_map(2).size_global * len(self.q_points)

    # ------------------------------------------------------------------ loads and BCs
    def entities(self, where: Any) -> tuple[int, np.ndarray]:
        """(dimension, local indices) of the mesh entities of a boundary part: facets (dim 1)
        for :class:`MeshFacets` and a :class:`Segment` (the boundary facets whose vertices lie
        on it, distance ≤ 1e-10 of its length), vertices (dim 0) for :class:`MeshVertices`
        and a :class:`Point` (the vertex nearest to it, the same on every rank count)."""
        part = as_part(where)
        mesh = self.mesh
        if isinstance(part, MeshFacets):
            return 1, np.asarray(part.indices, dtype=np.int32)
        if isinstance(part, MeshVertices):
            return 0, np.asarray(part.indices, dtype=np.int32)
        if isinstance(part, Segment):
            a, b = part.points()
            d = b - a
            length = float(np.linalg.norm(d))
            tol = 1e-10 * length

            def on_segment(x: np.ndarray) -> np.ndarray:
                r = x[:2].T - a
                t = r @ d / length
                return (np.abs(r[:, 0] * d[1] - r[:, 1] * d[0]) / length <= tol) & (t >= -tol) & (t <= length + tol)

            mesh.topology.create_connectivity(1, 2)
            return 1, dmesh.locate_entities_boundary(mesh, 1, on_segment).astype(np.int32)
        assert isinstance(part, Point)
        mesh.topology.create_connectivity(0, 2)
        n_vert = mesh.topology.index_map(0).size_local
        verts = np.arange(n_vert, dtype=np.int32)
        x = mesh.geometry.x[dmesh.entities_to_geometry(mesh, 0, verts).ravel(), :2]
        dist = np.linalg.norm(x - np.asarray(part.x), axis=1) if n_vert else np.array([np.inf])
        dmin = mesh.comm.allreduce(float(dist.min()), op=MPI.MIN)
        return 0, (verts[dist <= dmin * (1 + 1e-12) + 1e-14] if n_vert else verts)

    def external_work(self, v, density: float, gravity: Sequence[float], tractions: Sequence[Traction]):
        """f(v) = ∫ ρ g · v dx + Σ ∫ t · v ds, t = value(x) or −p n (``pressure``).

        All tractions share one facet-tag object (DOLFINx integrates one ``ds`` subdomain
        data per form); a facet loaded by several tractions gets a marker for that set.
        """
        mesh = self.mesh
        x = ufl.SpatialCoordinate(mesh)
        work = ufl.inner(fem.Constant(mesh, np.asarray(gravity, dtype=float)) * density, v) * self.dx
        if not tractions:
            return work
        # marker of a facet = 1 + bitmask of the tractions acting on it (the same on every rank)
        mask: dict[int, int] = {}
        for i, t in enumerate(tractions):
            dim, facets = self.entities(t.where)
            if dim != 1:
                raise ValueError(f"a traction acts on facets or a segment, not on {type(t.where).__name__}")
            for f in np.asarray(facets, dtype=np.int64).tolist():
                mask[f] = mask.get(f, 0) | (1 << i)
        facets = np.array(sorted(mask), dtype=np.int32)
        values = np.array([1 + mask[f] for f in facets.tolist()], dtype=np.int32)
        tags = dmesh.meshtags(mesh, 1, facets, values)
        ds = ufl.Measure("ds", domain=mesh, subdomain_data=tags)
        present = sorted({m for part in self.comm.allgather(sorted(set(values.tolist()))) for m in part})
        for i, t in enumerate(tractions):
            ids = tuple(m for m in present if (m - 1) >> i & 1)
            if ids:
                work += ufl.inner(self.traction_expression(t, x), v) * ds(ids)
        return work

    def traction_expression(self, t: Traction, x: ufl.SpatialCoordinate) -> ufl.core.expr.Expr:
        """The traction vector t(x) (2,) [Pa] of a :class:`Traction` as a UFL expression."""
        if t.in_situ:
            raise ValueError("in_situ traction: the FEM solver has no initial stress")
        if t.pressure is not None:
            return -float(t.pressure) * ufl.FacetNormal(self.mesh)
        out = t.value(x) if callable(t.value) else t.value
        return ufl.as_vector([out[0], out[1]])

    def dirichlet_bcs(self, dirichlet: Sequence[Dirichlet], homogeneous: bool = False):
        """DOLFINx DirichletBC objects, one per prescribed component, and their (Constant,
        value) pairs for load scaling; values are constants [m]."""
        bcs, values = [], []
        for d in dirichlet:
            dim, entities = self.entities(d.where)
            for component, value in d.components():
                if callable(value):
                    raise ValueError("the FEM solver takes constant Dirichlet values [m]")
                sub = self.V.sub(component)
                dofs = fem.locate_dofs_topological(sub, dim, entities)
                c = fem.Constant(self.mesh, PETSc.ScalarType(0.0 if homogeneous else value))
                bcs.append(fem.dirichletbc(c, dofs, sub))
                values.append((c, value))
        return bcs, values

    # ------------------------------------------------------------------ linear solver
    def make_ksp(self, A: PETSc.Mat, kind: str = "mumps") -> PETSc.KSP:
        """MUMPS LU, or CG + GAMG with the rigid-body near-nullspace."""
        ksp = PETSc.KSP().create(self.comm)
        ksp.setOperators(A)
        if kind == "mumps":
            ksp.setType("preonly")
            ksp.getPC().setType("lu")
            ksp.getPC().setFactorSolverType("mumps")
        elif kind == "cg":
            ksp.setType("cg")
            ksp.getPC().setType("gamg")
            ksp.setTolerances(rtol=1e-12, atol=1e-50, max_it=2000)
            A.setNearNullSpace(self.rigid_body_modes())
        else:
            raise ValueError(f"linear_solver must be 'mumps' or 'cg', got {kind!r}")
        return ksp

    def rigid_body_modes(self) -> PETSc.NullSpace:
        """Translations and the in-plane rotation, the near-nullspace for GAMG."""
        x = self.V.tabulate_dof_coordinates()
        modes = [fem.Function(self.V) for _ in range(3)]
        modes[0].x.array.reshape(-1, 2)[:, 0] = 1.0
        modes[1].x.array.reshape(-1, 2)[:, 1] = 1.0
        rot = modes[2].x.array.reshape(-1, 2)
        rot[:, 0], rot[:, 1] = -x[:, 1], x[:, 0]
        la.orthonormalize([m.x for m in modes])
        return PETSc.NullSpace().create(vectors=[m.x.petsc_vec for m in modes], comm=self.comm)
