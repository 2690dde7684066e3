"""Block cutting: a domain polygon cut by joint lines and joint sets into blocks.

Method (the planar-arrangement form of Shi's block cutting): all segments (domain boundary,
joint lines, joint-set traces) are split at their mutual intersections; points closer than
a tolerance are merged; joint pieces outside the domain are dropped; dangling pieces
(traces that end inside rock) are pruned repeatedly; the faces of the remaining planar
graph are traced with the "next half-edge clockwise" rule. Faces with positive area are
the blocks (convex or concave). Slivers below ``min_area`` are removed and counted.

Joint set in the section: ``dip`` δ [deg] below the horizontal, dipping towards +x for
δ > 0 (trace direction (cos δ, −sin δ)); lines ``spacing`` [m] apart (normal spacing,
optionally perturbed by ``spacing_std``); along each line, traces of ``trace_length`` [m]
separated by rock bridges of ``gap`` [m] (None: persistent joints), with a random start
offset per line when ``random_offset`` (seeded by ``seed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from dda.errors import InputError
from dda.geometry import check_polygon, points_in_polygon, signed_area, signed_areas


@dataclass
class JointSet:
    """A family of parallel joints (see the module docstring); ``tag`` selects its joint law."""

    dip: float
    spacing: float
    trace_length: float | None = None
    gap: float = 0.0
    origin: Sequence[float] | None = None
    spacing_std: float = 0.0
    random_offset: bool = False
    seed: int = 0
    tag: int | None = None


@dataclass
class JointLine:
    """One joint trace from p0 to p1 [m] with joint tag ``tag``."""

    p0: Sequence[float]
    p1: Sequence[float]
    tag: int = 0


@dataclass
class CutResult:
    """Blocks cut from one domain: CCW polygons, per-edge joint tags (boundary edges carry
    ``boundary_tag``), and counts of removed slivers and of floating joint clusters."""

    polygons: list[np.ndarray]
    edge_tags: list[np.ndarray]
    slivers_removed: int = 0
    floating_removed: int = 0
    edges_per_source: dict = field(default_factory=dict)


def joint_set_segments(js: JointSet, bbox: np.ndarray, key: str) -> np.ndarray:
    """Trace segments (n, 2, 2) of a joint set over a bounding box (xmin, ymin, xmax, ymax)."""
    if not np.isfinite(js.spacing) or js.spacing <= 0:
        raise InputError(f"{key}.spacing", js.spacing, "a spacing > 0 m")
    if js.trace_length is not None and not js.trace_length > 0:
        raise InputError(f"{key}.trace_length", js.trace_length, "a trace length > 0 m or None (persistent)")
    if js.gap < 0:
        raise InputError(f"{key}.gap", js.gap, "a rock-bridge gap >= 0 m")
    if not 0 <= js.spacing_std < js.spacing:
        raise InputError(f"{key}.spacing_std", js.spacing_std, f"a value in [0, spacing = {js.spacing})")
    rng = np.random.default_rng(js.seed)
    d = np.radians(js.dip)
    u = np.array([np.cos(d), -np.sin(d)])
    m = np.array([np.sin(d), np.cos(d)])
    corners = np.array([[bbox[0], bbox[1]], [bbox[2], bbox[1]], [bbox[2], bbox[3]], [bbox[0], bbox[3]]])
    o = np.asarray(js.origin if js.origin is not None else corners[0], dtype=float)
    sm, su = (corners - o) @ m, (corners - o) @ u
    diag = float(np.hypot(bbox[2] - bbox[0], bbox[3] - bbox[1]))
    k0, k1 = int(np.floor(sm.min() / js.spacing)) - 1, int(np.ceil(sm.max() / js.spacing)) + 1
    offs = np.arange(k0, k1 + 1) * js.spacing
    if js.spacing_std > 0:
        offs = offs + rng.normal(0.0, js.spacing_std, offs.size)
    t0, t1 = su.min() - 0.01 * diag, su.max() + 0.01 * diag
    segs = []
    for s in offs:
        base = o + s * m
        if js.trace_length is None:
            segs.append([base + t0 * u, base + t1 * u])
            continue
        period = js.trace_length + js.gap
        start = t0 - (rng.uniform(0.0, period) if js.random_offset else 0.0)
        a = np.arange(start, t1, period)
        for ta in a:
            segs.append([base + ta * u, base + min(ta + js.trace_length, t1) * u])
    return np.asarray(segs, dtype=float).reshape(-1, 2, 2)


def _intersections(seg: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Parameters along each segment of all pairwise intersections: (segment ids, params)."""
    S = seg.shape[0]
    ids, ts = [np.arange(S), np.arange(S)], [np.zeros(S), np.ones(S)]
    p, r = seg[:, 0], seg[:, 1] - seg[:, 0]
    L = np.linalg.norm(r, axis=1)
    chunk = max(1, 2_000_000 // max(S, 1))
    for a0 in range(0, S, chunk):
        a = np.arange(a0, min(S, a0 + chunk))
        i = np.repeat(a, S)
        j = np.tile(np.arange(S), a.size)
        keep = j > i
        i, j = i[keep], j[keep]
        den = r[i, 0] * r[j, 1] - r[i, 1] * r[j, 0]
        ok = np.abs(den) > 1e-12 * L[i] * L[j]
        i, j, den = i[ok], j[ok], den[ok]
        qp = p[j] - p[i]
        ti = (qp[:, 0] * r[j, 1] - qp[:, 1] * r[j, 0]) / den
        tj = (qp[:, 0] * r[i, 1] - qp[:, 1] * r[i, 0]) / den
        ei, ej = tol / L[i], tol / L[j]
        hit = (ti >= -ei) & (ti <= 1 + ei) & (tj >= -ej) & (tj <= 1 + ej)
        ids += [i[hit], j[hit]]
        ts += [np.clip(ti[hit], 0, 1), np.clip(tj[hit], 0, 1)]
    return np.concatenate(ids), np.concatenate(ts)


def cut_blocks(
    domain: np.ndarray,
    joints: Sequence[JointLine | Sequence[Sequence[float]]] = (),
    joint_sets: Sequence[JointSet] = (),
    min_area: float | None = None,
    boundary_tag: int = -1,
    key: str = "domain",
    rel_tol: float = 1e-9,
) -> CutResult:
    """Cut ``domain`` (an (n, 2) polygon [m]) by joint lines and joint sets into blocks.

    ``min_area`` [m²]: blocks smaller than this are removed as slivers (default 10⁻⁴ × the
    domain area). Raises :class:`InputError` for a bad domain or a joint (set) that cuts
    no block.
    """
    dom = check_polygon(domain, f"{key}.polygon")
    area_dom = signed_area(dom)
    lo, hi = dom.min(0), dom.max(0)
    size = float(np.max(hi - lo))
    tol = max(rel_tol * size, 1e-12) * 1e3
    min_area = 1e-4 * area_dom if min_area is None else float(min_area)
    # ---- segments: boundary (source −1), joints (source k), sets (source 10⁶ + k)
    segs, tags, src = [np.stack([dom, np.roll(dom, -1, axis=0)], axis=1)], [np.full(dom.shape[0], boundary_tag)], [np.full(dom.shape[0], -1)]
    for k, jl in enumerate(joints):
        jl = jl if isinstance(jl, JointLine) else JointLine(jl[0], jl[1], 0)
        s = np.array([jl.p0, jl.p1], dtype=float)
        if s.shape != (2, 2) or not np.all(np.isfinite(s)) or np.linalg.norm(s[1] - s[0]) <= tol:
            raise InputError(f"joints[{k}]", s.tolist(), "two distinct finite points [[x0, y0], [x1, y1]]")
        segs.append(s[None]), tags.append([jl.tag]), src.append([k])
    bbox = np.array([lo[0], lo[1], hi[0], hi[1]])
    for k, js in enumerate(joint_sets):
        s = joint_set_segments(js, bbox, f"joint_sets[{k}]")
        segs.append(s), tags.append(np.full(len(s), js.tag if js.tag is not None else k + 1)), src.append(np.full(len(s), 1_000_000 + k))
    seg = np.concatenate(segs)
    tag = np.concatenate([np.asarray(t, dtype=np.int64) for t in tags])
    source = np.concatenate([np.asarray(t, dtype=np.int64) for t in src])
    # ---- split at intersections, merge close points
    sid, t = _intersections(seg, tol)
    order = np.lexsort((t, sid))
    sid, t = sid[order], t[order]
    pts = seg[sid, 0] + t[:, None] * (seg[sid, 1] - seg[sid, 0])
    pairs = cKDTree(pts).query_pairs(tol, output_type="ndarray")
    n = pts.shape[0]
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if len(pairs) else coo_matrix((n, n))
    _, lab = connected_components(g, directed=False)
    _, first = np.unique(lab, return_index=True)
    vxy = pts[first]
    vid = lab  # label == index into vxy since np.unique sorts labels 0..k-1
    same = sid[1:] == sid[:-1]
    a, b = vid[:-1][same], vid[1:][same]
    etag, esrc = tag[sid[:-1][same]], source[sid[:-1][same]]
    keep = a != b
    a, b, etag, esrc = a[keep], b[keep], etag[keep], esrc[keep]
    # undirected dedupe; a boundary piece wins over a joint lying on it
    lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
    pri = (esrc != -1).astype(np.int64)
    o = np.lexsort((pri, hi_, lo_))
    lo_, hi_, etag, esrc = lo_[o], hi_[o], etag[o], esrc[o]
    u = np.r_[True, (lo_[1:] != lo_[:-1]) | (hi_[1:] != hi_[:-1])]
    ea, eb, etag, esrc = lo_[u], hi_[u], etag[u], esrc[u]
    # joint pieces outside the domain
    mid = 0.5 * (vxy[ea] + vxy[eb])
    inside = points_in_polygon(mid, dom)
    keep = (esrc == -1) | inside
    ea, eb, etag, esrc = ea[keep], eb[keep], etag[keep], esrc[keep]
    # prune dangling pieces
    while ea.size:
        deg = np.bincount(np.r_[ea, eb], minlength=vxy.shape[0])
        keep = (deg[ea] > 1) & (deg[eb] > 1)
        if np.all(keep):
            break
        ea, eb, etag, esrc = ea[keep], eb[keep], etag[keep], esrc[keep]
    # floating joint clusters (not connected to the boundary) cannot cut: drop them
    nv = vxy.shape[0]
    gc = coo_matrix((np.ones(ea.size), (ea, eb)), shape=(nv, nv))
    _, comp = connected_components(gc, directed=False)
    ok_comp = np.unique(comp[ea[esrc == -1]])
    keep = np.isin(comp[ea], ok_comp)
    floating = int(np.unique(comp[ea[~keep]]).size)
    ea, eb, etag, esrc = ea[keep], eb[keep], etag[keep], esrc[keep]
    polys, ptags, slivers = _faces(vxy, ea, eb, etag, esrc, min_area)
    # every joint / joint set must cut
    used = np.concatenate([t[1] for t in ptags]) if ptags else np.zeros(0, dtype=np.int64)
    per_source = {int(s): int(np.sum(used == s)) for s in np.unique(source)}
    for k in range(len(joints)):
        if per_source.get(k, 0) == 0:
            raise InputError(f"joints[{k}]", "a joint that cuts no block (it ends inside rock or lies outside the domain)", "a joint that, with the others, separates blocks")
    for k in range(len(joint_sets)):
        if per_source.get(1_000_000 + k, 0) == 0:
            raise InputError(f"joint_sets[{k}]", "a joint set that cuts nothing in the domain", "a joint set whose traces separate at least one block (check dip, spacing, trace length, gap)")
    return CutResult(
        polygons=[p for p in polys],
        edge_tags=[t[0] for t in ptags],
        slivers_removed=slivers,
        floating_removed=floating,
        edges_per_source=per_source,
    )


def _faces(vxy: np.ndarray, ea: np.ndarray, eb: np.ndarray, etag: np.ndarray, esrc: np.ndarray, min_area: float):
    """Trace the bounded faces of a planar graph: CCW polygons, (tags, sources) per edge,
    and the number of sliver faces (area < min_area) dropped."""
    E = ea.size
    if E == 0:
        return [], [], 0
    orig = np.r_[ea, eb]
    dest = np.r_[eb, ea]
    d = vxy[dest] - vxy[orig]
    ang = np.arctan2(d[:, 1], d[:, 0])
    srt = np.lexsort((ang, orig))
    pos = np.empty(2 * E, dtype=np.int64)
    pos[srt] = np.arange(2 * E)
    nv = vxy.shape[0]
    gn = np.bincount(orig, minlength=nv)
    gs = np.r_[0, np.cumsum(gn)[:-1]]
    twin = np.r_[np.arange(E, 2 * E), np.arange(E)]
    v = dest
    p = pos[twin]
    nxt = srt[gs[v] + (p - gs[v] - 1) % gn[v]]
    deg = gn
    # the cycles of the next-half-edge permutation, each from its smallest half-edge (plain
    # Python lists: one pass over the half-edges)
    nxt_l = nxt.tolist()
    seen = bytearray(2 * E)
    cycles = []
    for h0 in range(2 * E):
        if seen[h0]:
            continue
        cyc = []
        h = h0
        while not seen[h]:
            seen[h] = 1
            cyc.append(h)
            h = nxt_l[h]
        cycles.append(cyc)
    # per face: area, straight degree-2 vertices, slivers; vectorised over the faces with the
    # same number of half-edges (the floats of the per-face computation: signed_area's sum
    # along each row, the same element-wise products)
    lens = np.fromiter((len(c) for c in cycles), dtype=np.int64, count=len(cycles))
    out: list = [None] * len(cycles)
    sliver = np.zeros(len(cycles), dtype=bool)
    for m in np.unique(lens):
        ids = np.flatnonzero(lens == m)
        C = np.array([cycles[k] for k in ids], dtype=np.int64).reshape(ids.size, m)
        poly = vxy[orig[C]]  # (B, m, 2)
        a = signed_areas(poly)
        pos_ = a > 0
        ids, C, poly, a = ids[pos_], C[pos_], poly[pos_], a[pos_]
        e = C % E
        t, sr = etag[e], esrc[e]
        # drop straight degree-2 vertices between edges of the same joint
        prev_t, prev_s = np.roll(t, 1, axis=1), np.roll(sr, 1, axis=1)
        u = poly - np.roll(poly, 1, axis=1)
        w = np.roll(poly, -1, axis=1) - poly
        cross = u[..., 0] * w[..., 1] - u[..., 1] * w[..., 0]
        straight = np.abs(cross) <= 1e-9 * np.linalg.norm(u, axis=2) * np.linalg.norm(w, axis=2)
        drop = straight & (deg[orig[C]] == 2) & (prev_t == t) & (prev_s == sr)
        drop &= (np.count_nonzero(~drop, axis=1) >= 3)[:, None]
        sliver[ids] = a < min_area
        for k, pk, tk, sk, dk, sl in zip(ids, poly, t, sr, drop, a < min_area):
            if not sl:
                out[k] = (pk[~dk], (tk[~dk], sk[~dk])) if dk.any() else (pk.copy(), (tk.copy(), sk.copy()))
    polys = [o[0] for o in out if o is not None]
    ptags = [o[1] for o in out if o is not None]
    return polys, ptags, int(np.count_nonzero(sliver))
