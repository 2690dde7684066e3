"""Build the :class:`nmm.ManifoldModel` of a validated NMM case (solver = "nmm").

Bad input found by the :mod:`nmm` package (``nmm.InputError`` with its own key path, e.g.
``cracks[0].points`` or ``mesh.triangles[3]``) is reported on the case-file key path
(``cracks[0].points``, ``cover.path``, ``nmm.order``, ``boundary.dirichlet[1].where``) as
a :class:`coupling.CaseError`: one line, exit status 2, nothing written.
"""

from __future__ import annotations

import contextlib
import io

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from mpi4py import MPI

import nmm
from coupling.case.common import build_joint_law, build_law
from coupling.case.loader import Case
from coupling.limits import check_counted_cells
from coupling.setup_checks import check_nmm_domain, check_stress_maxima_discs
from coupling.case.nmm import (
    CircleHole,
    FileCover,
    GeostaticStress,
    GradedCover,
    NmmCase,
    PolygonDomain,
    RectangleCover,
    RectangleDomain,
    UniformStress,
)
from learned.boundary import Point
from nmm.discontinuity import crack_tips
from nmm.mesh import graded_coordinates

SIDES = ("left", "right", "bottom", "top")


@dataclass
class Built:
    """A model built from a case and the maps from nmm objects back to case keys."""

    model: nmm.ManifoldModel
    joint_case_index: list[int] = field(default_factory=list)  # nmm joint -> case joint
    bc_keys: list[str] = field(default_factory=list)  # nmm boundary item -> case key
    holes: list[np.ndarray] = field(default_factory=list)


# ---------------------------------------------------------------------------- errors
class _KeyMap:
    """Translate nmm.InputError key paths into case key paths."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.joints: list[int] = []
        self.bcs: list[str] = []

    def key(self, key: str) -> tuple[str, str]:
        """(case key, prefix for the 'found' text)."""
        spec: NmmCase = self.case.spec
        if key == "domain.outer":
            return ("domain.points" if isinstance(spec.domain, PolygonDomain) else "domain.size"), ""
        if key.startswith("mesh"):
            sub = key[len("mesh"):].lstrip(".")
            where = "cover.path" if isinstance(spec.cover, FileCover) else "cover"
            return where, (f"{sub}: " if sub and sub != "file" else "")
        if key == "order":
            return "nmm.order", ""
        if key.startswith("joints[") and self.joints:
            i = int(key[len("joints["):key.index("]")])
            rest = key[key.index("]") + 1:]
            return f"joints[{self.joints[i] if i < len(self.joints) else i}]{rest}", ""
        if key.startswith("boundary[") and self.bcs:
            i = int(key[len("boundary["):key.index("]")])
            rest = key[key.index("]") + 1:]
            base = self.bcs[i] if i < len(self.bcs) else f"boundary[{i}]"
            return (base if rest in (".where", "") else base + rest), ""
        if key == "density":
            return "material.density", ""
        return key, ""

    def error(self, exc: nmm.InputError):
        k, prefix = self.key(exc.key)
        return self.case.error(k, prefix + exc.found, exc.allowed)


# ---------------------------------------------------------------------------- geometry
def _domain(spec: NmmCase) -> nmm.Domain:
    holes = []
    for h in spec.domain.holes:
        if isinstance(h, CircleHole):
            holes.append(nmm.circle_polygon(h.center, h.radius, h.segments))
        else:
            holes.append(np.asarray(h.points, float))
    if isinstance(spec.domain, RectangleDomain):
        (x0, y0), (L, H) = spec.domain.origin, spec.domain.size
        return nmm.Domain.rectangle(x0, y0, x0 + L, y0 + H, holes=holes)
    return nmm.Domain(np.asarray(spec.domain.points, float), holes)


def _first_tip(spec: NmmCase, domain: nmm.Domain) -> np.ndarray | None:
    if not spec.cracks:
        return None
    p = np.asarray(spec.cracks[0].points, float)
    tol = 1e-9 * domain.size
    for end in (p[-1], p[0]):
        if domain.distance_to_boundary(end[None])[0] > tol and domain.contains(end[None])[0]:
            return end
    return None


def _cover(case: Case, domain: nmm.Domain) -> nmm.CoverMesh:
    spec: NmmCase = case.spec
    c = spec.cover
    if isinstance(c, FileCover):
        path = case.resolve(c.path)
        if not path.is_file():
            from learned.files import missing_file

            raise case.error("cover.path", missing_file(path, f"mesh file '{path}'"), "a triangle mesh file meshio can read")
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                cover = nmm.CoverMesh.read(path)  # meshio prints its own complaints
        except (Exception, SystemExit) as exc:  # readers raise anything, some call sys.exit
            text = exc.found if isinstance(exc, nmm.InputError) else str(exc)  # its "allowed" is ours below
            reason = (str(text).strip().splitlines() or [type(exc).__name__])[0]
            raise case.error("cover.path", f"cannot read mesh '{path}': {reason}", "a triangle mesh file meshio can read")
        check_counted_cells(case, len(cover.triangles), "cover.path")
        return cover
    lo = np.asarray(c.origin if c.origin is not None else domain.bbox[:2], float)
    size = np.asarray(c.size if c.size is not None else domain.bbox[2:] - domain.bbox[:2], float)
    hi = lo + size
    if isinstance(c, RectangleCover):
        return nmm.CoverMesh.rectangle(lo[0], lo[1], hi[0], hi[1], c.cells[0], c.cells[1], c.diagonal)
    assert isinstance(c, GradedCover)
    if c.center is not None:
        center = np.asarray(c.center, float)
    else:
        tip = _first_tip(spec, domain)
        if tip is not None:  # shifted off the tip so that the crack does not run along a grid line
            center = tip + np.array([0.37, 0.41]) * c.h_min
        elif domain.holes:
            center = domain.holes[0].mean(axis=0)
        else:
            center = 0.5 * (lo + hi)
    xs = graded_coordinates(lo[0], hi[0], center[0], c.h_min, c.h_max, c.growth)
    ys = graded_coordinates(lo[1], hi[1], center[1], c.h_min, c.h_max, c.growth)
    return nmm.CoverMesh.from_grid(xs, ys)


def _clip_by_holes(points: np.ndarray, holes: list[np.ndarray]) -> list[np.ndarray]:
    """Pieces (polylines) of a polyline outside the holes (parts inside holes are dropped)."""
    if not holes:
        return [points]
    hole_domains = [nmm.Domain(h) for h in holes]
    pieces: list[list[np.ndarray]] = []
    current: list[np.ndarray] = []
    for a, b in zip(points[:-1], points[1:]):
        d = b - a
        ts = [0.0, 1.0]
        for h in holes:
            p, q = h, np.roll(h, -1, axis=0)
            e = q - p
            den = d[0] * e[:, 1] - d[1] * e[:, 0]
            ok = np.abs(den) > 1e-14 * np.linalg.norm(d) * np.linalg.norm(e, axis=1)
            r = p - a
            t = np.where(ok, (r[:, 0] * e[:, 1] - r[:, 1] * e[:, 0]) / np.where(ok, den, 1), -1)
            s = np.where(ok, (r[:, 0] * d[1] - r[:, 1] * d[0]) / np.where(ok, den, 1), -1)
            ts += t[ok & (t > 0) & (t < 1) & (s >= 0) & (s <= 1)].tolist()
        ts = np.unique(ts)
        for t0, t1 in zip(ts[:-1], ts[1:]):
            mid = a + d * (0.5 * (t0 + t1))
            inside = any(hd.contains(mid[None])[0] for hd in hole_domains)
            if inside:
                if current:
                    pieces.append(current)
                current = []
                continue
            pa, pb = a + d * t0, a + d * t1
            if not current:
                current = [pa]
            current.append(pb)
    if current:
        pieces.append(current)
    return [np.asarray(p) for p in pieces]


def _boundary_segments(case: Case, domain: nmm.Domain, name: str | None, where, key: str) -> list[np.ndarray]:
    """Segments selecting a boundary part: a named part or the segment ``where``."""
    if where is not None:
        return [np.asarray(where, float)]
    x0, y0, x1, y1 = domain.bbox
    sides = {"left": [[x0, y0], [x0, y1]], "right": [[x1, y0], [x1, y1]],
             "bottom": [[x0, y0], [x1, y0]], "top": [[x0, y1], [x1, y1]]}
    if name in sides:
        return [np.asarray(sides[name], float)]
    n_outer = len(domain.outer)
    if name == "outer":
        return list(domain.segments[:n_outer])
    if name == "holes" and domain.holes:
        return list(domain.segments[n_outer:])
    if name and name.startswith("holes[") and name.endswith("]") and name[6:-1].isdigit():
        k = int(name[6:-1])
        if k < len(domain.holes):
            start = n_outer + sum(len(h) for h in domain.holes[:k])
            return list(domain.segments[start:start + len(domain.holes[k])])
    allowed = "left | right | bottom | top | outer" + (" | holes | holes[0.." + str(len(domain.holes) - 1) + "]" if domain.holes else "")
    raise case.error(key, f"found {name!r}", allowed)


def _extent(domain: nmm.Domain, seg: np.ndarray) -> tuple[float, float, float]:
    """(s0, s1, length): range along seg of the boundary parts lying on it, and their length."""
    d = seg[1] - seg[0]
    L = np.linalg.norm(d)
    nd = np.array([-d[1], d[0]]) / L
    tol = 1e-8 * domain.size
    s0, s1, length = np.inf, -np.inf, 0.0
    for a, b in domain.segments:
        if abs((a - seg[0]) @ nd) > tol or abs((b - seg[0]) @ nd) > tol:
            continue
        ta, tb = sorted(((a - seg[0]) @ d / L, (b - seg[0]) @ d / L))
        lo, hi = max(ta, 0.0), min(tb, L)
        if hi - lo > tol:
            s0, s1, length = min(s0, lo), max(s1, hi), length + hi - lo
    return s0, s1, length


def _geostatic(g: GeostaticStress, spec: NmmCase) -> Callable[[np.ndarray], np.ndarray]:
    gamma = g.unit_weight if g.unit_weight is not None else spec.material.density * float(np.hypot(*spec.gravity))

    def sigma0(x: np.ndarray) -> np.ndarray:
        sv = -(g.surcharge + gamma * (g.surface - x[:, 1]))
        return np.c_[g.k0 * sv, sv, np.zeros(len(x))]

    return sigma0


# ---------------------------------------------------------------------------- build
def build_model(case: Case, comm: MPI.Comm = MPI.COMM_WORLD) -> Built:
    """The :class:`nmm.ManifoldModel` of a validated NMM case (raises CaseError on bad input)."""
    spec: NmmCase = case.spec
    check_nmm_domain(case)
    keys = _KeyMap(case)
    try:
        domain = _domain(spec)
        mesh = _cover(case, domain)
        cracks = [nmm.Crack(np.asarray(c.points, float), name=c.name) for c in spec.cracks]
        joints = []
        for i, j in enumerate(spec.joints):
            law = build_joint_law(case, j.law, f"joints[{i}].law")
            pieces = _clip_by_holes(np.asarray(j.points, float), domain.holes)
            if not pieces:
                raise case.error(f"joints[{i}].points", "the joint lies inside a hole", "lines inside the domain")
            for p in pieces:
                joints.append(nmm.Joint(p, name=j.name or f"joint {i}", law=law, kn=j.kn, ks=j.ks))
                keys.joints.append(i)
        model = nmm.ManifoldModel(domain, mesh, cracks=cracks, joints=joints, law=build_law(case, spec.material),
                                  order=spec.nmm.order, density=spec.material.density, penalty=spec.nmm.penalty,
                                  stabilisation=spec.nmm.stabilisation, comm=comm)
        if np.any(spec.gravity) or np.any(spec.body_force):
            model.set_body_force(b=spec.body_force, gravity=spec.gravity)
        if isinstance(spec.initial_stress, UniformStress):
            model.set_initial_stress(spec.initial_stress.stress)
        elif isinstance(spec.initial_stress, GeostaticStress):
            top = domain.bbox[3]
            if spec.initial_stress.surface < top - 1e-9 * domain.size:
                raise case.error("initial_stress.surface", f"found {spec.initial_stress.surface}",
                                 f"at or above the top of the domain (y >= {top:g} m)")
            model.set_initial_stress(_geostatic(spec.initial_stress, spec))
        _add_boundary(case, model, domain, keys)
        model.linear_terms()  # checks every boundary part now (touches the boundary?)
    except nmm.InputError as exc:
        raise keys.error(exc) from None
    except ValueError as exc:  # learned/ law constructors
        raise case.error(None, str(exc)) from None
    for i, p in enumerate(spec.probes):
        if model.man.locate(np.asarray([p.point], float))[0] < 0:
            raise case.error(f"probes[{i}].point", f"{list(p.point)} is outside the domain", "points inside the domain")
    check_stress_maxima_discs(case, model.man.sub_xy, element=model.man.sub_elem)
    _check_sif_radius(case, domain, cracks)
    return Built(model, keys.joints, keys.bcs, list(domain.holes))


def _check_sif_radius(case: Case, domain: nmm.Domain, cracks: list[nmm.Crack]) -> None:
    """A given ``sif.r_out`` must keep the integration domain of every crack tip inside the body
    and off the crack's other end: r_out ≤ min(d, L), d [m] the tip's distance to the domain
    boundary (holes included), L [m] the crack's length (the default r_out is half of it).

    The domain form of the interaction integral holds only where q = 0 on the outer edge of
    its domain; a disc that reaches the boundary drops the boundary terms (cases/nmm_edge_crack.toml:
    r_out = 1 m against d = 0.3 m gave K_I 8.8 % low) and a disc r_in = r_in_ratio · r_out that
    holds the whole body gives K_I = K_II = 0 (r_out = 100 m), silently, before session 16.
    """
    spec: NmmCase = case.spec
    r_out = spec.sif.r_out
    if not spec.sif.compute or r_out is None:
        return
    for i, crack in enumerate(cracks):
        for tip, _ in crack_tips(crack, domain):
            d = float(domain.distance_to_boundary(tip[None])[0])
            limit = min(d, float(crack.length))
            if r_out > limit * (1.0 + 1e-9):  # the slack absorbs round-off in d of a radius given as d
                raise case.error("sif.r_out", f"found {r_out:g} m at the tip ({tip[0]:g}, {tip[1]:g}) of cracks[{i}]",
                                 f"at most {limit:g} m, the smaller of the tip's distance to the domain boundary "
                                 f"({d:g} m) and the crack's length ({float(crack.length):g} m); or omitted "
                                 "(half of it)")


def _add_boundary(case: Case, model: nmm.ManifoldModel, domain: nmm.Domain, keys: _KeyMap) -> None:
    spec: NmmCase = case.spec
    b = spec.boundary
    for i, d in enumerate(b.dirichlet):
        key = f"boundary.dirichlet[{i}]"
        for seg in _boundary_segments(case, domain, d.boundary, d.where, key + ".boundary"):
            model.add(nmm.Dirichlet(seg, ux=d.ux, uy=d.uy))
            keys.bcs.append(key + (".where" if d.where is not None else ".boundary"))
    for i, t in enumerate(b.traction):
        key = f"boundary.traction[{i}]"
        segs = _boundary_segments(case, domain, t.boundary, t.where, key + ".boundary")
        if t.in_situ and spec.initial_stress is None:
            raise case.error(key + ".in_situ", "found true without [initial_stress]", "in_situ = true with an initial_stress table")
        if t.force is not None and len(segs) != 1:
            raise case.error(key + ".force", f"found a force on {t.boundary!r}",
                             "force on a straight boundary part (left, right, bottom, top or where); use traction or pressure")
        for seg in segs:
            if t.traction is not None:
                item = nmm.Traction(seg, value=t.traction)
            elif t.pressure is not None:
                item = nmm.Traction(seg, pressure=t.pressure)
            elif t.in_situ:
                item = nmm.Traction(seg, in_situ=True)
            else:
                s0, s1, length = _extent(domain, seg)
                if length <= 0:
                    raise case.error(key + (".where" if t.where is not None else ".boundary"),
                                     "touches no part of the domain boundary", "a straight part of the boundary")
                f = np.asarray(t.force, float)
                if t.profile == "uniform":
                    item = nmm.Traction(seg, value=f / length)
                else:  # parabolic: w(s) = 6 (s − s0)(s1 − s) / L³, ∫ w ds = 1
                    a, e = seg[0], (seg[1] - seg[0]) / np.linalg.norm(seg[1] - seg[0])
                    Lp = s1 - s0

                    def value(x, a=a, e=e, s0=s0, s1=s1, Lp=Lp, f=f):
                        s = (np.asarray(x).T - a) @ e  # x[0], x[1]: coordinates (n,) each
                        w = 6.0 * (s - s0) * (s1 - s) / Lp**3
                        return (w * f[0], w * f[1])

                    item = nmm.Traction(seg, value=value)
            model.add(item)
            keys.bcs.append(key + (".where" if t.where is not None else ".boundary"))
    for table, items in (("point", b.point), ("point_load", b.point_load)):
        for i, p in enumerate(items):  # named here: the assembly's own check says only "point"
            if model.man.locate(np.asarray([p.point], float))[0] < 0:
                raise case.error(f"boundary.{table}[{i}].point", f"{list(p.point)} is outside the domain",
                                 "a point inside the domain")
    for i, p in enumerate(b.point):
        model.add(nmm.Dirichlet(Point(tuple(p.point)), ux=p.ux, uy=p.uy))  # a penalty spring
        keys.bcs.append(f"boundary.point[{i}].point")
    for i, p in enumerate(b.point_load):
        model.add(nmm.PointLoad(p.point, p.force))
        keys.bcs.append(f"boundary.point_load[{i}].point")
