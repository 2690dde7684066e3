"""Geometric overlap of block pairs: a safety net behind the contact-based penetration check.

The step's penetration check measures contacts, so it sees only an overlap that some contact
measures: two blocks whose edges cross with no vertex of either inside the other (a "plus"
of two crossed bars, or a face that slid past a corner the detection lost) overlap unseen.
Session 10's 10-block Vajont at Δt/4 did that for 6 s of simulated time (990 m²) before a
contact of the tangle failed (dda/contact_detect.py, "held contacts"). This module measures
the overlap area itself, for the candidate pairs of the broad phase, after every trial step
(dda.simulation: StepFailure.OVERLAP; every ``CHECK_EVERY``-th step, see there).

Area of A ∩ B for simple polygons (non-convex allowed), by fan triangles from a point O:
with T_a = triangle (O, a₀, a₁) of edge a and σ_a = sign((a₀ − O) × (a₁ − O)),
1_A = Σ_a σ_a 1_{T_a} almost everywhere (winding number of a CCW polygon), so

    |A ∩ B| = Σ_a Σ_b σ_a σ_b |T_a ∩ T_b|,

each |T_a ∩ T_b| the area of the intersection of two triangles with the common apex O: the
part of their common angular sector below both edges' lines (:func:`apex_triangle_area`;
pairs of edges whose sectors do not overlap add nothing). Every term is a continuous
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

from dda.geometry import Polygons, vertex_edge_combinations

#: the check runs on the trial steps of every CHECK_EVERY-th step (steps n with n % CHECK_EVERY
#: == 0; Simulation.overlap_check_every, 0: off). Measured (benchmarks/dda_overlap_cost.py, one
#: run, check time over step time): every step costs 0.34 % of a step on the 30 × 30 stack
#: (901 blocks, ~0.5 s steps) but 12 % on cases/vajont_10block.toml (11 blocks, ~10 ms steps,
#: 12 of 19 candidate pairs pass the box prefilter: the compartments' boxes lie inside the
#: base's and overlap each other's along the slanted faces); every 4th step: ~3 %. An overlap
#: that grows past A_tol is then seen at most 3 steps late; the checked step is cut and retried
#: like any other (a run whose overlap is already past A_tol at the start of the step ends as
#: diverged, with the last accepted state kept). Session 10's defect put back (held contacts off,
#: the 10-block Vajont at Δt/4, benchmarks/dda_overlap_defect.py): the run stops at t = 27.03 s,
#: "blocks 7 and 8 overlap by 49.64 m² > 49.49 m²", where it had gone on unseen to 33.46 s.
CHECK_EVERY = 4


def perimeters(polys: Polygons) -> np.ndarray:
    """Perimeter [m] of every block, (nb,)."""
    lengths = np.linalg.norm(polys.xy[polys.nxt] - polys.xy, axis=1)
    return np.add.reduceat(lengths, polys.voff[:-1]) if polys.nb else np.zeros(0)


def overlap_tolerance(polys: Polygons, pairs: np.ndarray, penetration_limit: float) -> np.ndarray:
    """A_tol = δ · min(P_i, P_j) [m²] per pair (m,) (module docstring): the largest overlap of
    two blocks whose contacts all penetrate by at most ``penetration_limit`` δ [m]."""
    per = perimeters(polys)
    return penetration_limit * np.minimum(per[pairs[:, 0]], per[pairs[:, 1]])


def box_overlap_area(polys: Polygons, pairs: np.ndarray, bbox: np.ndarray | None = None) -> np.ndarray:
    """Area [m²] of the intersection of the two bounding boxes of each pair (m,): an upper
    bound on the pair's overlap area. ``bbox``: polys.bbox() if known."""
    bb = polys.bbox() if bbox is None else bbox
    a, b = bb[pairs[:, 0]], bb[pairs[:, 1]]
    w = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    h = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    return np.maximum(w, 0.0) * np.maximum(h, 0.0)


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def apex_triangle_area(A0: np.ndarray, A1: np.ndarray, B0: np.ndarray, B1: np.ndarray) -> np.ndarray:
    """Area [m²] of T_a ∩ T_b for counter-clockwise triangles T_a = (0, A0, A1) and
    T_b = (0, B0, B1) that share the apex 0 (vertices (M, 2) relative to it); (M,).

    Both are angular sectors from 0 cut by a line (L_a through A0, A1: a × x = c_a with
    a = A1 − A0, c_a = a × A0). Their sectors (each < π) overlap in one sector [s, e] or none:
    s is whichever start ray (A0, B0) lies in the other's sector, e whichever end ray. In it
    the intersection is the region below both lines: O, P_s, (X), P_e, with P_s, P_e the nearer
    of the two lines' hits on s and e (hit of L_a on ray d: d · c_a/(a × d)) and X the lines'
    crossing when the nearer line changes between s and e, found on L_a between its two hits
    by the sign change of the side function of L_b (so X stays in the sector when the lines are
    nearly parallel, e.g. two touching faces). A term that is not finite (an apex on an edge's
    line: a zero-area triangle) adds nothing."""
    c = _cross
    b0_in_a = (c(A0, B0) >= 0) & (c(B0, A1) >= 0)
    a0_in_b = (c(B0, A0) >= 0) & (c(A0, B1) >= 0)
    a1_in_b = (c(B0, A1) >= 0) & (c(A1, B1) >= 0)
    b1_in_a = (c(A0, B1) >= 0) & (c(B1, A1) >= 0)
    s = np.where(b0_in_a[:, None], B0, A0)
    e = np.where(a1_in_b[:, None], A1, B1)
    live = (b0_in_a | a0_in_b) & (a1_in_b | b1_in_a) & (c(s, e) > 0)
    da, db = A1 - A0, B1 - B0
    ca, cb = c(da, A0), c(db, B0)  # < 0: the apex lies on the inner side of each line
    with np.errstate(divide="ignore", invalid="ignore"):
        Pa_s, Pb_s = s * (ca / c(da, s))[:, None], s * (cb / c(db, s))[:, None]
        Pa_e, Pb_e = e * (ca / c(da, e))[:, None], e * (cb / c(db, e))[:, None]
        # f(P) = b × P − c_b ≥ 0: P on the apex's side of L_b (L_a is the nearer line there)
        f_s, f_e = c(db, Pa_s) - cb, c(db, Pa_e) - cb
        a_s, a_e = f_s >= 0, f_e >= 0
        Ps = np.where(a_s[:, None], Pa_s, Pb_s)
        Pe = np.where(a_e[:, None], Pa_e, Pb_e)
        # where the nearer line changes, the lines cross at X on L_a between Pa_s and Pa_e
        lam = np.clip(np.where(a_s != a_e, f_s / (f_s - f_e), 0.0), 0.0, 1.0)
        X = Pa_s + lam[:, None] * (Pa_e - Pa_s)
        area = np.where(a_s != a_e, 0.5 * (c(Ps, X) + c(X, Pe)), 0.5 * c(Ps, Pe))
    live &= np.isfinite(area)
    return np.where(live, area, 0.0)


def pair_overlap_area(polys: Polygons, pairs: np.ndarray, chunk: int = 200_000, bbox: np.ndarray | None = None) -> np.ndarray:
    """Overlap area |A ∩ B| [m²] of the two blocks of every pair (m, 2) → (m,), for simple
    polygons (non-convex allowed; the sum is −|A ∩ B| when exactly one of the two is clockwise,
    so its magnitude is returned; module docstring), vectorised over all (edge of A, edge of B)
    combinations, ``chunk`` of them at a time; only the combinations whose angular sectors from
    O overlap are integrated (the others add nothing). ``bbox``: polys.bbox() if known."""
    m = pairs.shape[0]
    out = np.zeros(m)
    if m == 0:
        return out
    xy, nxt = polys.xy, polys.nxt
    bb = polys.bbox() if bbox is None else bbox
    a, b = pairs[:, 0], pairs[:, 1]
    origin = 0.5 * (np.maximum(bb[a, :2], bb[b, :2]) + np.minimum(bb[a, 2:], bb[b, 2:]))
    rep, ea, eb = vertex_edge_combinations(polys.voff, a, b)  # every (edge of a, edge of b)
    for c0 in range(0, rep.size, chunk):
        r, i, j = rep[c0 : c0 + chunk], ea[c0 : c0 + chunk], eb[c0 : c0 + chunk]
        O = origin[r]
        P, Q = xy[i] - O, xy[nxt[i]] - O
        sa = np.sign(_cross(P, Q))
        fa = (sa < 0)[:, None]  # counter-clockwise triangles (O, first, second)
        A0, A1 = np.where(fa, Q, P), np.where(fa, P, Q)
        P, Q = xy[j] - O, xy[nxt[j]] - O
        sb = np.sign(_cross(P, Q))
        fb = (sb < 0)[:, None]
        B0, B1 = np.where(fb, Q, P), np.where(fb, P, Q)
        # sectors that overlap: a start ray inside the other sector (arcs < π meet only so)
        b0_in_a = (_cross(A0, B0) >= 0) & (_cross(B0, A1) >= 0)
        a0_in_b = (_cross(B0, A0) >= 0) & (_cross(A0, B1) >= 0)
        keep = np.flatnonzero((b0_in_a | a0_in_b) & (sa != 0) & (sb != 0))
        term = sa[keep] * sb[keep] * apex_triangle_area(A0[keep], A1[keep], B0[keep], B1[keep])
        out += np.bincount(r[keep], weights=term, minlength=m)
    return np.abs(out)


def worst_overlap(polys: Polygons, pairs: np.ndarray, penetration_limit: float) -> tuple[float, int, float, float]:
    """The pair that overlaps most beyond its tolerance: (area / A_tol, pair row, area [m²],
    A_tol [m²]); (0, −1, 0, 0) when no pair's bounding boxes overlap by more than A_tol (none
    can fail; only those pairs are integrated)."""
    if pairs.shape[0] == 0:
        return 0.0, -1, 0.0, 0.0
    bb = polys.bbox()
    tol = overlap_tolerance(polys, pairs, penetration_limit)
    cand = np.flatnonzero(box_overlap_area(polys, pairs, bb) > tol)
    if cand.size == 0:
        return 0.0, -1, 0.0, 0.0
    area = pair_overlap_area(polys, pairs[cand], bbox=bb)
    ratio = area / tol[cand]
    k = int(np.argmax(ratio))
    return float(ratio[k]), int(cand[k]), float(area[k]), float(tol[cand[k]])
