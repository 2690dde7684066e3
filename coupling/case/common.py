"""Schema pieces shared by every case kind: strict models, materials, output options."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from learned import ConstitutiveLaw, LinearElastic, PowerLawElastic


class Strict(BaseModel):
    """Base of every case-file table: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


Plane = Literal["strain", "stress"]
Vec2 = tuple[float, float]


class LinearElasticSpec(Strict):
    """Isotropic linear elasticity."""

    law: Literal["linear_elastic"]
    E: float = Field(gt=0, description="Young's modulus [Pa]")
    nu: float = Field(gt=-1, lt=0.5, description="Poisson's ratio [-]")
    plane: Plane = Field("strain", description="plane strain or plane stress")
    density: float = Field(0.0, ge=0, description="mass density [kg/m^3]")

    def build(self) -> ConstitutiveLaw:
        return LinearElastic(self.E, self.nu, self.plane)


class PowerLawElasticSpec(Strict):
    """Power-law (Ramberg–Osgood-type) nonlinear elasticity, learned.PowerLawElastic."""

    law: Literal["power_law_elastic"]
    E: float = Field(gt=0, description="small-strain Young's modulus [Pa]")
    nu: float = Field(gt=-1, lt=0.5, description="Poisson's ratio [-]")
    strain0: float = Field(gt=0, description="reference equivalent strain [-]")
    exponent: float = Field(gt=0, le=1, description="hardening exponent n [-]")
    plane: Plane = "strain"
    density: float = Field(0.0, ge=0, description="mass density [kg/m^3]")

    def build(self) -> ConstitutiveLaw:
        return PowerLawElastic(self.E, self.nu, self.strain0, self.exponent, self.plane)


MaterialSpec = Annotated[Union[LinearElasticSpec, PowerLawElasticSpec], Field(discriminator="law")]


class OutputSpec(Strict):
    """What a run writes besides summary.json."""

    fields: bool = Field(True, description="field files for ParaView")
    plots: bool = Field(True, description="PNG plots")
    deformation_scale: float | None = Field(
        None, gt=0, description="displacement magnification in plots (auto when omitted)"
    )


class CaseSpec(Strict):
    """Keys every case file has."""

    title: str
    description: str = ""
    solver: str
    output: OutputSpec = OutputSpec()


class FixedPointSpec(Strict):
    """The fixed-point engine (coupling.fixed_point), configured by name."""

    method: Literal["constant", "aitken", "anderson"] = Field("anderson", description="acceleration scheme")
    relaxation: float = Field(1.0, gt=0, le=2, description="ω of constant relaxation, β of Anderson, ω₀ of Aitken")
    depth: int = Field(5, ge=1, le=50, description="Anderson history length m")
    rtol: float = Field(1e-8, gt=0, lt=1, description="stop when ‖G(x) − x‖ / ‖G(x)‖ ≤ rtol")
    max_iterations: int = Field(200, ge=1)

    def build(self):
        from coupling.fixed_point import make_accelerator

        if self.method == "anderson":
            return make_accelerator("anderson", depth=self.depth, beta=self.relaxation)
        if self.method == "aitken":
            return make_accelerator("aitken", omega0=self.relaxation)
        return make_accelerator("constant", omega=self.relaxation)
