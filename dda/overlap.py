"""Geometric overlap of block pairs: a safety net behind the contact-based penetration check.

The step's penetration check measures contacts, so it sees only an overlap that some contact
measures: two blocks whose edges cross with no vertex of either inside the other (a "plus"
of two crossed bars, or a face that slid past a corner the detection lost) overlap unseen.
Session 10's 10-block Vajont at Δt/4 did that for 6 s of simulated time (990 m²) before a
contact of the tangle failed (dda/contact_detect.py, "held contacts"). This module measures
the overlap area itself, for the candidate pairs of the broad phase, after every trial step
(dda.simulation: StepFailure.OVERLAP).

Area of A ∩ B for simple polygons (non-convex allowed), by fan triangles from a point O:
with T_a = triangle (O, a₀, a₁) of edge a and σ_a = sign((a₀ − O) × (a₁ − O)),
1_A = Σ_a σ_a 1_{T_a} almost everywhere (winding number of a CCW polygon), so

    |A ∩ B| = Σ_a Σ_b σ_a σ_b |T_a ∩ T_b|,

each |T_a ∩ T_b| the area of the intersection of two convex triangles (its vertices: the
corners of either inside the other and the crossings of their edges; convex, so sorted by
angle about their mean and summed by the shoelace formula). Every term is a continuous
function of the vertices, so touching blocks (shared or collinear edges, the normal state
of a stack) give round-off, not a jump: |error| ≲ 1e-15 × Σ|T_a||T_b|/min(|T_a|, |T_b|), with O
at the centre of the two bounding boxes' intersection (the triangles span the two blocks).

Tolerance. A step accepted by the penetration check has every contact penetrating at most
the penetration limit δ = ``max_penetration_ratio`` × d0 [m], so two blocks in contact
overlap in a sliver of depth ≤ δ along the part of their boundaries in contact, of length at
most the perimeter of the smaller block: the overlap area of a pair is allowed up to

    A_tol = δ · min(P_i, P_j)  [m²]   (P: block perimeter [m]),

and a pair beyond it fails the step (:func:`overlap_tolerance`). The same bound gives an
exact prefilter: |A ∩ B| ≤ |box(A) ∩ box(B)|, so a pair whose bounding boxes overlap by no
more than A_tol cannot fail and is not integrated (in a stack, every touching pair).
"""

from __future__ import annotations

import numpy as np

from dda.geometry import Polygons


def perimeters(polys: Polygons) -> np.ndarray:
    """Perimeter [m] of every block, (nb,)."""
    lengths = np.linalg.norm(polys.xy[polys.nxt] - polys.xy, axis=1)
    return np.add.reduceat(lengths, polys.voff[:-1]) if polys.nb else np.zeros(0)


def overlap_tolerance(polys: Polygons, pairs: np.ndarray, penetration_limit: float) -> np.ndarray:
    """A_tol = δ · min(P_i, P_j) [m²] per pair (m,) (module docstring): the largest overlap of
    two blocks whose contacts all penetrate by at most ``penetration_limit`` δ [m]."""
    per = perimeters(polys)
    return penetration_limit * np.minimum(per[pairs[:, 0]], per[pairs[:, 1]])


def box_overlap_area(polys: Polygons, pairs: np.ndarray) -> np.ndarray:
    """Area [m²] of the intersection of the two bounding boxes of each pair (m,): an upper
    bound on the pair's overlap area."""
    bb = polys.bbox()
    a, b = bb[pairs[:, 0]], bb[pairs[:, 1]]
    w = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    h = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    return np.maximum(w, 0.0) * np.maximum(h, 0.0)


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def triangle_intersection_area(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Area [m²] of P ∩ Q for counter-clockwise triangles P, Q (M, 3, 2); (M,).

    The intersection is convex; its vertices are among the corners of P inside Q, those of Q
    inside P and the crossings of an edge of P with an edge of Q (15 candidates); the valid
    ones are sorted by angle about their mean and summed by the shoelace formula (repeated
    points add nothing)."""
    M = P.shape[0]
    if M == 0:
        return np.zeros(0)

    def inside(pts: np.ndarray, tri: np.ndarray) -> np.ndarray:  # (M, 3, 2) in (M, 3, 2), closed
        e = np.roll(tri, -1, axis=1) - tri
        r = pts[:, :, None, :] - tri[:, None, :, :]
        return np.all(_cross(e[:, None, :, :], r) >= 0.0, axis=2)

    d = np.roll(P, -1, axis=1) - P  # P's edges (M, 3, 2)
    f = np.roll(Q, -1, axis=1) - Q
    denom = _cross(d[:, :, None, :], f[:, None, :, :])  # (M, 3, 3): edge k of P × edge l of Q
    w = Q[:, None, :, :] - P[:, :, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = _cross(w, f[:, None, :, :]) / denom
        u = _cross(w, d[:, :, None, :]) / denom
    cut = (denom != 0.0) & (t >= 0.0) & (t <= 1.0) & (u >= 0.0) & (u <= 1.0)
    X = P[:, :, None, :] + np.where(cut, t, 0.0)[..., None] * d[:, :, None, :]
    pts = np.concatenate([P, Q, X.reshape(M, 9, 2)], axis=1)  # (M, 15, 2)
    ok = np.concatenate([inside(P, Q), inside(Q, P), cut.reshape(M, 9)], axis=1)
    n_ok = ok.sum(axis=1)
    centre = np.sum(np.where(ok[..., None], pts, 0.0), axis=1) / np.maximum(n_ok, 1)[:, None]
    rel = pts - centre[:, None, :]
    ang = np.where(ok, np.arctan2(rel[..., 1], rel[..., 0]), np.inf)
    order = np.argsort(ang, axis=1)
    rel = np.take_along_axis(rel, order[..., None], axis=1)
    # the invalid candidates (sorted last) repeat the last valid point: zero-length edges
    last = np.take_along_axis(rel, np.maximum(n_ok - 1, 0)[:, None, None].repeat(2, axis=2), axis=1)
    rel = np.where((np.arange(15)[None, :] < n_ok[:, None])[..., None], rel, last)
    area = 0.5 * np.sum(_cross(rel, np.roll(rel, -1, axis=1)), axis=1)
    return np.where(n_ok >= 3, area, 0.0)


def pair_overlap_area(polys: Polygons, pairs: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """Overlap area |A ∩ B| [m²] of the two blocks of every pair (m, 2) → (m,), for simple
    polygons (non-convex allowed; the sum is −|A ∩ B| when exactly one of the two is clockwise,
    so its magnitude is returned; module docstring), vectorised over
    all (edge of A, edge of B) combinations, ``chunk`` of them at a time."""
    m = pairs.shape[0]
    out = np.zeros(m)
    if m == 0:
        return out
    xy, nxt, voff = polys.xy, polys.nxt, polys.voff
    cnt = np.diff(voff)
    bb = polys.bbox()
    a, b = pairs[:, 0], pairs[:, 1]
    origin = 0.5 * (np.maximum(bb[a, :2], bb[b, :2]) + np.minimum(bb[a, 2:], bb[b, 2:]))
    na, nb = cnt[a], cnt[b]
    tot = na * nb
    rep = np.repeat(np.arange(m), tot)
    k = np.arange(int(tot.sum())) - np.repeat(np.cumsum(tot) - tot, tot)
    ea = voff[a][rep] + k // nb[rep]
    eb = voff[b][rep] + k % nb[rep]
    for c0 in range(0, rep.size, chunk):
        r, i, j = rep[c0 : c0 + chunk], ea[c0 : c0 + chunk], eb[c0 : c0 + chunk]
        O = origin[r]
        A0, A1 = xy[i] - O, xy[nxt[i]] - O
        B0, B1 = xy[j] - O, xy[nxt[j]] - O
        sa, sb = np.sign(_cross(A0, A1)), np.sign(_cross(B0, B1))
        zero = np.zeros_like(A0)
        # counter-clockwise triangles (O, first, second)
        T = np.stack([zero, np.where((sa < 0)[:, None], A1, A0), np.where((sa < 0)[:, None], A0, A1)], axis=1)
        U = np.stack([zero, np.where((sb < 0)[:, None], B1, B0), np.where((sb < 0)[:, None], B0, B1)], axis=1)
        live = (sa != 0) & (sb != 0)
        term = np.zeros(r.size)
        term[live] = sa[live] * sb[live] * triangle_intersection_area(T[live], U[live])
        out += np.bincount(r, weights=term, minlength=m)
    return np.abs(out)


def worst_overlap(polys: Polygons, pairs: np.ndarray, penetration_limit: float) -> tuple[float, int, float, float]:
    """The pair that overlaps most beyond its tolerance: (area / A_tol, pair row, area [m²],
    A_tol [m²]); (0, −1, 0, 0) when no pair's bounding boxes overlap by more than A_tol (none
    can fail; only those pairs are integrated)."""
    if pairs.shape[0] == 0:
        return 0.0, -1, 0.0, 0.0
    tol = overlap_tolerance(polys, pairs, penetration_limit)
    cand = np.flatnonzero(box_overlap_area(polys, pairs) > tol)
    if cand.size == 0:
        return 0.0, -1, 0.0, 0.0
    area = pair_overlap_area(polys, pairs[cand])
    ratio = area / tol[cand]
    k = int(np.argmax(ratio))
    return float(ratio[k]), int(cand[k]), float(area[k]), float(tol[cand[k]])
