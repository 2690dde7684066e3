"""Case schema of the Numerical Manifold Method (solver = "nmm").

The physical domain (a rectangle or polygon, with holes) is covered by a mathematical cover
mesh that need not follow it, nor the cracks and joints that cut it. Boundary parts are
named (``left``, ``right``, ``bottom``, ``top``: the sides of the domain's bounding box;
``outer``: the whole outer boundary; ``holes``, ``holes[k]``) or given as a segment
``where = [[x0, y0], [x1, y1]]`` (the parts of the boundary lying on it).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, PositiveFloat, PositiveInt, model_validator
from pydantic_core import PydanticCustomError

from coupling.case.common import CaseSpec, FilePath, JointLawSpec, MaterialSpec, RestartOutputSpec, Strict, Vec2, refuse_limits, refuse_support_gap
from coupling.case.fem import ProbeSpec, check_unique_probe_names

Segment = tuple[Vec2, Vec2]


class NmmOutputSpec(RestartOutputSpec):
    """``[output]`` of an NMM case (static or dynamic): the shared options, restart checkpoints and
    the length over which a joint's normal traction is averaged for its reported maximum."""

    joint_stress_length: PositiveFloat = Field(
        0.5, description="results.joints[].max_normal_stress is the largest mean normal traction over this "
                         "length of the joint [m] (the point values of the penalty traction scatter within a "
                         "cell; nmm.contact.JointContact.window_normal_stress)")


# ---------------------------------------------------------------------------- domain
class CircleHole(Strict):
    """A circular hole, modelled as a regular polygon with ``segments`` chords."""

    kind: Literal["circle"]
    center: Vec2 = Field(description="centre [m]")
    radius: PositiveFloat = Field(description="radius [m]")
    segments: int = Field(64, ge=8, le=4096, description="chords of the inscribed polygon")


class PolygonHole(Strict):
    """A polygonal hole: vertices [m]."""

    kind: Literal["polygon"]
    points: list[Vec2] = Field(min_length=3, description="vertices [m]")


HoleSpec = Annotated[Union[CircleHole, PolygonHole], Field(discriminator="kind")]


class RectangleDomain(Strict):
    """A rectangular domain: size (length, height) [m] from ``origin``, optional holes."""

    kind: Literal["rectangle"]
    size: tuple[PositiveFloat, PositiveFloat] = Field(description="length and height [m]")
    origin: Vec2 = (0.0, 0.0)
    holes: list[HoleSpec] = []


class PolygonDomain(Strict):
    """A polygonal domain: outer vertices [m], optional holes."""

    kind: Literal["polygon"]
    points: list[Vec2] = Field(min_length=3, description="outer boundary vertices [m]")
    holes: list[HoleSpec] = []


DomainSpec = Annotated[Union[RectangleDomain, PolygonDomain], Field(discriminator="kind")]


# ---------------------------------------------------------------------------- cover mesh
class RectangleCover(Strict):
    """Structured cover: cells × 2 triangles over the box (default: the domain's bounding box)."""

    kind: Literal["rectangle"]
    cells: tuple[PositiveInt, PositiveInt] = Field(description="cells along x and y")
    origin: Vec2 | None = Field(None, description="lower-left corner [m] (default: the domain's)")
    size: tuple[PositiveFloat, PositiveFloat] | None = Field(None, description="[m] (default: the domain's)")
    diagonal: Literal["alternate", "right"] = "alternate"


class GradedCover(Strict):
    """Tensor-product cover graded geometrically from h_min at ``center`` to h_max."""

    kind: Literal["graded"]
    h_min: PositiveFloat = Field(description="smallest cell size, at the centre [m]")
    h_max: PositiveFloat = Field(description="largest cell size [m]")
    growth: float = Field(1.2, ge=1.0, le=3.0, description="size ratio of neighbouring cells")
    center: Vec2 | None = Field(None, description="refinement point [m] (default: the first crack tip, "
                                                  "else the centre of the first hole, else of the domain)")
    origin: Vec2 | None = None
    size: tuple[PositiveFloat, PositiveFloat] | None = None

    @model_validator(mode="after")
    def _sizes(self) -> "GradedCover":
        if self.h_max < self.h_min:
            raise ValueError(f"h_max ({self.h_max}) must not be smaller than h_min ({self.h_min})")
        return self


class FileCover(Strict):
    """Cover triangles from a mesh file (any format meshio reads, e.g. gmsh .msh)."""

    kind: Literal["file"]
    path: FilePath = Field(description="path relative to the case file")


CoverSpec = Annotated[Union[RectangleCover, GradedCover, FileCover], Field(discriminator="kind")]


# ---------------------------------------------------------------------------- discontinuities
class CrackSpec(Strict):
    """A traction-free crack (polyline). Ends inside the domain are crack tips (SIFs)."""

    points: list[Vec2] = Field(min_length=2, description="polyline vertices [m]")
    name: str = ""
    reference_KI: float | None = Field(None, description="expected K_I at its tip(s) [Pa m^0.5]")
    reference_KII: float | None = Field(None, description="expected K_II at its tip(s) [Pa m^0.5]")


class JointSpec(Strict):
    """A joint (polyline) with contact and friction. Parts crossing holes are dropped."""

    points: list[Vec2] = Field(min_length=2, description="polyline vertices [m]")
    name: str = ""
    law: JointLawSpec
    kn: PositiveFloat | None = Field(None, description="normal stiffness [Pa/m] (default 100 E/h)")
    ks: PositiveFloat | None = Field(None, description="shear stiffness [Pa/m] (default kn/2.5)")


# ---------------------------------------------------------------------------- loads and supports
class _Where(Strict):
    boundary: str | None = Field(None, description="left|right|bottom|top|outer|holes|holes[k]")
    where: Segment | None = Field(None, description="segment [[x0, y0], [x1, y1]] [m]")

    @model_validator(mode="after")
    def _one_place(self):
        if (self.boundary is None) == (self.where is None):
            raise ValueError("give exactly one of boundary or where")
        return self


class _Displacement(Strict):
    """Prescribed displacement components; at least one is given."""

    ux: float | None = Field(None, description="[m]")
    uy: float | None = Field(None, description="[m]")

    @model_validator(mode="after")
    def _something(self):
        if self.ux is None and self.uy is None:
            raise ValueError("give ux, uy or both")
        return self


class NmmDirichletSpec(_Where, _Displacement):
    """Prescribed displacement [m] on a named boundary part or a segment ``where``."""


class NmmTractionSpec(_Where):
    """A traction [Pa], pressure [Pa], resultant force [N/m] or the in-situ traction on a boundary part."""

    traction: Vec2 | None = Field(None, description="uniform traction [Pa]")
    force: Vec2 | None = Field(None, description="resultant force per unit thickness [N/m]")
    profile: Literal["uniform", "parabolic"] = "uniform"
    pressure: float | None = Field(None, description="normal pressure [Pa], > 0 pushes on the body")
    in_situ: bool = Field(False, description="the traction sigma0 . n of the initial stress")

    @model_validator(mode="after")
    def _one(self):
        given = [self.traction is not None, self.force is not None, self.pressure is not None, self.in_situ]
        if sum(given) != 1:
            raise ValueError("give exactly one of traction, force, pressure or in_situ = true")
        if self.force is None and self.profile != "uniform":
            raise ValueError("profile applies to force only")
        return self


class PointSupportSpec(_Displacement):
    """A prescribed displacement at a point (penalty spring, as DDA's fixed points)."""

    point: Vec2


class PointLoadSpec(Strict):
    """A point force [N per m thickness] at a point [m]."""

    point: Vec2
    force: Vec2 = Field(description="[N per m thickness]")


class NmmBoundarySpec(Strict):
    """The ``[boundary]`` table of an NMM case."""

    dirichlet: list[NmmDirichletSpec] = []
    traction: list[NmmTractionSpec] = []
    point: list[PointSupportSpec] = []
    point_load: list[PointLoadSpec] = []


# ---------------------------------------------------------------------------- initial stress
class UniformStress(Strict):
    """A uniform initial stress (σxx, σyy, τxy) [Pa], tension > 0."""

    kind: Literal["uniform"]
    stress: tuple[float, float, float] = Field(description="(sigma_xx, sigma_yy, tau_xy) [Pa], tension > 0")


class GeostaticStress(Strict):
    """σ_yy = −(surcharge + γ (surface − y)), σ_xx = k0 σ_yy, τ_xy = 0."""

    kind: Literal["geostatic"]
    surface: float = Field(description="elevation y of the ground surface [m]")
    k0: float = Field(gt=0, description="horizontal / vertical stress ratio [-]")
    unit_weight: float | None = Field(None, ge=0, description="γ [N/m^3] (default density * |gravity|)")
    surcharge: float = Field(0.0, description="vertical stress at the surface [Pa] (> 0: compression)")


InitialStressSpec = Annotated[Union[UniformStress, GeostaticStress], Field(discriminator="kind")]


# ---------------------------------------------------------------------------- solver options
class NmmNewtonSpec(Strict):
    """The ``[nmm.newton]`` table: ‖R_k‖ ≤ max(atol, rtol ‖R₀‖) per load step (as ``[fem.newton]``)."""

    rtol: float = Field(1e-9, gt=0, lt=1, description="relative residual tolerance: ‖R_k‖ ≤ rtol ‖R₀‖, "
                        "R₀ the residual at the load step's first iteration")
    atol: float = Field(1e-10, ge=0, description="absolute residual tolerance [N]")
    max_iterations: int = Field(30, ge=1, description="Newton / open-close iterations per load step")


class NmmSpec(Strict):
    """The ``[nmm]`` table: cover order, Nitsche penalty, stabilisation, load steps, Newton."""

    order: Literal[0, 1] = Field(1, description="cover functions: 0 constant, 1 linear")
    penalty: float = Field(100.0, gt=0, description="Nitsche / point-spring factor beta [-]")
    stabilisation: float = Field(1e-8, ge=0, lt=1, description="order-1 null-mode stabilisation delta [-]")
    load_steps: int = Field(1, ge=1, le=100_000, description="proportional load steps (static runs; at most 100,000)")
    duration: PositiveFloat | None = Field(
        None, description="simulated time [s]: given, the run is dynamic (implicit, Shi's DDA scheme; loads, "
                          "gravity and initial stress applied at t = 0 and held, from rest); omitted: static")
    dt: PositiveFloat | None = Field(None, description="time step [s] of a dynamic run (divides duration); a step "
                                     "whose Newton / open-close iteration does not settle is cut in halves, at "
                                     "most 4 times")
    output_interval: PositiveFloat | None = Field(
        None, description="time between VTU frames of a dynamic run [s]; default 50 frames")
    newton: NmmNewtonSpec = NmmNewtonSpec()

    @property
    def dynamic(self) -> bool:
        """Whether this is a dynamic run (``duration`` and ``dt`` given)."""
        return self.duration is not None

    @property
    def time_steps(self) -> int:
        """Number of time steps of a dynamic run: duration / dt."""
        return round(self.duration / self.dt) if self.duration is not None else 0


class SifSpec(Strict):
    """The ``[sif]`` table: stress intensity factors by the interaction integral."""

    compute: bool = Field(True, description="stress intensity factors at every crack tip")
    r_out: PositiveFloat | None = Field(None, description="outer radius of the integration annulus [m]")
    r_in_ratio: float = Field(0.3, gt=0, lt=1, description="inner / outer radius")


class NmmCase(CaseSpec):
    """A 2D body solved by the Numerical Manifold Method (cracks and joints need no mesh)."""

    solver: Literal["nmm"]
    output: NmmOutputSpec = NmmOutputSpec()
    domain: DomainSpec
    cover: CoverSpec
    material: MaterialSpec
    nmm: NmmSpec = NmmSpec()
    cracks: list[CrackSpec] = []
    joints: list[JointSpec] = []
    gravity: Vec2 = Field((0.0, 0.0), description="body acceleration [m/s^2] (uses density)")
    body_force: Vec2 = Field((0.0, 0.0), description="body force [N/m^3]")
    initial_stress: InitialStressSpec | None = None
    boundary: NmmBoundarySpec = NmmBoundarySpec()
    probes: list[ProbeSpec] = []
    sif: SifSpec = SifSpec()

    @model_validator(mode="after")
    def _unique_probe_names(self) -> "NmmCase":
        check_unique_probe_names(self.probes)
        return self

    @model_validator(mode="after")
    def _nmm_limits(self) -> "NmmCase":
        refuse_limits(self, ("max_blocks",), "omitted: DDA blocks only; limits.max_cells and max_memory_gb bound "
                      "this case")
        return self

    @model_validator(mode="after")
    def _supported(self) -> "NmmCase":
        """A static run needs a support (boundary.dirichlet or boundary.point): without one the
        body is free to move as a rigid body (before session 18: ``check`` ok, then the Newton /
        open-close iteration diverged, exit 3). A dynamic run may fly free."""
        if self.nmm.duration is None and not self.boundary.dirichlet and not self.boundary.point:
            raise PydanticCustomError(
                "value_error", "{key}: found {value}; allowed: {allowed}",
                {"key": "boundary.dirichlet", "value": "no support in a static run (the body could move as a "
                 "rigid body: the static solve is singular)", "allowed": "at least one [[boundary.dirichlet]] or "
                 "[[boundary.point]], or a dynamic run (nmm.duration, nmm.dt)"})
        if self.nmm.duration is None:
            b = self.boundary
            refuse_support_gap([(d.ux, d.uy, None) for d in b.dirichlet] + [(p.ux, p.uy, p.point) for p in b.point],
                               "boundary.dirichlet" if b.dirichlet else "boundary.point",
                               "supports that hold ux somewhere, uy somewhere and the rotation (a boundary segment "
                               "or two points), or a dynamic run (nmm.duration, nmm.dt)")
        return self

    @model_validator(mode="after")
    def _time_keys(self) -> "NmmCase":
        """Dynamic runs: duration and dt together, dt dividing duration; the static and dynamic
        keys not mixed (load_steps / output_interval, restart checkpoints)."""
        def refuse(key: str, value, allowed: str):
            return PydanticCustomError("value_error", "{key}: found {value}; allowed: {allowed}",
                                       {"key": key, "value": repr(value), "allowed": allowed})

        n = self.nmm
        if n.duration is None and n.dt is not None:
            raise refuse("nmm.dt", n.dt, "nmm.dt together with nmm.duration (a dynamic run), or neither (static)")
        if n.duration is not None and n.dt is None:
            raise refuse("nmm.duration", n.duration, "nmm.duration together with nmm.dt (a dynamic run), "
                         "or neither (static)")
        if n.duration is None:
            if n.output_interval is not None:
                raise refuse("nmm.output_interval", n.output_interval, "a dynamic run (nmm.duration and nmm.dt)")
            for key in ("restart_every_steps", "restart_every_seconds"):
                if getattr(self.output, key) is not None:
                    raise refuse(f"output.{key}", getattr(self.output, key),
                                 "a dynamic run (nmm.duration and nmm.dt); a static run has no restart")
            return self
        if "load_steps" in n.model_fields_set:
            raise refuse("nmm.load_steps", n.load_steps, "a static run; a dynamic run (nmm.duration) applies the "
                         "loads at t = 0")
        ratio = n.duration / n.dt
        if not ratio <= 10_000_000.5:  # also inf (1e308 / 1e-308)
            raise refuse("nmm.dt", n.dt, f"a time step giving at most 10,000,000 steps in nmm.duration "
                         f"(here {ratio:.3g})")
        steps = round(ratio)
        if steps < 1 or abs(steps * n.dt - n.duration) > 1e-9 * n.duration:
            raise refuse("nmm.dt", n.dt, f"a time step dividing nmm.duration ({n.duration:g} s) into whole steps")
        density = getattr(self.material, "density", None)
        if density is not None and not density > 0:
            raise refuse("material.density", density, "> 0 kg/m^3 in a dynamic run (nmm.duration)")
        return self
