"""Schema pieces shared by every case kind: strict models, materials, output options."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class CheckpointLawSpec(Strict):
    """A trained network (``deepmanifold train``) as the material: learned.NeuralLaw."""

    law: Literal["checkpoint"]
    path: str = Field(description="checkpoint file, relative to the case file")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="where the network runs")
    density: float = Field(0.0, ge=0, description="mass density [kg/m^3]")

    def build(self) -> ConstitutiveLaw:
        raise RuntimeError("a checkpoint law is built with build_law(case, spec, key)")


MaterialSpec = Annotated[Union[LinearElasticSpec, PowerLawElasticSpec, CheckpointLawSpec], Field(discriminator="law")]


def load_checkpoint_law(case, path_text: str, device: str, key: str, kind: str):
    """Load a learned law named by a case file; errors name the case file and key path."""
    from learned.checkpoint import load_law
    from learned.errors import CheckpointError

    path = case.resolve(path_text)
    if not path.is_file():
        raise case.error(key, f"model '{path}' not found", "a checkpoint written by 'deepmanifold train'")
    try:
        law = load_law(path, device=device)
    except CheckpointError as exc:
        raise case.error(key, exc.line())
    if isinstance(law, ConstitutiveLaw) != (kind == "constitutive"):
        raise case.error(key, f"'{path}' holds a {'joint' if kind == 'constitutive' else 'constitutive'} model",
                         f"a {kind} checkpoint")
    return law


def build_law(case, spec, key: str = "material") -> ConstitutiveLaw:
    """The ConstitutiveLaw of a material table (analytic, or a checkpoint relative to the case)."""
    if isinstance(spec, CheckpointLawSpec):
        return load_checkpoint_law(case, spec.path, spec.device, f"{key}.path", "constitutive")
    return spec.build()


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


# ---------------------------------------------------------------------------- joint laws
Angle = Annotated[float, Field(ge=0, lt=90, description="friction angle [deg]")]


class _JointLawBase(Strict):
    cohesion: float = Field(0.0, ge=0, description="cohesion c [Pa] (lost once the joint opens or slides)")
    tensile_strength: float = Field(0.0, ge=0, description="tensile strength T [Pa] (lost once broken)")


class CoulombSpec(_JointLawBase):
    """Mohr–Coulomb joint, constant friction: τ_max = c + tan(φ) σ_n (learned.CoulombFriction)."""

    kind: Literal["coulomb"]
    phi: Angle

    def build(self):
        from learned import CoulombFriction

        return CoulombFriction(self.phi, self.cohesion, self.tensile_strength)


class _WeakeningSpec(_JointLawBase):
    phi_peak: Angle
    phi_residual: Angle

    @model_validator(mode="after")
    def _order(self):
        if self.phi_residual > self.phi_peak:
            raise ValueError(f"phi_residual ({self.phi_residual}) must not exceed phi_peak ({self.phi_peak})")
        return self


class DisplacementWeakeningSpec(_WeakeningSpec):
    """μ = μ_r + (μ_p − μ_r) exp(−slip / slip_c) (learned.DisplacementWeakeningFriction)."""

    kind: Literal["displacement_weakening"]
    slip_c: float = Field(gt=0, description="characteristic slip d_c [m]")

    def build(self):
        from learned import DisplacementWeakeningFriction

        return DisplacementWeakeningFriction(self.phi_peak, self.phi_residual, self.slip_c,
                                             self.cohesion, self.tensile_strength)


class VelocityWeakeningSpec(_WeakeningSpec):
    """μ = μ_r + (μ_p − μ_r) exp(−|v| / v_c) (learned.VelocityWeakeningFriction)."""

    kind: Literal["velocity_weakening"]
    v_c: float = Field(gt=0, description="characteristic slip rate [m/s]")

    def build(self):
        from learned import VelocityWeakeningFriction

        return VelocityWeakeningFriction(self.phi_peak, self.phi_residual, self.v_c,
                                         self.cohesion, self.tensile_strength)


class ThermalPressurisationSpec(_WeakeningSpec):
    """τ = c + μ(v)·max(σ_n − p, 0) with shear heating and pore pressure in a band of
    thickness h (learned.ThermalPressurisationFriction; equations in its module docstring)."""

    kind: Literal["thermal_pressurisation"]
    v_c: float = Field(gt=0, description="characteristic slip rate of mu(v) [m/s]")
    band_thickness: float = Field(gt=0, description="shear band thickness h [m]")
    heat_capacity: float = Field(gt=0, description="volumetric heat capacity rho*c [J/(m^3 K)]")
    pressurisation: float = Field(gt=0, description="undrained pore-pressure rise per kelvin Lambda [Pa/K]")
    hydraulic_diffusivity: float = Field(0.0, ge=0, description="alpha_hy [m^2/s]; drainage time h^2/alpha_hy (0: undrained)")

    def build(self):
        from learned import ThermalPressurisationFriction

        return ThermalPressurisationFriction(self.phi_peak, self.phi_residual, self.v_c, self.band_thickness,
                                             self.heat_capacity, self.pressurisation, self.hydraulic_diffusivity,
                                             self.cohesion, self.tensile_strength)


#: A joint law (shear strength of a discontinuity), chosen by ``kind``; ``.build()`` gives
#: the learned.JointLaw. Shared by every solver with joints (NMM, DDA).
class CheckpointJointSpec(Strict):
    """A trained friction network (``deepmanifold train`` on a joint data set)."""

    kind: Literal["checkpoint"]
    path: str = Field(description="checkpoint file, relative to the case file")
    device: Literal["auto", "cpu", "cuda"] = "auto"

    def build(self):
        raise RuntimeError("a checkpoint joint law is built with build_joint_law(case, spec, key)")


JointLawSpec = Annotated[Union[CoulombSpec, DisplacementWeakeningSpec, VelocityWeakeningSpec, ThermalPressurisationSpec,
                               CheckpointJointSpec],
                         Field(discriminator="kind")]


def build_joint_law(case, spec, key: str):
    """The learned.JointLaw of a joint table (analytic, or a checkpoint relative to the case)."""
    if isinstance(spec, CheckpointJointSpec):
        return load_checkpoint_law(case, spec.path, spec.device, f"{key}.path", "joint")
    return spec.build()
