"""Physical covers and manifold elements (Shi 1991).

* Mathematical cover i = star of mesh vertex i (support of the hat function w_i).
* Every triangle T is intersected with Ω and cut by cracks/joints: T ∩ Ω is decomposed
  into convex cells by the lines of the segments that touch T (a BSP); in-cells that share
  an edge portion not covered by a crack are merged into **manifold elements** (pieces).
  A crack that ends inside T leaves T in one piece (the cells connect around the tip).
* Physical cover = connected component of the pieces in the star of i, where pieces in
  two star triangles are connected across their common edge (i, j) when their traces on
  that edge overlap with positive length not covered by a crack. A cover containing a
  crack tip is therefore not split; a crack that crosses a cover splits it in two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from nmm.discontinuity import Crack
from nmm.geometry import Domain, point_in_convex, polygon_area, segments_hit_triangles, split_convex, subtract_intervals
from nmm.mesh import CoverMesh


@dataclass
class Manifold:
    """Topology of the manifold: elements, physical covers, integration cells.

    elem_tri   (nE,)   background triangle of each manifold element
    elem_cover (nE,3)  physical cover of each triangle vertex (w_k belongs to it)
    cover_vertex (nP,) mesh vertex of each physical cover
    sub_xy     (nS,3,2) integration triangles (a triangulation of every element)
    sub_elem   (nS,)   their element, sorted
    cells      dict e -> list of convex polygons, for elements of cut triangles
    tri_elems  dict t -> list of elements, for cut triangles (others: full_elem[t])
    """

    mesh: CoverMesh
    elem_tri: np.ndarray
    elem_cover: np.ndarray
    cover_vertex: np.ndarray
    sub_xy: np.ndarray
    sub_elem: np.ndarray
    cells: dict
    tri_elems: dict
    full_elem: np.ndarray

    @property
    def n_elements(self) -> int:
        """Number of manifold elements."""
        return len(self.elem_tri)

    @property
    def n_covers(self) -> int:
        """Number of physical covers."""
        return len(self.cover_vertex)

    def elem_area(self) -> np.ndarray:
        """Area [m²] of every manifold element, (n_elements,)."""
        a = np.abs(_tri_area(self.sub_xy))
        return np.bincount(self.sub_elem, a, minlength=self.n_elements)

    def locate(self, x: np.ndarray) -> np.ndarray:
        """Manifold element containing each point (n,2); −1 outside Ω."""
        x = np.atleast_2d(np.asarray(x, float))
        t = self.mesh.find_triangles(x)
        out = np.where(t >= 0, self.full_elem[np.maximum(t, 0)], -1)
        tol = 1e-10 * self.mesh.h_max
        for i in np.flatnonzero((t >= 0) & (out < 0)):
            for e in self.tri_elems.get(int(t[i]), []):
                if any(point_in_convex(c, x[i : i + 1], tol)[0] for c in self.cells[e]):
                    out[i] = e
                    break
        return out


def _tri_area(v: np.ndarray) -> np.ndarray:
    return 0.5 * ((v[:, 1, 0] - v[:, 0, 0]) * (v[:, 2, 1] - v[:, 0, 1]) - (v[:, 2, 0] - v[:, 0, 0]) * (v[:, 1, 1] - v[:, 0, 1]))


def _candidates(mesh: CoverMesh, segs: np.ndarray, tol: float) -> dict[int, list[int]]:
    """Triangles touched by each segment: dict triangle -> segment indices."""
    cen = mesh.points[mesh.triangles].mean(axis=1)
    rad = np.max(np.linalg.norm(mesh.points[mesh.triangles] - cen[:, None], axis=2))
    tree = cKDTree(cen)
    step = max(2 * rad, 1e-300)
    pairs_s, pairs_t = [], []
    for s, (a, b) in enumerate(segs):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        pts = a + (b - a) * ((np.arange(n) + 0.5) / n)[:, None]
        r = 0.5 * np.linalg.norm(b - a) / n + rad + tol
        cand = np.unique(np.concatenate([np.asarray(c, np.int64) for c in tree.query_ball_point(pts, r)]))
        pairs_s.append(np.full(len(cand), s))
        pairs_t.append(cand)
    ps, pt = np.concatenate(pairs_s), np.concatenate(pairs_t)
    hit = segments_hit_triangles(segs[ps], mesh.points[mesh.triangles[pt]], tol)
    out: dict[int, list[int]] = {}
    for s, t in zip(ps[hit], pt[hit]):
        out.setdefault(int(t), []).append(int(s))
    return out


def _edge_param(a, b, p, q, tol):
    """Parameters of p, q along a→b if both lie on the line ab (else None)."""
    d = b - a
    L2 = d @ d
    n = np.array([-d[1], d[0]]) / np.sqrt(L2)
    if abs((p - a) @ n) > tol or abs((q - a) @ n) > tol:
        return None
    return float((p - a) @ d / L2), float((q - a) @ d / L2)


def _cut_triangle(verts, segs_here, crack_mask, domain, tol):
    """Pieces of T ∩ Ω split by cracks. Returns list of (cells, coverage[3 lists])."""
    cells = [verts.copy()]
    for a, b in segs_here:
        d = b - a
        n = np.array([-d[1], d[0]]) / np.linalg.norm(d)
        new = []
        for c in cells:
            l, r = split_convex(c, a, n, tol)
            new += [x for x in (l, r) if x is not None and len(x) >= 3]
        cells = new
    area_T = abs(polygon_area(verts))
    cells = [c for c in cells if abs(polygon_area(c)) > 1e-10 * area_T]
    if not cells:
        return []
    cen = np.array([c.mean(axis=0) for c in cells])
    cells = [c for c, ok in zip(cells, domain.contains(cen)) if ok]
    cells = [c if polygon_area(c) > 0 else c[::-1] for c in cells]
    cracks = [s for s, m in zip(segs_here, crack_mask) if m]
    # union-find on cells: shared edge portions not covered by a crack
    parent = list(range(len(cells)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(cells)):
        for j in range(i + 1, len(cells)):
            if find(i) == find(j) or not _cells_connected(cells[i], cells[j], cracks, tol):
                continue
            parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(cells)):
        groups.setdefault(find(i), []).append(i)
    pieces = []
    for idx in groups.values():
        cov = [[], [], []]
        for i in idx:
            c = cells[i]
            for p, q in zip(c, np.roll(c, -1, axis=0)):
                for k in range(3):
                    st = _edge_param(verts[k], verts[(k + 1) % 3], p, q, tol)
                    if st is not None and abs(st[1] - st[0]) > 1e-12:
                        cov[k].append((min(st), max(st)))
        pieces.append(([cells[i] for i in idx], cov))
    return pieces


def _cells_connected(c1, c2, cracks, tol) -> bool:
    for p, q in zip(c1, np.roll(c1, -1, axis=0)):
        for r, s in zip(c2, np.roll(c2, -1, axis=0)):
            st = _edge_param(p, q, r, s, tol)
            if st is None:
                continue
            lo, hi = max(0.0, min(st)), min(1.0, max(st))
            if hi - lo <= 1e-9:
                continue
            cuts = [_edge_param(p, q, a, b, tol) for a, b in cracks]
            if subtract_intervals(lo, hi, [c for c in cuts if c is not None]) > 1e-9:
                return True
    return False


def build_manifold(domain: Domain, mesh: CoverMesh, discontinuities: list[Crack]) -> Manifold:
    """Manifold elements and physical covers of ``mesh`` on ``domain`` cut by discontinuities."""
    tol = 1e-9 * mesh.h_max
    dsegs = [c.segments for c in discontinuities]
    segs = np.concatenate([domain.segments, *dsegs]) if dsegs else domain.segments
    is_crack = np.r_[np.zeros(len(domain.segments), bool), np.ones(len(segs) - len(domain.segments), bool)]
    cand = _candidates(mesh, segs, tol)
    nt = mesh.n_triangles
    tri_v = mesh.points[mesh.triangles]
    is_cand = np.zeros(nt, bool)
    is_cand[list(cand)] = True
    full = ~is_cand & domain.contains(tri_v.mean(axis=1))
    # fast path: a triangle touched only by domain-boundary segments whose lines leave all
    # its vertices on the domain side is not cut (e.g. a boundary along mesh edges)
    uncut = _not_cut_by_boundary(cand, segs, is_crack, tri_v, tol)
    for t in uncut:
        del cand[t]
    full[uncut] = domain.contains(tri_v[uncut].mean(axis=1)) if len(uncut) else False
    # cut triangles: pieces
    pieces: dict[int, list] = {}
    for t in sorted(cand):
        s = cand[t]
        res = _cut_triangle(tri_v[t], segs[s], is_crack[s], domain, tol)
        if len(res) == 1 and len(res[0][0]) == 1 and abs(polygon_area(res[0][0][0])) >= (1 - 1e-12) * mesh.area[t] and not is_crack[s].any():
            full[t] = True
        elif res:
            pieces[t] = res
    full_idx = np.flatnonzero(full)
    full_elem = -np.ones(nt, np.int64)
    full_elem[full_idx] = np.arange(len(full_idx))
    elem_tri = [full_idx]
    cells, tri_elems, coverage = {}, {}, {}
    e = len(full_idx)
    sub_xy, sub_elem = [tri_v[full_idx]], [np.arange(len(full_idx))]
    for t, plist in pieces.items():
        tri_elems[t] = []
        for cl, cov in plist:
            cells[e], coverage[e] = cl, cov
            tri_elems[t].append(e)
            fan = [np.stack([np.tile(c[0], (len(c) - 2, 1)), c[1:-1], c[2:]], axis=1) for c in cl]
            fan = np.concatenate(fan)
            sub_xy.append(fan)
            sub_elem.append(np.full(len(fan), e))
            e += 1
        elem_tri.append(np.full(len(plist), t))
    elem_tri = np.concatenate(elem_tri)
    nE = len(elem_tri)
    # ---------------------------------------------------------------- cover connectivity
    T = mesh.triangles
    edges = np.stack([T, np.roll(T, -1, axis=1)], axis=2).reshape(-1, 2)  # edge k of t: row 3t+k
    key = np.sort(edges, axis=1)
    order = np.lexsort((key[:, 1], key[:, 0]))
    ks = key[order]
    same = np.all(ks[1:] == ks[:-1], axis=1)
    r1, r2 = order[:-1][same], order[1:][same]  # paired half-edges
    t1, k1, t2, k2 = r1 // 3, r1 % 3, r2 // 3, r2 % 3
    a1, b1 = T[t1, k1], T[t1, (k1 + 1) % 3]
    # local index of vertex a1 / b1 in triangle t2 (edge k2 runs b1 -> a1)
    la2, lb2 = (k2 + 1) % 3, k2
    la1, lb1 = k1, (k1 + 1) % 3
    both_full = full[t1] & full[t2]
    e1, e2 = full_elem[t1[both_full]], full_elem[t2[both_full]]
    gi = [3 * e1 + la1[both_full], 3 * e1 + lb1[both_full]]
    gj = [3 * e2 + la2[both_full], 3 * e2 + lb2[both_full]]
    for m in np.flatnonzero(~both_full):
        ta, tb = int(t1[m]), int(t2[m])
        el_a = [full_elem[ta]] if full[ta] else tri_elems.get(ta, [])
        el_b = [full_elem[tb]] if full[tb] else tri_elems.get(tb, [])
        if not el_a or not el_b:
            continue
        va, vb = mesh.points[a1[m]], mesh.points[b1[m]]
        cuts = []
        for t in (ta, tb):
            for s in cand.get(t, []):
                if is_crack[s]:
                    st = _edge_param(va, vb, segs[s, 0], segs[s, 1], tol)
                    if st is not None:
                        cuts.append(st)
        for ea in el_a:
            ia = [(0.0, 1.0)] if full[ta] else _cov(coverage[ea][k1[m]], False)
            for eb in el_b:
                ib = [(0.0, 1.0)] if full[tb] else _cov(coverage[eb][k2[m]], True)
                if _overlap(ia, ib, cuts) > 1e-9:
                    gi += [np.array([3 * ea + la1[m], 3 * ea + lb1[m]])]
                    gj += [np.array([3 * eb + la2[m], 3 * eb + lb2[m]])]
    gi, gj = np.concatenate(gi).astype(np.int64), np.concatenate(gj).astype(np.int64)
    g = coo_matrix((np.ones(len(gi)), (gi, gj)), shape=(3 * nE, 3 * nE))
    _, labels = connected_components(g, directed=False)
    uniq, cover = np.unique(labels, return_inverse=True)
    elem_cover = cover.reshape(nE, 3)
    cover_vertex = np.zeros(len(uniq), np.int64)
    cover_vertex[elem_cover.ravel()] = T[elem_tri].ravel()
    sub_xy = np.concatenate(sub_xy)
    sub_elem = np.concatenate(sub_elem)
    # orient integration triangles counter-clockwise, drop slivers
    a = _tri_area(sub_xy)
    sub_xy[a < 0] = sub_xy[a < 0][:, [0, 2, 1]]
    return Manifold(mesh, elem_tri, elem_cover, cover_vertex, sub_xy, sub_elem, cells, tri_elems, full_elem)


def _not_cut_by_boundary(cand: dict, segs: np.ndarray, is_crack: np.ndarray, tri_v: np.ndarray, tol: float) -> np.ndarray:
    """Candidate triangles that no segment line cuts: only boundary segments touch them and
    every vertex lies on the inner (left) side of each such segment's line, within tol."""
    if not cand:
        return np.zeros(0, np.int64)
    ts = np.fromiter(cand.keys(), np.int64, len(cand))
    counts = np.fromiter((len(v) for v in cand.values()), np.int64, len(cand))
    ss = np.fromiter((i for v in cand.values() for i in v), np.int64, int(counts.sum()))
    tt = np.repeat(ts, counts)
    a, b = segs[ss, 0], segs[ss, 1]
    d = b - a
    n = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.linalg.norm(d, axis=1)[:, None]  # inward normal
    side = np.einsum("mkd,md->mk", tri_v[tt] - a[:, None, :], n)
    ok = (side >= -tol).all(axis=1) & ~is_crack[ss]
    bad = np.zeros(len(tri_v), bool)
    bad[tt[~ok]] = True
    return ts[~bad[ts]]


def _cov(intervals, flip):
    return [(1 - b, 1 - a) for a, b in intervals] if flip else list(intervals)


def _overlap(ia, ib, cuts) -> float:
    total = 0.0
    for a0, a1 in ia:
        for b0, b1 in ib:
            lo, hi = max(a0, b0), min(a1, b1)
            if hi > lo:
                total += subtract_intervals(lo, hi, cuts)
    return total
