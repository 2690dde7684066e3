"""Pre-existing discontinuities: cracks (traction-free faces) and joints (contact + friction).

Both are polylines that cut the mathematical covers. A crack end inside Ω is a crack tip;
a joint carries a :class:`learned.JointLaw` (Mohr–Coulomb strength τ_max = c + μ σ_n) and
normal/shear penalty stiffnesses k_n, k_s [Pa/m] for contact across its closed faces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from learned import JointLaw
from nmm.errors import InputError
from nmm.geometry import Domain


@dataclass
class Crack:
    """A crack: polyline ``points`` (n>=2, 2) [m]; faces are traction free."""

    points: np.ndarray
    name: str = ""

    kind = "crack"

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=float)

    @property
    def segments(self) -> np.ndarray:
        """Segments (n−1, 2, 2) [m] of the polyline."""
        return np.stack([self.points[:-1], self.points[1:]], axis=1)

    @property
    def length(self) -> float:
        """Length [m] of the polyline."""
        return float(np.linalg.norm(np.diff(self.points, axis=0), axis=1).sum())


@dataclass
class Joint(Crack):
    """A joint: polyline with contact; ``law`` gives the shear strength, k_n/k_s the springs.

    k_n [Pa/m] defaults to 50·E_ref/h (chosen by the model), k_s = k_n / 2.5 (Shi's default).
    """

    law: JointLaw | None = None
    kn: float | None = None
    ks: float | None = None
    kind = "joint"


def validate_discontinuities(items: Sequence[Crack], domain: Domain, key: str = "cracks") -> list[Crack]:
    """Check shapes, zero lengths and that every vertex lies in the closed domain."""
    out = []
    tol = 1e-9 * domain.size
    for i, c in enumerate(items):
        k = f"{key}[{i}].points"
        p = c.points
        if p.ndim != 2 or p.shape[1] != 2 or len(p) < 2:
            raise InputError(k, f"shape {p.shape}", "an (n>=2, 2) polyline [m]")
        if not np.all(np.isfinite(p)):
            raise InputError(k, "non-finite coordinates", "finite numbers")
        seg_len = np.linalg.norm(np.diff(p, axis=0), axis=1)
        if np.any(seg_len <= tol):
            raise InputError(k, f"zero-length segment {int(np.argmin(seg_len))} of a {c.kind}", "segments of positive length")
        inside = domain.contains(p, tol=tol)
        if not inside.all():
            j = int(np.flatnonzero(~inside)[0])
            raise InputError(k, f"vertex {p[j].tolist()} outside the domain", "points inside or on the domain boundary")
        mids = 0.5 * (p[:-1] + p[1:])
        if not domain.contains(mids, tol=tol).all():
            raise InputError(k, f"a {c.kind} segment leaves the domain", "lines inside the domain")
        if isinstance(c, Joint) and c.law is not None and not isinstance(c.law, JointLaw):
            raise InputError(f"{key}[{i}].law", type(c.law).__name__, "a learned.JointLaw")
        out.append(c)
    return out


def crack_tips(crack: Crack, domain: Domain) -> list[tuple[np.ndarray, np.ndarray]]:
    """Tips of a crack: (position, unit direction of propagation) for ends inside Ω."""
    tol = 1e-9 * domain.size
    tips = []
    for end, prev in ((crack.points[-1], crack.points[-2]), (crack.points[0], crack.points[1])):
        if domain.distance_to_boundary(end[None])[0] > tol and domain.contains(end[None])[0]:
            d = end - prev
            tips.append((end.copy(), d / np.linalg.norm(d)))
    return tips

