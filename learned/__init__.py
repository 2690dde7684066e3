"""learned — constitutive manifolds: the law interface, analytic and neural laws.

This package imports nothing else of deepmanifold. Every solver (FEM, DDA, NMM) talks to a
material only through :class:`ConstitutiveLaw` (continuum, σ = f(ε)) and
:class:`JointLaw` (discontinuities, τ_max = g(σ_n, slip, slip rate)).

Learned laws (torch is imported only when one of these names is first used):

* data sets     — :func:`generate_dataset`, :func:`generate_joint_dataset`, :func:`save_dataset`,
                  :func:`load_dataset`, :func:`import_csv` (learned/dataset.py)
* models        — :class:`MLP`, :class:`ICNN` (learned/models.py)
* training      — :func:`train`, :func:`write_training_report` (learned/training.py),
                  :func:`train_projection` (errors-in-variables, learned/projection_training.py),
                  :func:`train_joint` (learned/neural_joint.py)
* laws          — :class:`NeuralLaw`, :class:`NeuralJointLaw`; elastoplastic references with
                  state :class:`J2Plasticity`, :class:`DruckerPrager` (learned/plasticity.py)
* projection    — :func:`project` onto M = {(e, f(e))} (learned/projection.py)
* checkpoints   — :func:`save_checkpoint`, :func:`load_checkpoint`, :func:`load_law`
* CLI pipeline  — :func:`train_to_checkpoint` (data set → checkpoint + report JSON + loss PNG)
"""

from importlib import import_module
from typing import Any

from learned.law import ConstitutiveLaw, LawResponse, Plane
from learned.elastic import LinearElastic, PowerLawElastic
from learned.plasticity import DruckerPrager, J2Plasticity
from learned.errors import CheckpointError, DataError
from learned.joint import (
    JointLaw,
    JointResponse,
    CoulombFriction,
    DisplacementWeakeningFriction,
    VelocityWeakeningFriction,
)
from learned.thermal_pressurisation import ThermalPressurisationFriction

#: lazily imported names -> module (keeps ``import learned`` free of torch and h5py)
_LAZY = {
    "ConstitutiveDataset": "learned.dataset",
    "JointDataset": "learned.dataset",
    "generate_dataset": "learned.dataset",
    "generate_joint_dataset": "learned.dataset",
    "save_dataset": "learned.dataset",
    "load_dataset": "learned.dataset",
    "import_csv": "learned.dataset",
    "MLP": "learned.models",
    "ICNN": "learned.models",
    "train": "learned.training",
    "write_training_report": "learned.training",
    "resolve_device": "learned.training",
    "train_projection": "learned.projection_training",
    "NeuralLaw": "learned.neural_law",
    "NeuralJointLaw": "learned.neural_joint",
    "FrictionNet": "learned.neural_joint",
    "train_joint": "learned.neural_joint",
    "Projection": "learned.projection",
    "project": "learned.projection",
    "save_checkpoint": "learned.checkpoint",
    "load_checkpoint": "learned.checkpoint",
    "load_law": "learned.checkpoint",
    "train_to_checkpoint": "learned.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'learned' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ConstitutiveLaw",
    "LawResponse",
    "Plane",
    "LinearElastic",
    "PowerLawElastic",
    "J2Plasticity",
    "DruckerPrager",
    "JointLaw",
    "JointResponse",
    "CoulombFriction",
    "DisplacementWeakeningFriction",
    "VelocityWeakeningFriction",
    "ThermalPressurisationFriction",
    "DataError",
    "CheckpointError",
    *_LAZY,
]
