"""Analytic isotropic elastic laws, defined in 3D and reduced to plane strain/stress.

Both are hyperelastic (σ = ∂ψ/∂ε), so their tangents are symmetric.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from learned.backend import Array, as_constant
from learned.law import PLANES, ConstitutiveLaw, Plane

# Voigt helpers on (xx, yy, zz, xy) with engineering shear
_M = np.array([1.0, 1.0, 1.0, 0.0])  # trace vector
#: deviatoric projector in engineering Voigt notation: dσ_dev = 2G · _DEV · dε
_DEV = np.array(
    [
        [2 / 3, -1 / 3, -1 / 3, 0.0],
        [-1 / 3, 2 / 3, -1 / 3, 0.0],
        [-1 / 3, -1 / 3, 2 / 3, 0.0],
        [0.0, 0.0, 0.0, 0.5],
    ]
)


def _check_elastic(E: float, nu: float, plane: str) -> None:
    if not E > 0:
        raise ValueError(f"Young's modulus E must be > 0, got {E}")
    if not -1.0 < nu < 0.5:
        raise ValueError(f"Poisson's ratio nu must be in (-1, 0.5), got {nu}")
    if plane not in PLANES:
        raise ValueError(f"plane must be one of {PLANES}, got {plane!r}")


class LinearElastic(ConstitutiveLaw):
    """Isotropic linear elasticity, σ = C ε with C = K m⊗m + 2G·dev.

    E [Pa], nu [-]; K = E / (3(1−2ν)), G = E / (2(1+ν)).
    """

    kind = "linear_elastic"

    def __init__(self, E: float, nu: float, plane: Plane = "strain") -> None:
        _check_elastic(E, nu, plane)
        self.E, self.nu, self.plane = float(E), float(nu), plane
        K = E / (3 * (1 - 2 * nu))
        G = E / (2 * (1 + nu))
        self._C4 = K * np.outer(_M, _M) + 2 * G * _DEV

    def evaluate_3d(self, strain4: Array, state: Array) -> tuple[Array, Array, Array]:
        """σ = C ε on (xx, yy, zz, xy): stress (N,4) [Pa], constant tangent C (N,4,4) [Pa], state unchanged."""
        C = as_constant(self._C4, strain4)
        stress = strain4 @ C.T
        tangent = C.expand(strain4.shape[0], 4, 4) if hasattr(C, "expand") else np.broadcast_to(
            C, (strain4.shape[0], 4, 4)
        )
        return stress, tangent, state

    def describe(self) -> dict[str, Any]:
        """``{kind, plane, E [Pa], nu}`` for summaries."""
        return {"kind": self.kind, "plane": self.plane, "E": self.E, "nu": self.nu}


class PowerLawElastic(ConstitutiveLaw):
    """Nonlinear (deformation-theory) elasticity with a power-law shear response.

    Ramberg–Osgood-type in shear, linear in volume:

        σ = K tr(ε) I + 2 G₀ φ(ε_eq) e,       e = dev ε,  ε_eq = √(2/3 e:e)
        φ(s) = (1 + (s/ε₀)²)^((n−1)/2)

    so the equivalent stress grows like 3G₀ s for s ≪ ε₀ and like s^n for s ≫ ε₀
    (n < 1 softens, n = 1 is linear). It derives from the potential
    ψ = ½K (tr ε)² + ∫₀^{ε_eq} 3G₀ φ(s) s ds, hence the closed-form symmetric tangent

        C = K m⊗m + 2G₀ φ · dev + (4/3) G₀ (φ'(s)/s) e⊗e,
        φ'(s)/s = (n−1)/ε₀² · (1 + (s/ε₀)²)^((n−3)/2).

    E [Pa], nu [-] are the small-strain moduli, strain0 = ε₀ [-], exponent = n ∈ (0, 1].
    """

    kind = "power_law_elastic"

    def __init__(
        self, E: float, nu: float, strain0: float, exponent: float, plane: Plane = "strain"
    ) -> None:
        _check_elastic(E, nu, plane)
        if not strain0 > 0:
            raise ValueError(f"strain0 must be > 0, got {strain0}")
        if not 0 < exponent <= 1:
            raise ValueError(f"exponent must be in (0, 1], got {exponent}")
        self.E, self.nu, self.plane = float(E), float(nu), plane
        self.strain0, self.exponent = float(strain0), float(exponent)
        self.K = E / (3 * (1 - 2 * nu))
        self.G0 = E / (2 * (1 + nu))

    def evaluate_3d(self, strain4: Array, state: Array) -> tuple[Array, Array, Array]:
        """Power-law stress (N,4) [Pa] and consistent tangent (N,4,4) [Pa] on (xx, yy, zz, xy); no state."""
        m = as_constant(_M, strain4)
        dev = as_constant(_DEV, strain4)
        tr = strain4[:, 0] + strain4[:, 1] + strain4[:, 2]
        e = strain4 - (tr / 3)[:, None] * m  # deviator; e[:,3] = γ (engineering)
        e_t = e * as_constant(np.array([1.0, 1.0, 1.0, 0.5]), strain4)  # tensor components
        ee = (e_t[:, :3] ** 2).sum(1) + 2 * e_t[:, 3] ** 2  # e:e
        x2 = (2.0 / 3.0) * ee / self.strain0**2  # (ε_eq/ε₀)²
        n = self.exponent
        phi = (1 + x2) ** ((n - 1) / 2)
        dphi_over_s = (n - 1) / self.strain0**2 * (1 + x2) ** ((n - 3) / 2)
        stress = self.K * tr[:, None] * m + 2 * self.G0 * phi[:, None] * e_t
        tangent = (
            self.K * (m[:, None] * m[None, :])[None]
            + 2 * self.G0 * phi[:, None, None] * dev[None]
            + (4.0 / 3.0) * self.G0 * dphi_over_s[:, None, None] * e_t[:, :, None] * e_t[:, None, :]
        )
        return stress, tangent, state

    def describe(self) -> dict[str, Any]:
        """``{kind, plane, E [Pa], nu, strain0, exponent}`` for summaries."""
        return {
            "kind": self.kind,
            "plane": self.plane,
            "E": self.E,
            "nu": self.nu,
            "strain0": self.strain0,
            "exponent": self.exponent,
        }
