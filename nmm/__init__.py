"""nmm — the Numerical Manifold Method (Shi 1991) in 2D.

Mathematical covers are vertex stars of a triangle mesh that need not follow the domain
boundary, cracks or joints; physical covers are their connected pieces inside the cut
domain; u(x) = Σ_i w_i(x) u_i(x) with constant or linear cover functions. Assembly is
vectorised into PETSc (COO, MPI), solved with MUMPS. Materials come through the
``learned`` law interface. Imports only ``learned`` of deepmanifold.
"""

from nmm.errors import InputError, SolverDivergence
from nmm.geometry import Domain, circle_polygon
from nmm.mesh import CoverMesh
from nmm.discontinuity import Crack, Joint
from nmm.boundary import Dirichlet, DirichletBC, PointConstraint, PointLoad, Traction
from nmm.covers import Manifold, build_manifold
from nmm.model import ManifoldModel
from nmm.result import NMMResult
from nmm.solve import solve_dynamic, solve_static

__all__ = [
    "InputError",
    "SolverDivergence",
    "Domain",
    "circle_polygon",
    "CoverMesh",
    "Crack",
    "Joint",
    "Dirichlet",
    "DirichletBC",
    "PointConstraint",
    "PointLoad",
    "Traction",
    "Manifold",
    "build_manifold",
    "ManifoldModel",
    "NMMResult",
    "solve_static",
    "solve_dynamic",
]
