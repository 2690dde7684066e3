"""Checks of the set-up phase shared by ``run`` and ``check`` (before the first solve)."""

from __future__ import annotations

import numpy as np


def check_probes_in_mesh(case, mesh) -> None:
    """Every ``probes[i].point`` lies in a cell of ``mesh`` (collective); else a CaseError.

    A probe outside the mesh would otherwise report NaN in summary.json after the solve.
    """
    probes = getattr(case.spec, "probes", [])
    if not probes:
        return
    from dolfinx import geometry
    from mpi4py import MPI

    pts = np.zeros((len(probes), 3))
    pts[:, :2] = [p.point for p in probes]
    tree = geometry.bb_tree(mesh, 2)
    cells = geometry.compute_colliding_cells(mesh, geometry.compute_collisions_points(tree, pts), pts)
    n_own = mesh.topology.index_map(2).size_local
    found = np.array([int(any(c < n_own for c in cells.links(i))) for i in range(len(probes))], dtype=np.int32)
    found = mesh.comm.allreduce(found, op=MPI.SUM)
    for i, p in enumerate(probes):
        if not found[i]:
            raise case.error(f"probes[{i}].point", f"{list(p.point)} is outside the mesh", "a point inside the mesh")


def check_stress_maxima_discs(case, triangles: np.ndarray, comm=None, element: np.ndarray | None = None) -> None:
    """Some cell lies wholly outside every ``output.stress_maxima_exclude`` disc (collective
    with ``comm``); else a CaseError: the stress maxima would be taken over nothing. The cells
    are ``triangles`` (n, 3, 2) [m] (the FEM owned cells), or, with ``element`` (n,), the NMM
    manifold elements these integration triangles make up."""
    discs = case.spec.output.stress_maxima_exclude
    if not discs:
        return
    from coupling.runners.reporting import outside_discs

    outside = outside_discs(triangles, discs)
    what = "cell of the mesh"
    if element is not None:
        what = "manifold element"
        inside = np.zeros(int(element.max()) + 1 if len(element) else 0, dtype=bool)
        inside[element[~outside]] = True
        outside = ~inside
    count = int(outside.sum())
    if comm is not None:
        from mpi4py import MPI

        count = comm.allreduce(count, op=MPI.SUM)
    if not count:
        shown = [{"center": list(d.center), "radius": d.radius} for d in discs]
        raise case.error("output.stress_maxima_exclude", f"{shown} covers every {what}",
                         f"discs that leave some {what} wholly outside")


def _segment_distance(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance [m] of points (n, 2) to the closed polygon ``poly`` (m, 2): shape (n,)."""
    a, b = poly[None, :, :], np.roll(poly, -1, axis=0)[None, :, :]
    ab = b - a
    t = np.clip(np.einsum("ijk,ijk->ij", pts[:, None, :] - a, ab) / np.maximum(np.einsum("ijk,ijk->ij", ab, ab), 1e-300),
                0.0, 1.0)
    return np.linalg.norm(pts[:, None, :] - (a + t[..., None] * ab), axis=2).min(axis=1)


def check_nmm_domain(case) -> None:
    """The NMM domain is a simple polygon and each hole a simple polygon (or circle) strictly
    inside it and outside the other holes — so that such errors are blamed on the domain key,
    not reported later as a cover that does not cover the domain."""
    from dda.errors import InputError
    from dda.geometry import check_polygon, points_in_polygon

    d = case.spec.domain
    if d.kind == "rectangle":
        (x0, y0), (w, h) = d.origin, d.size
        outer = np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]])
    else:
        try:
            outer = check_polygon(np.asarray(d.points, float), "domain.points")
        except InputError as exc:
            raise case.error("domain.points", f"found {exc.found}", exc.allowed) from None
    tol = 1e-9 * float(np.ptp(outer, axis=0).max())
    shapes = []  # (key, vertices, centre, radius)
    for i, hole in enumerate(d.holes):
        key = f"domain.holes[{i}]"
        if hole.kind == "circle":
            c = np.asarray(hole.center, float)
            t = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
            verts = c + hole.radius * np.c_[np.cos(t), np.sin(t)]
            inside = points_in_polygon(c[None], outer)[0] and _segment_distance(c[None], outer)[0] > hole.radius + tol
            shapes.append((key, verts, c, hole.radius))
        else:
            try:
                verts = check_polygon(np.asarray(hole.points, float), f"{key}.points")
            except InputError as exc:
                raise case.error(f"{key}.points", f"found {exc.found}", exc.allowed) from None
            inside = bool(points_in_polygon(verts, outer).all() and (_segment_distance(verts, outer) > tol).all())
            shapes.append((key, verts, None, None))
        if not inside:
            raise case.error(key, "a hole that is not strictly inside the domain",
                             "holes inside the domain, not touching its boundary")
    for i, (key_i, vi, ci, ri) in enumerate(shapes):
        for key_j, vj, cj, rj in shapes[i + 1:]:
            overlap = points_in_polygon(vi, vj).any() or points_in_polygon(vj, vi).any()
            if ci is not None and cj is not None:
                overlap = float(np.hypot(*(ci - cj))) < ri + rj
            if overlap:
                raise case.error(key_j, f"a hole overlapping {key_i}", "holes apart from each other")
