"""Hydrostatic reservoir water on submerged block faces and joints.

Pressure p(y) = ρ_w g (h(t) − y) [Pa] for y < h(t); on an edge with outward normal n the
traction on the block is −p n [N/m], integrated exactly (2-point Gauss on the submerged part
of each edge). Applied on every submerged edge of every free block, so water acts on the
exposed faces and inside the joints below the level (full uplift on joints; on a block
wholly under water the resultant is Archimedes' buoyancy ρ_w g V upwards).

The level h(t) [m] is a constant, a callable ``h(t)``, or a table ``[(t0, h0), (t1, h1), …]``
interpolated linearly (held constant outside).

The water may also resist the motion of the blocks: hydrodynamic drag with a pressure-drag
coefficient C_d and a skin-friction coefficient C_f on the submerged faces (dda.water_drag;
both 0 by default: hydrostatic water only).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from dda.errors import InputError
from dda.geometry import Polygons
from dda.submatrices import line_loads


def check_coefficients(drag_coefficient: float, skin_friction: float, key: str = "water") -> tuple[float, float]:
    """(C_d, C_f) as floats, both finite and ≥ 0, else InputError naming ``key.drag_coefficient`` / ``key.skin_friction``."""
    out = []
    for name, v in (("drag_coefficient", drag_coefficient), ("skin_friction", skin_friction)):
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = float("nan")
        if not (np.isfinite(f) and f >= 0):
            raise InputError(f"{key}.{name}", v, "a number >= 0 (0: off)")
        out.append(f)
    return out[0], out[1]


class WaterLevel:
    """Reservoir level h(t) [m] with water density ρ_w [kg/m³] and the drag coefficients
    C_d (pressure drag) and C_f (skin friction) [–] of dda.water_drag (0: no drag)."""

    def __init__(
        self,
        level: float | Callable[[float], float] | Sequence[Sequence[float]],
        density: float = 1000.0,
        key: str = "water",
        drag_coefficient: float = 0.0,
        skin_friction: float = 0.0,
    ) -> None:
        if not density > 0:
            raise InputError(f"{key}.density", density, "a water density > 0 kg/m³")
        self.density = float(density)
        self.drag_coefficient, self.skin_friction = check_coefficients(drag_coefficient, skin_friction, key)
        if callable(level):
            self._f = level
        elif np.ndim(level) == 0:
            h = float(level)  # type: ignore[arg-type]
            self._f = lambda t: h
        else:
            tab = np.asarray(level, dtype=float)
            if tab.ndim != 2 or tab.shape[1] != 2 or tab.shape[0] < 1 or np.any(np.diff(tab[:, 0]) <= 0):
                raise InputError(f"{key}.level", f"table of shape {tab.shape}", "rows (t [s], h [m]) with increasing t")
            self._f = lambda t: float(np.interp(t, tab[:, 0], tab[:, 1]))

    def __call__(self, t: float) -> float:
        return float(self._f(t))

    @property
    def drag(self) -> bool:
        """True when the water resists motion (C_d > 0 or C_f > 0)."""
        return self.drag_coefficient > 0 or self.skin_friction > 0


def submerged_edges(polys: Polygons, free: np.ndarray, level: float) -> tuple[np.ndarray, ...]:
    """The part below the level h [m] of every edge of every free block: edge indices e (m,),
    the submerged part's ends p0 → p1 (m, 2) [m], the edge's unit tangent s and outward unit
    normal n (m, 2) (outward for counter-clockwise blocks)."""
    e = np.flatnonzero(free[polys.block])
    a, b = polys.xy[e], polys.xy[polys.nxt[e]]
    below_a, below_b = a[:, 1] < level, b[:, 1] < level
    wet = below_a | below_b
    e, a, b, below_a, below_b = e[wet], a[wet], b[wet], below_a[wet], below_b[wet]
    dy = b[:, 1] - a[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        tc = np.where(dy != 0, (level - a[:, 1]) / dy, 0.0)
    cross = a + tc[:, None] * (b - a)
    p0 = np.where(below_a[:, None], a, cross)
    p1 = np.where(below_b[:, None], b, cross)
    L = np.linalg.norm(b - a, axis=1)
    s = (b - a) / np.maximum(L, 1e-300)[:, None]
    n = np.stack([s[:, 1], -s[:, 0]], axis=1)
    return e, p0, p1, s, n


def water_loads(polys: Polygons, free: np.ndarray, level: float, rho_w: float, g: float, centroid: np.ndarray, F: np.ndarray) -> float:
    """Add the water loads at level h [m] to F (nb, 6); returns the total |force| [N] applied."""
    e, p0, p1, s, n = submerged_edges(polys, free, level)
    if e.size == 0:
        return 0.0
    pr0 = rho_w * g * np.maximum(level - p0[:, 1], 0.0)
    pr1 = rho_w * g * np.maximum(level - p1[:, 1], 0.0)
    blk = polys.block[e]
    line_loads(blk, p0, p1, -pr0[:, None] * n, -pr1[:, None] * n, centroid, F)
    return float(np.sum(0.5 * (pr0 + pr1) * np.linalg.norm(p1 - p0, axis=1)))
