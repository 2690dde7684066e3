"""Case schema of the FEM continuum (solver = "fem")."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, PositiveFloat, PositiveInt, model_validator
from pydantic_core import PydanticCustomError

from coupling.case.common import CaseSpec, FilePath, MaterialSpec, Strict, Vec2, refuse_limits, refuse_support_gap


class RectangleMesh(Strict):
    """Structured triangle mesh of the box [origin, origin + size]."""

    kind: Literal["rectangle"]
    size: tuple[PositiveFloat, PositiveFloat] = Field(description="length and height [m]")
    origin: Vec2 = (0.0, 0.0)
    cells: tuple[PositiveInt, PositiveInt] = Field(description="cells along x and y")
    diagonal: Literal["right", "left", "crossed"] = "right"


class PlateWithHoleMesh(Strict):
    """Quarter of a plate (width × height) with a central circular hole, meshed with gmsh.

    The quarter occupies [0, width/2] × [0, height/2]; the hole of the given radius is
    centred at the origin. Boundaries: left, bottom (symmetry lines), right, top, hole.
    """

    kind: Literal["plate_with_hole"]
    width: float = Field(gt=0, description="full plate width W [m]")
    height: float = Field(gt=0, description="full plate height [m]")
    radius: float = Field(gt=0, description="hole radius [m]")
    element_size: float = Field(gt=0, description="element size away from the hole [m]")
    hole_element_size: float = Field(gt=0, description="element size on the hole [m]")

    @model_validator(mode="after")
    def _fits(self) -> "PlateWithHoleMesh":
        if self.radius >= min(self.width, self.height) / 2:
            raise ValueError(f"radius {self.radius} must be smaller than half the width and height")
        return self


class FileMesh(Strict):
    """A triangle mesh from a file: gmsh .msh (physical groups name boundaries) or .xdmf."""

    kind: Literal["file"]
    path: FilePath = Field(description="path relative to the case file")


MeshSpec = Annotated[Union[RectangleMesh, PlateWithHoleMesh, FileMesh], Field(discriminator="kind")]


class DirichletSpec(Strict):
    """Prescribed displacement on a boundary (or a single point)."""

    boundary: str = Field(description="left|right|bottom|top, a mesh physical-group name, or 'point'")
    point: Vec2 | None = Field(None, description="with boundary = 'point': the mesh vertex nearest to it")
    ux: float | None = Field(None, description="x displacement [m]")
    uy: float | None = Field(None, description="y displacement [m]")

    @model_validator(mode="after")
    def _something(self) -> "DirichletSpec":
        if self.ux is None and self.uy is None:
            raise ValueError("give ux, uy or both")
        if (self.boundary == "point") != (self.point is not None):
            raise ValueError("use boundary = 'point' together with point = [x, y]")
        return self


class TractionSpec(Strict):
    """Surface load on a boundary: a traction [Pa] or a resultant force [N/m] with a profile."""

    boundary: str
    traction: Vec2 | None = Field(None, description="uniform traction (t_x, t_y) [Pa]")
    force: Vec2 | None = Field(None, description="resultant force per unit thickness [N/m]")
    profile: Literal["uniform", "parabolic"] = Field(
        "uniform", description="distribution of `force` along the boundary"
    )

    @model_validator(mode="after")
    def _one(self) -> "TractionSpec":
        if (self.traction is None) == (self.force is None):
            raise ValueError("give exactly one of traction or force")
        if self.traction is not None and self.profile != "uniform":
            raise ValueError("profile applies to force only")
        return self


class BoundarySpec(Strict):
    """The ``[boundary]`` table: Dirichlet conditions and tractions."""

    dirichlet: list[DirichletSpec] = []
    traction: list[TractionSpec] = []


class NewtonSpec(Strict):
    """The ``[fem.newton]`` table: ‖R‖ ≤ max(atol, rtol ‖R₀‖) per load step, at most max_iterations."""

    rtol: float = Field(1e-8, gt=0, lt=1, description="relative residual tolerance: ‖R_k‖ ≤ rtol ‖R₀‖, "
                        "R₀ the residual at the load step's first iteration (PETSc SNES meaning)")
    atol: float = Field(1e-10, ge=0, description="absolute residual tolerance [N]")
    max_iterations: int = Field(25, ge=1)


class FemSpec(Strict):
    """The ``[fem]`` table: element degree, quadrature, linear solver, load steps, Newton."""

    degree: int = Field(2, ge=1, le=3, description="Lagrange degree of the displacement")
    quadrature_degree: int | None = Field(None, ge=1, le=10, description="default 2*degree")
    linear_solver: Literal["mumps", "cg"] = "mumps"
    load_steps: int = Field(1, ge=1, le=100_000, description="load increments (nonlinear laws); at most 100,000, "
                            "as fem.load_path")
    load_path: list[Annotated[float, Field(ge=-10, le=10)]] | None = Field(
        None, min_length=1, max_length=100_000,
        description="load factor of every step, e.g. [0.5, 1, 0.5, 0] (loading-unloading); replaces load_steps")
    newton: NewtonSpec = NewtonSpec()


class ProbeSpec(Strict):
    """A point value reported in summary.json (and compared with `reference` if given)."""

    name: str
    point: Vec2
    quantity: Literal["ux", "uy", "sxx", "syy", "sxy", "von_mises"]
    reference: float | None = Field(None, description="expected value, for the relative error")


def check_unique_probe_names(probes) -> None:
    """A probe's name keys summary.json ``results.probes``: a repeated name is an error naming the
    second probe (it replaced the first one's value there, silently, before session 16)."""
    first: dict[str, int] = {}
    for i, p in enumerate(probes):
        if p.name in first:
            raise PydanticCustomError(
                "value_error", "{key}: found {value}; allowed: {allowed}",
                {"key": f"probes[{i}].name", "value": repr(p.name),
                 "allowed": f"a name not used by another probe (probes[{first[p.name]}] has it; "
                            "a name keys results.probes)"})
        first[p.name] = i


class ContinuumCase(CaseSpec):
    """Keys of every case on a DOLFINx continuum: mesh, loads, discretisation, probes."""

    mesh: MeshSpec
    gravity: Vec2 = Field((0.0, 0.0), description="body acceleration [m/s^2] (uses density)")
    boundary: BoundarySpec = BoundarySpec()
    fem: FemSpec = FemSpec()
    probes: list[ProbeSpec] = []

    @model_validator(mode="after")
    def _unique_probe_names(self) -> "ContinuumCase":
        check_unique_probe_names(self.probes)
        return self

    @model_validator(mode="after")
    def _continuum_limits(self) -> "ContinuumCase":
        refuse_limits(self, ("max_blocks",), "omitted: DDA blocks only; limits.max_cells and max_memory_gb bound "
                      "this case")
        return self

    @model_validator(mode="after")
    def _supported(self) -> "ContinuumCase":
        """A static solve needs a Dirichlet condition: without one the body is free to move as a
        rigid body and K u = f is singular (before session 18: ``check`` ok, then Newton / the
        fixed point diverged, exit 3)."""
        if not self.boundary.dirichlet:
            raise PydanticCustomError(
                "value_error", "{key}: found {value}; allowed: {allowed}",
                {"key": "boundary.dirichlet", "value": "no Dirichlet condition (the body could move as a rigid "
                 "body: the static solve is singular)", "allowed": "at least one [[boundary.dirichlet]] "
                 "(boundary = left | right | bottom | top, a mesh physical group, or point)"})
        refuse_support_gap([(d.ux, d.uy, d.point if d.boundary == "point" else None) for d in self.boundary.dirichlet],
                           "boundary.dirichlet", "supports that hold ux somewhere, uy somewhere and the rotation "
                           "(a boundary line or two points)")
        return self


class FemCase(ContinuumCase):
    """A 2D continuum solved by the DOLFINx finite element method."""

    solver: Literal["fem"]
    material: MaterialSpec
