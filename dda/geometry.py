"""Block polygons in one flat (CSR) layout and their exact polygon integrals.

All blocks' vertices live in one array ``xy (nv, 2)`` [m], counter-clockwise per block;
block ``b`` owns vertices ``voff[b]:voff[b+1]``. Edge ``k`` runs from vertex ``k`` to vertex
``nxt[k]`` of the same block, so edges and vertices share indices.

Exact integrals over a simple polygon (Green's theorem, c_k = x_k y_{k+1} − x_{k+1} y_k):

    A = ½ Σ c_k,   x0 = Σ (x_k + x_{k+1}) c_k / (6A),
    ∫x² = Σ (x_k² + x_k x_{k+1} + x_{k+1}²) c_k / 12,
    ∫xy = Σ (2x_k y_k + x_k y_{k+1} + x_{k+1} y_k + 2x_{k+1} y_{k+1}) c_k / 24,

taken about a per-block reference point for round-off, then shifted to the centroid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from dda.errors import InputError


@dataclass
class BlockProps:
    """area (nb,) [m²], centroid (nb,2) [m], second moments about the centroid
    sxx = ∫(x−x0)², syy = ∫(y−y0)², sxy = ∫(x−x0)(y−y0) (nb,) [m⁴]."""

    area: np.ndarray
    centroid: np.ndarray
    sxx: np.ndarray
    syy: np.ndarray
    sxy: np.ndarray


class Polygons:
    """Flat storage of nb polygons (CCW), with per-vertex block index and neighbours."""

    def __init__(self, xy: np.ndarray, voff: np.ndarray) -> None:
        self.xy = np.ascontiguousarray(xy, dtype=float)
        self.voff = np.asarray(voff, dtype=np.int64)
        nb = self.voff.size - 1
        counts = np.diff(self.voff)
        self.block = np.repeat(np.arange(nb), counts)
        local = np.arange(self.xy.shape[0]) - self.voff[self.block]
        n = counts[self.block]
        self.nxt = self.voff[self.block] + (local + 1) % n
        self.prv = self.voff[self.block] + (local - 1) % n

    @classmethod
    def from_list(cls, polys: Sequence[np.ndarray]) -> "Polygons":
        """Packed polygons from a list of (n_b, 2) vertex arrays [m]."""
        arrs = [np.asarray(p, dtype=float).reshape(-1, 2) for p in polys]
        voff = np.concatenate([[0], np.cumsum([a.shape[0] for a in arrs])])
        xy = np.concatenate(arrs) if arrs else np.zeros((0, 2))
        return cls(xy, voff)

    @property
    def nb(self) -> int:
        """Number of blocks."""
        return self.voff.size - 1

    def copy(self) -> "Polygons":
        """A deep copy."""
        return Polygons(self.xy.copy(), self.voff.copy())

    def polygon(self, b: int) -> np.ndarray:
        """Vertices (n_b, 2) [m] of block ``b`` (a view)."""
        return self.xy[self.voff[b] : self.voff[b + 1]]

    def to_list(self) -> list[np.ndarray]:
        """Copies of every block's vertices, (n_b, 2) [m] each."""
        return [self.polygon(b).copy() for b in range(self.nb)]

    def bbox(self) -> np.ndarray:
        """(nb, 4) xmin, ymin, xmax, ymax [m]."""
        lo = np.minimum.reduceat(self.xy, self.voff[:-1], axis=0)
        hi = np.maximum.reduceat(self.xy, self.voff[:-1], axis=0)
        return np.hstack([lo, hi])

    def props(self) -> BlockProps:
        """Exact area, centroid and central second moments of every block."""
        ref = np.add.reduceat(self.xy, self.voff[:-1], axis=0) / np.diff(self.voff)[:, None]
        p = self.xy - ref[self.block]
        q = p[self.nxt]
        x0, y0, x1, y1 = p[:, 0], p[:, 1], q[:, 0], q[:, 1]
        c = x0 * y1 - x1 * y0
        s = self.voff[:-1]
        area = 0.5 * np.add.reduceat(c, s)
        cx = np.add.reduceat((x0 + x1) * c, s) / (6 * area)
        cy = np.add.reduceat((y0 + y1) * c, s) / (6 * area)
        ixx = np.add.reduceat((x0 * x0 + x0 * x1 + x1 * x1) * c, s) / 12
        iyy = np.add.reduceat((y0 * y0 + y0 * y1 + y1 * y1) * c, s) / 12
        ixy = np.add.reduceat((2 * x0 * y0 + x0 * y1 + x1 * y0 + 2 * x1 * y1) * c, s) / 24
        return BlockProps(
            area=area,
            centroid=ref + np.stack([cx, cy], axis=1),
            sxx=ixx - area * cx * cx,
            syy=iyy - area * cy * cy,
            sxy=ixy - area * cx * cy,
        )


def signed_area(poly: np.ndarray) -> float:
    """Signed area [m²] of one polygon (> 0 when counter-clockwise)."""
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def signed_areas(P: np.ndarray) -> np.ndarray:
    """Signed areas [m²] (B,) of a batch of polygons with one vertex count, P (B, n, 2): the
    shoelace sum of :func:`signed_area` along each row."""
    x, y = P[..., 0], P[..., 1]
    return 0.5 * np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1)


def _segments_cross(a0, a1, b0, b1, tol: float) -> np.ndarray:
    """Proper crossing of segment arrays (broadcast): each end lies strictly (by more than
    ``tol`` [m]) on opposite sides of the other segment's line. Touching is not crossing."""

    def sdist(p, q, r):
        cr = (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0])
        return cr / np.maximum(np.hypot(q[..., 0] - p[..., 0], q[..., 1] - p[..., 1]), 1e-300)

    d1, d2 = sdist(b0, b1, a0), sdist(b0, b1, a1)
    d3, d4 = sdist(a0, a1, b0), sdist(a0, a1, b1)
    return (
        (d1 * d2 < 0) & (d3 * d4 < 0)
        & (np.abs(d1) > tol) & (np.abs(d2) > tol) & (np.abs(d3) > tol) & (np.abs(d4) > tol)
    )


def _self_touch(P: np.ndarray, tol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where polygons of one vertex count touch themselves: P (B, n, 2) without consecutive
    duplicates, tol (B,) [m]. Returns fold (B, n): the edges at vertex k fold back onto each
    other (e_{k−1} and e_k antiparallel: a slit / zero-width spike), and touch (B, n, n):
    vertex i lies within tol of edge j (edge j runs from P[j] to P[j+1]) that does not end at i
    (a figure-8 or a vertex on a non-adjacent edge)."""
    n = P.shape[1]
    e = np.roll(P, -1, axis=1) - P
    prev = np.roll(e, 1, axis=1)
    cross = prev[..., 0] * e[..., 1] - prev[..., 1] * e[..., 0]
    dot = np.einsum("bij,bij->bi", prev, e)
    ne, npv = np.linalg.norm(e, axis=2), np.linalg.norm(prev, axis=2)
    fold = (np.abs(cross) <= tol[:, None] * np.maximum(ne, npv)) & (dot < 0) & (ne * npv > 0)
    a, b = P[:, None, :, :], np.roll(P, -1, axis=1)[:, None, :, :]
    v = P[:, :, None, :]
    ab = b - a
    t = np.clip(np.einsum("bijk,bijk->bij", v - a, ab) / np.maximum(np.einsum("bijk,bijk->bij", ab, ab), 1e-300), 0, 1)
    dist = np.linalg.norm(v - (a + t[..., None] * ab), axis=3)
    i, j = np.indices((n, n))
    own = (j == i) | ((j + 1) % n == i)
    return fold, (dist <= tol[:, None, None]) & ~own


def _check_touching(p: np.ndarray, key: str, tol: float) -> None:
    """A simple polygon does not touch itself: no vertex repeated (figure-8), no vertex on a
    non-adjacent edge, no edge folding back along the previous one (a slit / zero-width spike).
    ``p`` (n, 2) without consecutive duplicates; ``tol`` [m]. See :func:`_self_touch`."""
    allowed = "a simple polygon that does not touch itself (split a figure-8 into two blocks)"
    fold, touch = _self_touch(p[None], np.array([tol]))
    if np.any(fold):
        k = int(np.argmax(fold[0]))
        raise InputError(key, f"a slit polygon (the edges at vertex {k} fold back onto each other)", allowed)
    if np.any(touch):
        vi, ej = np.unravel_index(int(np.argmax(touch[0])), touch[0].shape)
        raise InputError(key, f"a polygon that touches itself (vertex {vi} lies on edge {ej})", allowed)


def check_polygon(poly: np.ndarray, key: str, rel_tol: float = 1e-9) -> np.ndarray:
    """Validate one block polygon and return it counter-clockwise without repeated closing vertex.

    Raises :class:`InputError` for fewer than 3 vertices, non-finite values, zero area,
    self-intersection (two non-adjacent edges crossing) or self-contact (figure-8 through
    one vertex, a vertex on another edge, a slit folding back along itself).
    """
    p = np.asarray(poly, dtype=float)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 3:
        raise InputError(key, f"shape {p.shape}", "an (n, 2) array of vertices with n >= 3")
    if not np.all(np.isfinite(p)):
        raise InputError(key, "non-finite coordinates", "finite vertex coordinates [m]")
    if np.allclose(p[0], p[-1]) and p.shape[0] > 3:
        p = p[:-1]
    size = float(np.ptp(p, axis=0).max())
    # drop consecutive duplicates
    keep = np.linalg.norm(p - np.roll(p, 1, axis=0), axis=1) > rel_tol * size
    p = p[keep]
    n = p.shape[0]
    if n > 3:
        i, j = np.triu_indices(n, k=2)
        nonadj = ~((i == 0) & (j == n - 1))
        i, j = i[nonadj], j[nonadj]
        a0, a1 = p[i], p[(i + 1) % n]
        b0, b1 = p[j], p[(j + 1) % n]
        cross = _segments_cross(a0, a1, b0, b1, tol=rel_tol * size)
        if np.any(cross):
            k = int(np.argmax(cross))
            raise InputError(
                key,
                f"a self-intersecting polygon (edge {i[k]} crosses edge {j[k]})",
                "a simple (non-self-intersecting) polygon, convex or concave",
            )
    if n > 3:
        _check_touching(p, key, rel_tol * size)
    a = signed_area(p)
    if p.shape[0] < 3 or abs(a) <= rel_tol * size * size:
        raise InputError(key, "a degenerate polygon (zero area)", "a simple polygon with positive area")
    if a < 0:
        p = p[::-1].copy()
    return p


def points_in_polygon(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even–odd point-in-polygon test, vectorised over points (boundary points: either)."""
    x, y = pts[:, 0:1], pts[:, 1:2]
    x0, y0 = poly[:, 0][None, :], poly[:, 1][None, :]
    x1, y1 = np.roll(poly[:, 0], -1)[None, :], np.roll(poly[:, 1], -1)[None, :]
    cond = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return np.sum(cond & (x < xi), axis=1) % 2 == 1


def point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance [m] from points p to segments a–b (all (N,2), broadcast)."""
    ab = b - a
    t = np.clip(np.sum((p - a) * ab, axis=-1) / np.maximum(np.sum(ab * ab, axis=-1), 1e-300), 0.0, 1.0)
    return np.linalg.norm(p - a - t[..., None] * ab, axis=-1)


def vertex_edge_combinations(voff: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (vertex of block a[p], edge of block b[p]) combinations, ordered by p, then the
    vertex, then the edge: (p, vertex index, edge index = its start vertex index). The vertex
    index is also that of the edge of block a[p] starting there (edge × edge combinations)."""
    cnt = np.diff(voff)
    na, nb = cnt[a], cnt[b]
    tot = na * nb
    rep = np.repeat(np.arange(a.size), tot)
    k = np.arange(int(tot.sum())) - np.repeat(np.cumsum(tot) - tot, tot)
    return rep, voff[a][rep] + k // nb[rep], voff[b][rep] + k % nb[rep]


def _ray_crossing(p: np.ndarray, e0: np.ndarray, e1: np.ndarray) -> np.ndarray:
    """Even–odd rule term: does the ray from p towards +x cross the edge e0–e1? (N,)"""
    y = p[:, 1]
    cond = (e0[:, 1] > y) != (e1[:, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = e0[:, 0] + (y - e0[:, 1]) * (e1[:, 0] - e0[:, 0]) / (e1[:, 1] - e0[:, 1])
    return cond & (p[:, 0] < xi)


def check_overlaps(polys: Polygons, pairs: np.ndarray, rel_tol: float = 1e-6, chunk: int = 20000) -> None:
    """Raise :class:`InputError` when two blocks of a candidate pair overlap.

    Overlap = a proper edge crossing, or a vertex of one block inside the other by more than
    ``rel_tol`` × block size (touching along edges or at vertices is allowed), or two blocks
    whose centroids lie inside each other (identical polygons). Vectorised over the pairs
    (in chunks); the first overlapping pair in ``pairs`` order is reported.
    """
    if pairs.size == 0:
        return
    xy, nxt, voff = polys.xy, polys.nxt, polys.voff
    cen = polys.props().centroid
    bb = polys.bbox()
    size = np.maximum(bb[:, 2] - bb[:, 0], bb[:, 3] - bb[:, 1])
    for c0 in range(0, pairs.shape[0], chunk):
        pi, pj = pairs[c0 : c0 + chunk, 0], pairs[c0 : c0 + chunk, 1]
        npair = pi.size
        tol = rel_tol * np.minimum(size[pi], size[pj])
        # proper edge crossings (edge of i against edge of j)
        rep, ea, eb = vertex_edge_combinations(voff, pi, pj)
        cross = _segments_cross(xy[ea], xy[nxt[ea]], xy[eb], xy[nxt[eb]], tol[rep])
        bad = np.bincount(rep, weights=cross, minlength=npair) > 0
        # a vertex of one block inside the other, farther than tol from its boundary
        for a, b in ((pi, pj), (pj, pi)):
            rep, v, e = vertex_edge_combinations(voff, a, b)
            if rep.size == 0:
                continue
            P, E0, E1 = xy[v], xy[e], xy[nxt[e]]
            starts = np.flatnonzero(np.r_[True, (rep[1:] != rep[:-1]) | (v[1:] != v[:-1])])
            inside = np.add.reduceat(_ray_crossing(P, E0, E1).astype(np.int64), starts) % 2 == 1
            dmin = np.minimum.reduceat(point_segment_distance(P, E0, E1), starts)
            grp = rep[starts]
            bad |= np.bincount(grp, weights=inside & (dmin > tol[grp]), minlength=npair) > 0
        # identical polygons, or one inside the other with no vertex strictly inside
        ins = np.ones(npair, dtype=bool)
        for a, b in ((pi, pj), (pj, pi)):
            cnt = np.diff(voff)[b]
            rep = np.repeat(np.arange(npair), cnt)
            e = voff[b][rep] + np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            P = cen[a][rep]
            ins &= np.bincount(rep, weights=_ray_crossing(P, xy[e], xy[nxt[e]]), minlength=npair) % 2 == 1
            if a is pi:
                dci = np.full(npair, np.inf)
                np.minimum.at(dci, rep, point_segment_distance(P, xy[e], xy[nxt[e]]))
        bad |= ins & (dci > tol)
        if np.any(bad):
            k = int(np.argmax(bad))
            raise InputError(
                f"blocks[{int(pi[k])}]",
                f"a polygon that overlaps blocks[{int(pj[k])}]",
                "blocks that touch at most along edges or at vertices",
            )


def check_polygons(polys: Sequence[np.ndarray], key: str, rel_tol: float = 1e-9, chunk: int = 20_000) -> list[np.ndarray]:
    """:func:`check_polygon` of every polygon (key ``{key}[k].polygon``), vectorised.

    The clean-up (closing vertex, consecutive duplicates), the crossing, touching and area
    tests and the orientation are those of :func:`check_polygon`, computed over the flat vertex
    array and over batches of polygons with the same vertex count (no Python loop over the
    polygons' geometry). Where any polygon is flagged (or has a bad shape), the polygons are
    checked one by one with :func:`check_polygon`, which raises the first error as before.
    Returns the cleaned counter-clockwise polygons (new arrays), in order.
    """
    arrs = [np.asarray(p, dtype=float) for p in polys]

    def one_by_one() -> list[np.ndarray]:
        return [check_polygon(p, f"{key}[{k}].polygon", rel_tol) for k, p in enumerate(arrs)]

    if not arrs or any(p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 3 for p in arrs):
        return one_by_one()
    n0 = np.array([p.shape[0] for p in arrs], dtype=np.int64)
    xy = np.concatenate(arrs)
    if not np.all(np.isfinite(xy)):
        return one_by_one()
    off = np.r_[0, np.cumsum(n0)]
    # closing vertex repeated: np.allclose(p[0], p[-1]) and n > 3
    close = np.all(np.isclose(xy[off[:-1]], xy[off[1:] - 1]), axis=1) & (n0 > 3)
    keep_v = np.ones(xy.shape[0], dtype=bool)
    keep_v[off[1:][close] - 1] = False
    xy, n1 = xy[keep_v], n0 - close
    off = np.r_[0, np.cumsum(n1)]
    blk = np.repeat(np.arange(n1.size), n1)
    size = np.max(np.maximum.reduceat(xy, off[:-1], axis=0) - np.minimum.reduceat(xy, off[:-1], axis=0), axis=1)
    # consecutive duplicates (each vertex against the previous one of its polygon)
    local = np.arange(xy.shape[0]) - off[blk]
    prv = off[blk] + (local - 1) % n1[blk]
    keep_v = np.linalg.norm(xy - xy[prv], axis=1) > rel_tol * size[blk]
    xy, blk = xy[keep_v], blk[keep_v]
    n = np.bincount(blk, minlength=n1.size)
    if np.any(n < 3):
        return one_by_one()
    off = np.r_[0, np.cumsum(n)]
    out: list[np.ndarray | None] = [None] * n.size
    for m in np.unique(n):
        ids = np.flatnonzero(n == m)
        for c0 in range(0, ids.size, chunk):
            b = ids[c0 : c0 + chunk]
            P = xy[off[b][:, None] + np.arange(m)]  # (B, m, 2)
            tol = rel_tol * size[b]
            if m > 3:
                i, j = np.triu_indices(m, k=2)
                nonadj = ~((i == 0) & (j == m - 1))
                i, j = i[nonadj], j[nonadj]
                cross = _segments_cross(P[:, i], P[:, (i + 1) % m], P[:, j], P[:, (j + 1) % m], tol=tol[:, None])
                if np.any(cross) or any(np.any(m) for m in _self_touch(P, tol)):
                    return one_by_one()
            a = signed_areas(P)
            if np.any(np.abs(a) <= tol * size[b]):
                return one_by_one()
            P[a < 0] = P[a < 0][:, ::-1]
            for k, q in zip(b, P):
                out[k] = q
    return out  # type: ignore[return-value]
