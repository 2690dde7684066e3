"""Case schema of the data-driven projection solver (solver = "data_driven")."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from coupling.case.common import FilePath, FixedPointSpec, MaterialSpec, Plane, Strict
from coupling.case.fem import ContinuumCase


class ManifoldData(Strict):
    """A continuous material manifold {(ε, f(ε))}: any law, analytic or learned (checkpoint)."""

    kind: Literal["manifold"]
    law: MaterialSpec = Field(description="any law; a law with state (j2_plasticity, drucker_prager, a "
                                          "return-mapping checkpoint) gives the admissible set of each load step "
                                          "from the state of the last converged step (fem.load_path)")


class DiscreteData(Strict):
    """A discrete data set of (ε, σ) pairs (HDF5, learned/ layout): the classical baseline."""

    kind: Literal["discrete"]
    dataset: FilePath = Field(description="HDF5 data set, relative to the case file")


DataSpec = Annotated[Union[ManifoldData, DiscreteData], Field(discriminator="kind")]


class StiffnessSpec(Strict):
    """Numerical stiffness C of the metric ½|ε|²_C + ½|σ|²_C⁻¹ (isotropic)."""

    E: float = Field(gt=0, description="[Pa]")
    nu: float = Field(gt=-1, lt=0.5)
    plane: Plane = "strain"


class DataDrivenCase(ContinuumCase):
    """Equilibrium states closest to material data (Kirchdoerfer–Ortiz with a manifold)."""

    solver: Literal["data_driven"]
    data: DataSpec
    stiffness: StiffnessSpec | None = Field(
        None, description="metric stiffness C; default: the manifold law's small-strain stiffness, "
                          "or the least-squares linear fit of a discrete data set"
    )
    density: float = Field(0.0, ge=0, description="mass density [kg/m^3] for gravity")
    fixed_point: FixedPointSpec = FixedPointSpec()

    @model_validator(mode="after")
    def _load_path_needs_a_manifold(self) -> "DataDrivenCase":
        # a discrete data set has no state to carry between steps; a path of one law is solved
        # step by step (DataDrivenProblem.solve_path: state committed at each converged step)
        if self.fem.load_path is not None and isinstance(self.data, DiscreteData):
            raise ValueError("fem.load_path needs data.kind = \"manifold\" (a law, possibly with history); "
                             "a discrete data set is solved at the full load at once")
        return self
