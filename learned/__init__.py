"""learned — constitutive manifolds: the law interface, analytic and neural laws.

This package imports nothing else of deepmanifold. Every solver (FEM, DDA, NMM) talks to a
material only through :class:`ConstitutiveLaw` (continuum, σ = f(ε)) and
:class:`JointLaw` (discontinuities, τ_max = g(σ_n, slip, slip rate)).
"""

from learned.law import ConstitutiveLaw, LawResponse, Plane
from learned.elastic import LinearElastic, PowerLawElastic
from learned.joint import (
    JointLaw,
    JointResponse,
    CoulombFriction,
    DisplacementWeakeningFriction,
    VelocityWeakeningFriction,
)

__all__ = [
    "ConstitutiveLaw",
    "LawResponse",
    "Plane",
    "LinearElastic",
    "PowerLawElastic",
    "JointLaw",
    "JointResponse",
    "CoulombFriction",
    "DisplacementWeakeningFriction",
    "VelocityWeakeningFriction",
]
