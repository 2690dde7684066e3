"""Contact detection: broad phase over block bounding boxes, vectorised narrow phase.

Broad phase: a uniform spatial hash grid over the bounding boxes padded by the search
distance d0 [m] (cell = median block size; blocks that span many cells, e.g. a large fixed
base, are tested against all others by box overlap). :func:`broad_phase_brute` keeps the
O(n²) all-pairs version for the benchmark ratio.

Narrow phase (Shi 1988):

* vertex–edge (V-E): vertex P of block i within d0 of the interior of edge e = (Q1, Q2) of
  block j, −d_pen ≤ n·(P − Q1) ≤ d0, P not reflex, P's two edges not entering j
  (n·(P± − P) ≥ −sin(α_tol) |P± − P|), and, when P penetrates, e is j's edge nearest to P;
* vertex–vertex (V-V): |P − Q| < d0. The contact is resolved by the *entrance line*: of the
  four edges meeting at P and Q, the one that best separates the other vertex's wedge,
  sep = n·(V − W) + d0 · min(0, n·û₁, n·û₂) (û: the vertex's own edge directions), is taken
  as a V-E contact. A convex vertex at a reflex corner contacts both of the corner's edges
  (the free space there is the intersection of their two half-planes).

``n`` is the outward unit normal of the contacted edge (pointing out of j) and
``s = (Q2 − Q1)/|Q2 − Q1|``; a contact is identified across steps by key = vertex·nv + edge.

Held contacts (guarantee). A contact closed (locked or sliding) at the end of the previous
step keeps its edge when its vertex P comes within d0 of a vertex Q of the other block (the
V-E contact becomes a V-V pair), while P still lies over that edge (0 ≤ t ≤ |e|, t = s·(P − Q1))
with −d_pen ≤ gap ≤ d0. So a vertex pressed into a face is measured against that face until it
leaves the face's span or the contact opens: the step's penetration check sees its penetration,
and the entrance-line rule cannot hand the pair to an edge the vertex never crossed. Without
it (issue 13 item 8, the 10-block Vajont at Δt/4, t = 26.78 s): compartment 7's corner,
pressed 2.5 mm into compartment 8's face 0.11 m above 8's corner, became a V-V pair; the rule
took 8's corner against 7's bottom edge (separation 0.108 − 0.975 d0 against −0.0025 m, beyond
keep_tol·d0), an open contact 0.108 m away; nothing held the two faces apart, and 7 slid into
8 unseen (overlap 16 m² at 26.93 s, 990 m² at 27.94 s) until another contact of the tangle
exceeded the penetration limit at 33.46 s, where no Δt cut could remove it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dda.geometry import Polygons


def _first_of_runs(k: np.ndarray) -> np.ndarray:
    """Mask of the first entry of each run of equal values of the sorted ``k``."""
    m = np.empty(k.size, dtype=bool)
    m[:1] = True
    np.not_equal(k[1:], k[:-1], out=m[1:])
    return m


def _run_starts(k: np.ndarray) -> np.ndarray:
    """Indices where the runs of equal values of the sorted ``k`` start."""
    return np.flatnonzero(_first_of_runs(k))


def _median(x: np.ndarray) -> float:
    """np.median of a 1-D array (the middle value, or the mean (a + b) / 2 of the two middle
    ones; NaN when any is NaN), without np.median's overhead (≈ 0.1 ms a call)."""
    s = np.sort(x)
    if s.size == 0 or np.isnan(s[-1]):
        return float("nan")
    h = s.size // 2
    return float(s[h]) if s.size % 2 else float((s[h - 1] + s[h]) / 2.0)


# --------------------------------------------------------------------------- broad phase
def _box_overlap(bb: np.ndarray, i: np.ndarray, j: np.ndarray, pad: float) -> np.ndarray:
    return (
        (bb[i, 0] <= bb[j, 2] + pad)
        & (bb[j, 0] <= bb[i, 2] + pad)
        & (bb[i, 1] <= bb[j, 3] + pad)
        & (bb[j, 1] <= bb[i, 3] + pad)
    )


def broad_phase_brute(bbox: np.ndarray, pad: float) -> np.ndarray:
    """All pairs i < j whose boxes, padded by ``pad`` [m], overlap, sorted by (i, j): O(nb²)
    (the broad phase of small systems, and the benchmark baseline)."""
    lo, hi = bbox[:, None, :2], bbox[None, :, 2:] + pad
    ov = np.all(lo <= hi, axis=2)
    ov &= ov.T  # (i's low corner below j's high corner) and (j's below i's)
    idx = np.arange(bbox.shape[0])
    ov &= idx[:, None] < idx[None, :]
    return np.argwhere(ov).astype(np.int64)


#: up to this many blocks the broad phase tests all pairs: the same pairs in the same order,
#: without the hash grid's fixed cost (≈ 1 ms per step for 2 blocks, 25 numpy calls)
BRUTE_MAX_BLOCKS = 48


def broad_phase_grid(bbox: np.ndarray, pad: float, max_cells_per_block: int = 64) -> np.ndarray:
    """Pairs i < j with overlapping padded boxes, by spatial hashing (no all-pairs loop);
    sorted by (i, j). Up to ``BRUTE_MAX_BLOCKS`` blocks: all pairs (the same result)."""
    nb = bbox.shape[0]
    if nb < 2:
        return np.zeros((0, 2), dtype=np.int64)
    if nb <= BRUTE_MAX_BLOCKS:
        return broad_phase_brute(bbox, pad)
    size = np.maximum(bbox[:, 2] - bbox[:, 0], bbox[:, 3] - bbox[:, 1]) + 2 * pad
    cell = max(_median(size), 1e-12)
    lo = np.floor((bbox[:, :2] - pad - bbox[:, :2].min(0)) / cell).astype(np.int64)
    hi = np.floor((bbox[:, 2:] + pad - bbox[:, :2].min(0)) / cell).astype(np.int64)
    ncell = (hi[:, 0] - lo[:, 0] + 1) * (hi[:, 1] - lo[:, 1] + 1)
    big = ncell > max_cells_per_block
    small = np.flatnonzero(~big)
    pairs = []
    if small.size:
        nx = hi[small, 0] - lo[small, 0] + 1
        nc = ncell[small]
        owner = np.repeat(small, nc)
        k = np.arange(nc.sum()) - np.repeat(np.cumsum(nc) - nc, nc)
        cx = lo[owner, 0] + k % np.repeat(nx, nc)
        cy = lo[owner, 1] + k // np.repeat(nx, nc)
        key = cx * (int(hi[:, 1].max()) + 2) + cy
        order = np.lexsort((owner, key))
        key, owner = key[order], owner[order]
        start = _run_starts(key)
        length = np.diff(start, append=key.size)
        run_start = np.repeat(start, length)
        run_end = run_start + np.repeat(length, length)
        pos = np.arange(key.size)
        cnt = run_end - pos - 1
        a = np.repeat(pos, cnt)
        b = a + 1 + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        pairs.append(np.stack([owner[a], owner[b]], axis=1))
    bigi = np.flatnonzero(big)
    if bigi.size:
        ii = np.repeat(bigi, nb)
        jj = np.tile(np.arange(nb), bigi.size)
        m = ii != jj
        pairs.append(np.stack([ii[m], jj[m]], axis=1))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    p = np.concatenate(pairs)
    p = np.sort(p, axis=1)
    p = np.sort(p[:, 0] * nb + p[:, 1])
    p = p[_first_of_runs(p)]  # np.unique
    i, j = p // nb, p % nb
    keep = _box_overlap(bbox, i, j, pad)
    return np.stack([i[keep], j[keep]], axis=1)


class BroadPhaseCache:
    """:func:`broad_phase_grid` across steps: the candidate pairs of a wider pad, reused while
    no box has moved much, filtered exactly at every call (the same pairs, in the same order).

    The candidates are the pairs whose boxes (of the reference boxes ``B₀``) overlap when padded
    by ``pad + 2m`` (margin ``m`` = ``margin`` × ``pad`` [m]). While every box coordinate is within
    m/2 of ``B₀`` (|B − B₀| ≤ m/2, elementwise), a pair whose current boxes overlap at ``pad``
    (b_i,lo ≤ b_j,hi + pad, for x and y, both ways) overlapped at pad + m on ``B₀``: it is a
    candidate (a slack of m against the round-off of the comparisons). Each call then keeps the
    candidates whose current boxes overlap at ``pad``, the test :func:`broad_phase_grid` ends
    with, so the result is its result: every pair i < j overlapping at ``pad``, sorted by
    (i, j) (the candidates are sorted, the filter keeps their order). A moved box (or a change of
    the block count, the pad, or ``key``, e.g. a new partition's local numbering) makes new
    candidates. Up to ``BRUTE_MAX_BLOCKS`` blocks every pair is tested anyway
    (:func:`broad_phase_brute`): nothing is kept. A DDA step moves a block by at most g2·w0 (0.4 d0 on the stacked grids), so
    with m = d0/2 the candidates of a settling stack last several steps: ~0.3 ms of a
    ~6 ms step of the 10 × 10 stack (101 blocks) saved."""

    def __init__(self, margin: float = 0.5) -> None:
        self.margin = float(margin)
        self._ref: tuple | None = None  # (key, pad, reference boxes, candidate i, candidate j)

    def pairs(self, bbox: np.ndarray, pad: float, key: object = None) -> np.ndarray:
        """The pairs of :func:`broad_phase_grid` (bbox, pad); ``key``: an object whose identity
        the numbering of the blocks goes with (a new one drops the candidates)."""
        if bbox.shape[0] <= BRUTE_MAX_BLOCKS:  # all pairs tested anyway: nothing to keep
            return broad_phase_brute(bbox, pad) if bbox.shape[0] >= 2 else np.zeros((0, 2), dtype=np.int64)
        m = self.margin * pad
        ref = self._ref
        if (ref is None or ref[0] is not key or ref[1] != pad or ref[2].shape != bbox.shape
                or not np.max(np.abs(bbox - ref[2]), initial=0.0) <= 0.5 * m):
            cand = broad_phase_grid(bbox, pad + 2.0 * m)
            ref = self._ref = (key, pad, bbox.copy(), cand[:, 0].copy(), cand[:, 1].copy())
        i, j = ref[3], ref[4]
        keep = _box_overlap(bbox, i, j, pad)
        return np.stack([i[keep], j[keep]], axis=1)


# --------------------------------------------------------------------------- narrow phase
@dataclass
class Contacts:
    """Vertex–edge contacts (nc entries): vertex ``vtx`` of block ``i`` against edge ``edge``
    of block ``j``; ``P`` the vertex, ``Q`` its foot on the edge line, ``n`` the edge's outward
    normal, ``s`` its direction, ``gap`` = n·(P − Q1) [m] (< 0: penetration), ``lc`` the
    tributary contact length [m] for cohesion, ``tag`` the joint tag (−1: none)."""

    i: np.ndarray
    j: np.ndarray
    vtx: np.ndarray
    edge: np.ndarray
    key: np.ndarray
    P: np.ndarray
    Q: np.ndarray
    n: np.ndarray
    s: np.ndarray
    gap: np.ndarray
    lc: np.ndarray
    tag: np.ndarray

    @property
    def size(self) -> int:
        return int(self.i.size)

    @classmethod
    def empty(cls) -> "Contacts":
        z, f = np.zeros(0, dtype=np.int64), np.zeros(0)
        return cls(z, z, z, z, z, np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2)), f, f, z)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-300)


def _pairs_to_combos(polys: Polygons, a: np.ndarray, b: np.ndarray, pad: float | None = None,
                     bbox: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(vertex of a, edge of b) combinations for block pairs (a, b), ordered by pair, vertex,
    edge. With ``pad`` [m] only the vertices of a inside b's bounding box padded by ``pad``
    (a vertex farther from every edge of b cannot be within pad/√2 of any of them: the
    combinations dropped are those no test within that distance would keep). ``bbox``:
    ``polys.bbox()`` when the caller has it."""
    cnt = np.diff(polys.voff)
    na = cnt[a]
    owner = np.repeat(np.arange(a.size), na)  # pair of each vertex
    vtx = polys.voff[a][owner] + np.arange(na.sum()) - np.repeat(np.cumsum(na) - na, na)
    if pad is not None:
        bbp = (polys.bbox() if bbox is None else bbox)[b]  # the boxes of b, per pair
        lo_x, lo_y, hi_x, hi_y = (bbp[:, k][owner] for k in range(4))
        px, py = polys.xy[vtx, 0], polys.xy[vtx, 1]
        inside = (px >= lo_x - pad) & (px <= hi_x + pad) & (py >= lo_y - pad) & (py <= hi_y + pad)
        vtx, owner = vtx[inside], owner[inside]
    nbk = cnt[b][owner]
    rep = np.repeat(np.arange(vtx.size), nbk)
    edge = polys.voff[b][owner][rep] + np.arange(nbk.sum()) - np.repeat(np.cumsum(nbk) - nbk, nbk)
    return vtx[rep], edge


def _reflex(polys: Polygons) -> np.ndarray:
    """True at reflex (interior angle > 180°) vertices of CCW polygons."""
    u = polys.xy - polys.xy[polys.prv]
    w = polys.xy[polys.nxt] - polys.xy
    cross = u[:, 0] * w[:, 1] - u[:, 1] * w[:, 0]
    scale = np.linalg.norm(u, axis=1) * np.linalg.norm(w, axis=1)
    return cross < -1e-9 * scale


def detect(
    polys: Polygons,
    pairs: np.ndarray,
    d0: float,
    d_pen: float,
    edge_tag: np.ndarray,
    angle_tol_deg: float = 15.0,
    parallel_deg: float = 10.0,
    prev_keys: np.ndarray | None = None,
    keep_tol: float = 0.02,
    up: np.ndarray | None = None,
    tie_tol: float = 1e-6,
    held_keys: np.ndarray | None = None,
    bbox: np.ndarray | None = None,
) -> Contacts:
    """Narrow phase for candidate block pairs; returns all V-E and resolved V-V contacts.

    ``prev_keys`` (sorted): keys of the previous step's contacts. A V-V contact keeps the
    entrance edge it had (contact identity, hence its history, survives round-off) while
    that edge's separation is within ``keep_tol``·d0 of the best one.

    ``held_keys`` (sorted): keys of the previous step's *closed* contacts (locked or sliding).
    A V-V pair one of whose four candidates is held keeps that edge, whatever the entrance-line
    rule prefers, while the vertex still lies over the edge (0 ≤ t ≤ |e|, t the projection of
    the vertex on the edge) with −d_pen ≤ gap ≤ d0. See the module docstring (held contacts).

    Ties: entrance edges whose separations are within ``tie_tol``·d0 of the best one are
    equally good (e.g. two blocks of a grid touching only at a corner: all four edges have
    sep = 0). The one whose normal is most nearly parallel to ``up`` (a unit vector, default
    +y; the simulation passes −ĝ) is taken, then the first. Taking simply the first made the
    choice follow the block numbering: in a row-major grid the corner contacts of one
    diagonal pushed vertically and those of the other horizontally, and a resting stack
    spread sideways (issue 14: 1.5 mm at the top corner of a 30 × 30 stack in 0.2 s). The
    rule is mirror-symmetric about ``up``.
    """
    if pairs.shape[0] == 0:
        return Contacts.empty()
    xy, nxt, prv, blk = polys.xy, polys.nxt, polys.prv, polys.block
    nv = xy.shape[0]
    # the arithmetic on coordinate components (x, y as separate 1-D arrays): a 2-vector's dot
    # product a·b is written a_x b_x + a_y b_y, the floats of np.sum(a * b, axis=1) (+ 0.0 where
    # the value is kept: np.sum starts from +0.0, so −0.0 becomes +0.0) and |a| is
    # sqrt(a_x a_x + a_y a_y), those of np.linalg.norm; ~2× fewer numpy passes than (n, 2) arrays
    X, Y = xy[:, 0].copy(), xy[:, 1].copy()
    Xn, Yn, Xp, Yp = X[nxt], Y[nxt], X[prv], Y[prv]
    # per vertex and per edge (edge k runs from vertex k to nxt[k]), computed once and indexed
    # below (the same floats as computing them per candidate, for ~5× fewer vertices than candidates)
    ex, ey = Xn - X, Yn - Y  # edge vectors
    # reflex (interior angle > 180°) vertices of the CCW polygons (u = x − x_prv, w = e)
    ux, uy = X - Xp, Y - Yp
    reflex = (ux * ey - uy * ex) < -1e-9 * (np.sqrt(ux * ux + uy * uy) * np.sqrt(ex * ex + ey * ey))
    sin_tol = np.sin(np.radians(angle_tol_deg))
    L2_all = ex**2 + ey**2
    L_all = np.sqrt(L2_all)
    sx_all, sy_all = ex / L_all, ey / L_all  # unit edge directions
    nx_all, ny_all = sy_all, -sx_all  # outward normals (CCW polygons)
    # unit directions to a vertex's neighbours (as _unit: / max(|v|, 1e-300))
    vx, vy = Xp - X, Yp - Y
    m = np.maximum(np.sqrt(vx * vx + vy * vy), 1e-300)
    upx, upy = vx / m, vy / m
    m = np.maximum(np.sqrt(ex * ex + ey * ey), 1e-300)
    unx, uny = ex / m, ey / m

    # -------- vertex–edge in both directions
    a = np.concatenate([pairs[:, 0], pairs[:, 1]])
    b = np.concatenate([pairs[:, 1], pairs[:, 0]])
    # only vertices near b's box (within d_pen of an edge's line and span: inside the box
    # padded by √2 d_pen), then only (vertex, edge) combinations within d_pen (≥ d0) of the
    # edge's line and span can take part below (V-E, V-V, or as a nearer edge of a penetrated block)
    vtx, edge = _pairs_to_combos(polys, a, b, pad=1.5 * d_pen, bbox=bbox)
    rx, ry = X[vtx] - X[edge], Y[vtx] - Y[edge]
    ex_c, ey_c = ex[edge], ey[edge]
    cross = rx * ey_c - ry * ex_c  # = |e| · gap
    dot = rx * ex_c + ry * ey_c  # = |e| · t
    L2 = L2_all[edge]
    L = L_all[edge]
    dL = d_pen * L
    near = (np.abs(cross) <= dL) & (dot > -dL) & (dot < L2 + dL)
    near = np.flatnonzero(near)
    vtx, edge, rx, ry, L = vtx[near], edge[near], rx[near], ry[near], L[near]
    sx, sy = sx_all[edge], sy_all[edge]
    nx, ny = sy, ny_all[edge]
    t = rx * sx + ry * sy
    gap = rx * nx + ry * ny
    d1 = np.sqrt(rx * rx + ry * ry)
    qx, qy = X[vtx] - Xn[edge], Y[vtx] - Yn[edge]  # P − Q2
    d2 = np.sqrt(qx * qx + qy * qy)
    near_end = (d1 < d0) | (d2 < d0)
    ok_dirs = ((upx[vtx] * nx + upy[vtx] * ny) >= -sin_tol) & ((unx[vtx] * nx + uny[vtx] * ny) >= -sin_tol)
    inside = (t > 0) & (t < L)
    ve = inside & (gap <= d0) & (gap >= -d_pen) & ~near_end & ~reflex[vtx] & ok_dirs
    # a penetrating vertex (gap < 0) belongs to the edge of j nearest to it, not to a far
    # edge of a thin block whose line it happens to lie behind
    dseg = np.where(inside, np.abs(gap), np.minimum(d1, d2))
    if dseg.size:  # (no candidate pair near any edge: nothing to rank)
        group = vtx * polys.nb + blk[edge]
        order = np.argsort(group, kind="stable")
        gs = group[order]
        starts = _run_starts(gs)
        gmin = np.minimum.reduceat(dseg[order], starts)
        nearest = np.empty_like(dseg)
        nearest[order] = np.repeat(gmin, np.diff(starts, append=gs.size))
        ve &= (gap >= 0) | (dseg <= nearest + 1e-9 * (1.0 + nearest))
    sel_v, sel_e = [vtx[ve]], [edge[ve]]

    # -------- vertex–vertex: (P of a, Q of b) with |P − Q| < d0, each unordered pair once
    vv = (d1 < d0) & (blk[vtx] < blk[edge])
    pv, qv = vtx[vv], edge[vv]  # edge index == its start vertex index
    if pv.size:
        cand_v = np.stack([pv, pv, qv, qv], axis=1)  # contacting vertex
        cand_e = np.stack([qv, prv[qv], pv, prv[pv]], axis=1)  # contacted edge
        other = np.stack([qv, qv, pv, pv], axis=1)  # the vertex owning the contacted edge
        Vx, Vy = X[cand_v], Y[cand_v]
        E1x, E1y = X[cand_e], Y[cand_e]
        sEx, sEy = unx[cand_e], uny[cand_e]
        nEx, nEy = sEy, -sEx
        sep = (nEx * (Vx - X[other]) + nEy * (Vy - Y[other]) + 0.0) + d0 * np.minimum(
            0.0, np.minimum(upx[cand_v] * nEx + upy[cand_v] * nEy + 0.0, unx[cand_v] * nEx + uny[cand_v] * nEy + 0.0)
        )
        rows = np.arange(pv.size)
        up_dir = np.array([0.0, 1.0]) if up is None else np.asarray(up, dtype=float)
        tied = sep >= sep.max(axis=1, keepdims=True) - tie_tol * d0
        best = np.argmax(np.where(tied, np.abs(np.stack([nEx, nEy], axis=-1) @ up_dir), -np.inf), axis=1)
        wx, wy = Vx - E1x, Vy - E1y
        gsel = nEx * wx + nEy * wy + 0.0
        if prev_keys is not None and prev_keys.size:
            ckey = cand_v * nv + cand_e
            pos = np.minimum(np.searchsorted(prev_keys, ckey), prev_keys.size - 1)
            was = (prev_keys[pos] == ckey) & (sep >= sep[rows, best][:, None] - keep_tol * d0)
            has = np.any(was, axis=1)
            best = np.where(has, np.argmax(np.where(was, sep, -np.inf), axis=1), best)
        if held_keys is not None and held_keys.size:
            # a closed contact keeps its edge while its vertex lies over that edge (module docstring)
            ckey = cand_v * nv + cand_e
            pos = np.minimum(np.searchsorted(held_keys, ckey), held_keys.size - 1)
            t_held = sEx * wx + sEy * wy
            L_held = L_all[cand_e]
            g_held = gsel
            held = ((held_keys[pos] == ckey) & (t_held >= 0.0) & (t_held <= L_held)
                    & (g_held >= -d_pen) & (g_held <= d0))
            best = np.where(np.any(held, axis=1), np.argmax(np.where(held, g_held, -np.inf), axis=1), best)
        chosen = np.zeros_like(sep, dtype=bool)
        chosen[rows, best] = True
        # a convex vertex at a reflex corner: the free space there is the intersection of the
        # half-planes of the corner's two edges, so the vertex contacts both of them (the
        # entrance line would pick one and let the vertex sink through the other)
        recv_q = reflex[qv] & ~reflex[pv]  # pv's vertex in qv's reflex corner: candidates 0, 1
        recv_p = reflex[pv] & ~reflex[qv]  # qv's vertex in pv's reflex corner: candidates 2, 3
        if np.any(recv_q | recv_p):
            chosen[recv_q | recv_p] = False
            chosen[recv_q, 0] = chosen[recv_q, 1] = True
            chosen[recv_p, 2] = chosen[recv_p, 3] = True
        chosen &= (gsel >= -d_pen) & (gsel <= d0)
        sel_v.append(cand_v[chosen])
        sel_e.append(cand_e[chosen])
    cv = np.concatenate(sel_v)
    ce = np.concatenate(sel_e)
    if cv.size == 0:
        return Contacts.empty()
    key = cv * nv + ce
    first = np.argsort(key, kind="stable")  # np.unique(key, return_index=True), without its overhead
    key = key[first]
    keep = _first_of_runs(key)
    key, first = key[keep], first[keep]
    cv, ce = cv[first], ce[first]

    # -------- contact geometry
    norm_all = np.sqrt(ex * ex + ey * ey)
    Px, Py, Q1x, Q1y = X[cv], Y[cv], X[ce], Y[ce]
    L = norm_all[ce]
    sx, sy = ex[ce] / L, ey[ce] / L
    nx, ny = sy, -sx
    rx, ry = Px - Q1x, Py - Q1y
    t = rx * sx + ry * sy + 0.0
    gap = rx * nx + ry * ny + 0.0
    # tributary length: half the overlap of P's (nearly antiparallel) edges with the contacted edge
    cosp = np.cos(np.radians(parallel_deg))
    lc = np.zeros(cv.size)
    tag = edge_tag[ce].copy()
    pc, nc_ = prv[cv], nxt[cv]
    for adj_a, adj_b, adj_edge in ((pc, cv, pc), (cv, nc_, cv)):
        lab = norm_all[adj_edge]
        par = np.abs(ex[adj_edge] * sx + ey[adj_edge] * sy) >= cosp * lab  # dAB = B − A = e[adj_edge]
        ta = (X[adj_a] - Q1x) * sx + (Y[adj_a] - Q1y) * sy + 0.0
        tb = (X[adj_b] - Q1x) * sx + (Y[adj_b] - Q1y) * sy + 0.0
        # np.clip(·, 0, L) as minimum/maximum (no wrapper; a zero's sign may differ, which the sum
        # into lc, from +0.0, erases)
        ov = np.minimum(np.maximum(np.maximum(ta, tb), 0.0), L) - np.minimum(np.maximum(np.minimum(ta, tb), 0.0), L)
        lc += np.where(par, 0.5 * ov, 0.0)
        tag = np.where((tag < 0) & par, np.maximum(tag, edge_tag[adj_edge]), tag)
    P = np.stack([Px, Py], axis=1)
    Q = np.stack([Q1x + t * sx, Q1y + t * sy], axis=1)
    return Contacts(
        i=blk[cv], j=blk[ce], vtx=cv, edge=ce, key=key, P=P, Q=Q, n=np.stack([nx, ny], axis=1),
        s=np.stack([sx, sy], axis=1), gap=gap, lc=lc, tag=tag
    )
