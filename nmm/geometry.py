"""Plane geometry for NMM: the physical domain, segments, convex cells.

The physical domain Ω is a polygon (outer boundary) with polygonal holes; curved
boundaries are given as polygons (a circle of radius a by n chords). Lengths in m.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from nmm.errors import InputError


def polygon_area(p: np.ndarray) -> float:
    """Signed area [m²] of a polygon (n,2), positive when counter-clockwise."""
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def circle_polygon(center: Sequence[float], radius: float, n: int = 128, clockwise: bool = False) -> np.ndarray:
    """A regular n-gon inscribed in the circle (x−c)² = r²; vertices (n,2)."""
    t = 2 * np.pi * np.arange(n) / n
    p = np.c_[center[0] + radius * np.cos(t), center[1] + radius * np.sin(t)]
    return p[::-1] if clockwise else p


def _as_polygon(points, key: str) -> np.ndarray:
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 3:
        raise InputError(key, f"shape {p.shape}", "an (n>=3, 2) array of polygon vertices [m]")
    if not np.all(np.isfinite(p)):
        raise InputError(key, "non-finite coordinates", "finite numbers")
    if abs(polygon_area(p)) <= 1e-14 * max(np.ptp(p[:, 0]), np.ptp(p[:, 1]), 1e-300) ** 2:
        raise InputError(key, "a polygon of zero area", "a simple polygon with positive area")
    return p


@dataclass
class Domain:
    """Physical domain Ω: ``outer`` polygon (n,2) and a list of ``holes`` (m,2) [m].

    Orientation is normalised: outer counter-clockwise, holes clockwise.
    """

    outer: np.ndarray
    holes: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.outer = _as_polygon(self.outer, "domain.outer")
        if polygon_area(self.outer) < 0:
            self.outer = self.outer[::-1].copy()
        holes = []
        for k, h in enumerate(self.holes):
            h = _as_polygon(h, f"domain.holes[{k}]")
            if polygon_area(h) > 0:
                h = h[::-1].copy()
            holes.append(h)
        self.holes = holes
        segs = [np.stack([p, np.roll(p, -1, axis=0)], axis=1) for p in [self.outer, *self.holes]]
        #: boundary segments (ns, 2, 2); the domain lies to the left of each
        self.segments = np.concatenate(segs, axis=0)
        lo, hi = self.outer.min(axis=0), self.outer.max(axis=0)
        self.bbox = np.r_[lo, hi]
        self.size = float(np.hypot(*(hi - lo)))

    @classmethod
    def rectangle(cls, x0: float, y0: float, x1: float, y1: float, holes: Sequence = ()) -> "Domain":
        """Axis-aligned rectangle [x0,x1]×[y0,y1] with optional holes."""
        return cls(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float), list(holes))

    @property
    def area(self) -> float:
        """|Ω| [m²]."""
        return polygon_area(self.outer) + sum(polygon_area(h) for h in self.holes)

    def contains(self, pts: np.ndarray, tol: float = 0.0) -> np.ndarray:
        """Even–odd point-in-domain test for points (n,2); with tol > 0 points within tol of
        the boundary count as inside."""
        pts = np.atleast_2d(np.asarray(pts, float))
        inside = np.zeros(len(pts), bool)
        a, b = self.segments[:, 0], self.segments[:, 1]
        for s in range(0, len(pts), 4096):
            p = pts[s : s + 4096, None, :]
            ya, yb = a[None, :, 1], b[None, :, 1]
            cond = (ya > p[..., 1]) != (yb > p[..., 1])
            with np.errstate(divide="ignore", invalid="ignore"):
                xint = a[None, :, 0] + (p[..., 1] - ya) * (b[None, :, 0] - a[None, :, 0]) / (yb - ya)
            cross = cond & (p[..., 0] < xint)
            inside[s : s + 4096] = (cross.sum(axis=1) % 2) == 1
        if tol > 0:
            inside |= self.distance_to_boundary(pts) <= tol
        return inside

    def distance_to_boundary(self, pts: np.ndarray) -> np.ndarray:
        """Distance [m] of points (n,2) to ∂Ω."""
        return segment_distance(np.atleast_2d(pts), self.segments).min(axis=1)


def segment_distance(pts: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """Distances (n, m) of points (n,2) to segments (m,2,2)."""
    a, b = segs[None, :, 0], segs[None, :, 1]
    d = b - a
    L2 = np.maximum((d**2).sum(-1), 1e-300)
    t = np.clip(((pts[:, None, :] - a) * d).sum(-1) / L2, 0.0, 1.0)
    q = a + t[..., None] * d
    return np.linalg.norm(pts[:, None, :] - q, axis=-1)


def split_convex(poly: np.ndarray, a: np.ndarray, n: np.ndarray, tol: float):
    """Split a convex polygon (k,2) by the line {x : n·(x−a) = 0}.

    Returns (left, right) polygons (either may be None when the line misses the interior).
    """
    d = (poly - a) @ n
    if np.all(d >= -tol) or np.all(d <= tol):
        return (poly, None) if np.all(d >= -tol) else (None, poly)
    pos, neg = [], []
    k = len(poly)
    for i in range(k):
        p, q = poly[i], poly[(i + 1) % k]
        dp, dq = d[i], d[(i + 1) % k]
        if dp >= -tol:
            pos.append(p)
        if dp <= tol:
            neg.append(p)
        if (dp > tol and dq < -tol) or (dp < -tol and dq > tol):
            x = p + (q - p) * (dp / (dp - dq))
            pos.append(x)
            neg.append(x)
    return np.array(pos), np.array(neg)


def point_in_convex(poly: np.ndarray, pts: np.ndarray, tol: float = 0.0) -> np.ndarray:
    """Points (n,2) inside (or within tol of) a counter-clockwise convex polygon."""
    e = np.roll(poly, -1, axis=0) - poly
    rel = pts[:, None, :] - poly[None]
    cross = e[None, :, 0] * rel[..., 1] - e[None, :, 1] * rel[..., 0]
    L = np.linalg.norm(e, axis=1)
    return np.all(cross >= -tol * L[None], axis=1)


def subtract_intervals(lo: float, hi: float, cuts: list[tuple[float, float]]) -> float:
    """Length of [lo, hi] minus the union of the intervals ``cuts``."""
    if hi <= lo:
        return 0.0
    total = hi - lo
    merged: list[list[float]] = []
    for c0, c1 in sorted((max(lo, min(c)), min(hi, max(c))) for c in cuts):
        if c1 <= c0:
            continue
        if merged and c0 <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], c1)
        else:
            merged.append([c0, c1])
    return total - sum(m[1] - m[0] for m in merged)


def segments_hit_triangles(segs: np.ndarray, tris: np.ndarray, tol: float) -> np.ndarray:
    """Separating-axis test: which (segment, triangle) pairs intersect (closed, within tol).

    segs (m,2,2) and tris (m,3,2) are paired row by row; returns a bool (m,).
    """
    hit = np.ones(len(segs), bool)
    # axes: the three triangle edge normals and the segment normal
    axes = [np.roll(tris, -1, axis=1) - tris]
    axes = [axes[0][:, k, ::-1] * np.array([1.0, -1.0]) for k in range(3)]
    sd = segs[:, 1] - segs[:, 0]
    axes.append(sd[:, ::-1] * np.array([1.0, -1.0]))
    for ax in axes:
        nrm = np.linalg.norm(ax, axis=1, keepdims=True)
        ax = ax / np.maximum(nrm, 1e-300)
        pt = np.einsum("mkd,md->mk", tris, ax)
        ps = np.einsum("mkd,md->mk", segs, ax)
        hit &= (ps.max(1) >= pt.min(1) - tol) & (pt.max(1) >= ps.min(1) - tol)
    return hit
