"""Boundary conditions and loads, and line quadrature on ∂Ω and on discontinuities.

:class:`Dirichlet` and :class:`Traction` are the solver-agnostic descriptions of
:mod:`learned.boundary` (the FEM solver takes the same objects); NMM interprets them here.
Boundary parts are selected by a segment ``where = ((x0, y0), (x1, y1))`` (a
:class:`learned.boundary.Segment`): the condition applies on the portions of ∂Ω that lie on
that segment, integrated at line Gauss points (covers do not follow the boundary, so mesh
facets / vertices do not apply). A Dirichlet at a :class:`learned.boundary.Point` is a
:class:`PointConstraint`. Callable values get the coordinates as x[0], x[1], each (n,).
Thickness is 1 m (plane problems).

Dirichlet conditions on ∂Ω are imposed weakly by **Nitsche's method**

    a(u,v) − ∫_Γ v·S σ(u)n − ∫_Γ (u−ū)·S σ_ref(v)n + α ∫_Γ (u−ū)·S v = ℓ(v),

S = diag of the constrained components, α = β·E_ref/h (β = ``penalty``). NMM dofs are not
nodal values (covers extend beyond Ω, order-1 dofs are coefficients), so elimination is
not available; a pure penalty is inconsistent (error O(1/β), the patch test fails), while
Nitsche is consistent for any β (patch test to round-off) and keeps the conditioning of
the stiffness. σ(u) comes from the law; the symmetric term uses the reference stiffness.
Point constraints (fixed points) are penalty springs k = β·E_ref·1 m, as in DDA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, Union

import numpy as np

from learned.boundary import Dirichlet, Segment, Traction, as_part, evaluate_at
from nmm.covers import Manifold
from nmm.errors import InputError
from nmm.geometry import Domain
from nmm.integration import segment_quadrature

Value = Union[float, Callable[[np.ndarray], np.ndarray], None]

__all__ = ["Dirichlet", "DirichletBC", "Traction", "PointConstraint", "PointLoad", "LineQuadrature",
           "split_on_mesh", "boundary_quadrature", "eval_value"]

#: former name of :class:`Dirichlet` (kept importable; use ``nmm.Dirichlet``)
DirichletBC = Dirichlet


@dataclass
class PointConstraint:
    """Prescribed displacement at a point (penalty spring)."""

    point: Sequence[float]
    ux: float | None = None
    uy: float | None = None


@dataclass
class PointLoad:
    """Concentrated force (fx, fy) [N per m thickness] at a point."""

    point: Sequence[float]
    force: Sequence[float]


@dataclass
class LineQuadrature:
    """Points on a line: x (n,2), weights w (n,) [m], element (n,), unit normal (n,2)."""

    x: np.ndarray
    w: np.ndarray
    elem: np.ndarray
    normal: np.ndarray


def _as_segment(where, key: str) -> np.ndarray:
    try:
        part = as_part(where)
    except ValueError:
        part = None
    if not isinstance(part, Segment):
        found = type(where).__name__ if part is not None else f"{where!r}"
        raise InputError(key, found, "a segment [[x0, y0], [x1, y1]] in m (NMM covers do not follow the "
                         "boundary: mesh facets and vertices do not apply; a Point Dirichlet is a point constraint)")
    s = part.points()
    if np.linalg.norm(s[1] - s[0]) == 0:
        raise InputError(key, "a zero-length segment", "two distinct points")
    return s


def split_on_mesh(man: Manifold, a: np.ndarray, b: np.ndarray, side: np.ndarray, n_gauss: int) -> LineQuadrature:
    """Gauss points on segment a→b split at triangle edges and cracks; elements on ``side``
    (unit vector pointing to the material side)."""
    mesh = man.mesh
    L = np.linalg.norm(b - a)
    # breakpoints: crossings with triangle edges and with cut cells of nearby triangles
    nsamp = max(2, int(np.ceil(L / (0.25 * mesh.h_max))) + 1)
    probe = a + (b - a) * np.linspace(0, 1, nsamp)[:, None]
    from scipy.spatial import cKDTree

    if not hasattr(mesh, "_ptree"):
        mesh._ptree = cKDTree(mesh.points)
    near = np.unique(np.concatenate([np.asarray(c, np.int64) for c in mesh._ptree.query_ball_point(probe, 1.5 * mesh.h_max)]))
    mask = np.zeros(mesh.n_vertices, bool)
    mask[near] = True
    tris = np.flatnonzero(mask[mesh.triangles].any(axis=1))
    ts = [0.0, 1.0]
    d = b - a
    polys = [mesh.points[mesh.triangles[t]] for t in tris]
    polys += [c for t in tris for e in man.tri_elems.get(int(t), []) for c in man.cells[e]]
    for poly in polys:
        p, q = poly, np.roll(poly, -1, axis=0)
        e = q - p
        den = d[0] * e[:, 1] - d[1] * e[:, 0]
        ok = np.abs(den) > 1e-14 * L * np.linalg.norm(e, axis=1)
        r = p - a
        t = np.where(ok, (r[:, 0] * e[:, 1] - r[:, 1] * e[:, 0]) / np.where(ok, den, 1), -1)
        s = np.where(ok, (r[:, 0] * d[1] - r[:, 1] * d[0]) / np.where(ok, den, 1), -1)
        sel = ok & (t > 0) & (t < 1) & (s >= -1e-12) & (s <= 1 + 1e-12)
        ts.extend(t[sel].tolist())
    ts = np.unique(np.round(np.asarray(ts), 13))
    ts = ts[np.r_[True, np.diff(ts) > 1e-10]]
    pa, pb = a + d * ts[:-1, None], a + d * ts[1:, None]
    mid = 0.5 * (pa + pb) + side * 1e-7 * mesh.h_max
    elem = man.locate(mid)
    ok = elem >= 0
    pa, pb, elem = pa[ok], pb[ok], elem[ok]
    x, w = segment_quadrature(pa, pb, n_gauss)
    e = np.repeat(elem, n_gauss)
    nrm = np.tile(side, (len(x), 1))
    return LineQuadrature(x, w, e, nrm)


def boundary_quadrature(man: Manifold, domain: Domain, where, n_gauss: int, key: str) -> LineQuadrature:
    """Gauss points on the parts of ∂Ω lying on segment ``where``; normal = outward unit normal."""
    sel = _as_segment(where, key)
    tol = 1e-8 * domain.size
    d = sel[1] - sel[0]
    Ld = np.linalg.norm(d)
    nd = np.array([-d[1], d[0]]) / Ld
    parts = []
    for a, b in domain.segments:
        if abs((a - sel[0]) @ nd) > tol or abs((b - sel[0]) @ nd) > tol:
            continue
        ta, tb = (a - sel[0]) @ d / Ld**2, (b - sel[0]) @ d / Ld**2
        lo, hi = max(min(ta, tb), 0.0), min(max(ta, tb), 1.0)
        if (hi - lo) * Ld <= tol:
            continue
        e = b - a
        inward = np.array([-e[1], e[0]]) / np.linalg.norm(e)
        q = split_on_mesh(man, sel[0] + lo * d, sel[0] + hi * d, inward, n_gauss)
        q.normal = -q.normal
        parts.append(q)
    if not parts:
        raise InputError(key, f"segment {sel.tolist()} touches no part of the domain boundary", "a segment lying on the boundary")
    return LineQuadrature(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("x", "w", "elem", "normal")))


def eval_value(v: Value, x: np.ndarray) -> np.ndarray | None:
    """A prescribed scalar value at points x (n, 2) [m] → (n,): None, a constant or a callable
    of the coordinates x[0], x[1] (each (n,); :func:`learned.boundary.evaluate_at`)."""
    if v is None:
        return None
    return evaluate_at(v, x, 1)
