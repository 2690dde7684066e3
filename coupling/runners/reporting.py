"""Reporting shared by every runner: probe entries with their reference and relative error,
and the stress maxima outside the discs of ``output.stress_maxima_exclude`` (docs/cases.md,
"Stress maxima": a cell counts when dist(c_k, K) ≥ r_k for every disc k).

Von Mises has one definition too, :func:`learned.law.von_mises` (σzz included in plane
strain), used by the solvers' fields and by these reports.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from dda.geometry import point_segment_distance
from learned.data_region import accept_step as _accept_laws
from learned.law import von_mises  # noqa: F401  (re-exported for the runners)


def accept_step(case: Any) -> None:
    """The solver accepted a step: every learned law of ``case`` adds the state it was last
    evaluated at to its run's out-of-distribution counts (:meth:`learned.data_region.RegionMonitor.accept`).
    Runners call it from their step callback (converged load step, accepted time step)."""
    _accept_laws(law for law, _ in case.learned_laws.values())


def relative_error(value: float, reference: float) -> float | None:
    """|value − reference| / |reference|; None when the reference is 0 (no relative error is
    defined there: the value itself is the absolute error, reported beside it)."""
    return float(abs(value - reference) / abs(reference)) if reference else None  # a float, not np.float64


def probe_entry(point: Sequence[float], quantity: str, value: float, reference: float | None = None,
                note: str | None = None) -> dict[str, Any]:
    """One probe of summary.json: point [m], quantity, value [m or Pa], and, when a reference
    is given, the reference and the relative error."""
    entry: dict[str, Any] = {"point": list(point), "quantity": quantity, "value": float(value)}
    if note:
        entry["note"] = note
    if reference is not None:
        entry["reference"] = reference
        entry["relative_error"] = relative_error(value, reference)
    return entry


def probes_report(probes: Sequence[Any], values: Sequence[float], note: str | None = None) -> dict[str, Any]:
    """``{name: entry}`` of case probes (with ``name``, ``point``, ``quantity``, ``reference``)
    and their values; ``note`` is added to stress probes (not to ux, uy)."""
    return {
        p.name: probe_entry(p.point, p.quantity, v, p.reference, note if p.quantity not in ("ux", "uy") else None)
        for p, v in zip(probes, values)
    }


# ---------------------------------------------------------------------------- references and overrides
#: ``--set`` keys (with everything below them) that change how a case is discretised, solved,
#: checked or written, not the problem it states: a probe's ``reference`` (a number in the case
#: file, worked out in its header from the case's geometry, material and loads) still applies
#: when a run's overrides touch only these. Any other key (``material``, ``materials``,
#: ``boundary``, ``domain``, ``mesh`` geometry, ``gravity``, ``cracks``, ``joints``, ``data``,
#: ``fem.load_path``, ...) may change the answer the reference is a value of.
SOLUTION_KEYS: tuple[tuple[str, ...], ...] = (
    ("title",), ("description",), ("accuracy",), ("accuracy_studies",), ("not_resolved",), ("output",), ("limits",),
    ("mesh", "cells"), ("mesh", "element_size"), ("mesh", "hole_element_size"), ("mesh", "diagonal"),
    ("cover",), ("fem", "degree"), ("fem", "quadrature_degree"), ("fem", "linear_solver"), ("fem", "load_steps"),
    ("fem", "newton"), ("nmm", "order"), ("nmm", "penalty"), ("nmm", "stabilisation"), ("nmm", "load_steps"),
    ("nmm", "newton"), ("nmm", "dt"), ("nmm", "output_interval"), ("sif",), ("fixed_point",), ("stiffness",),
    ("probes",),
)


def _changes_problem(parts: tuple) -> bool:
    """An override key (split) that does not lie under one of :data:`SOLUTION_KEYS`."""
    return not any(parts[:len(k)] == k for k in SOLUTION_KEYS)


def reference_overrides(overrides: dict[str, Any], index: int) -> list[str] | None:
    """The override keys that may change the value the reference of probe ``index`` (its
    position in the case's ``probes``) was given for: [] when none does, None when the
    overrides set that reference themselves (``probes[i].reference`` or the whole
    ``probes[i]``: the run's own reference, which applies). A key changes it unless it lies
    under one of :data:`SOLUTION_KEYS`; ``probes[i].point`` / ``.quantity`` change probe i's only."""
    from coupling.case.loader import split_key

    changed = []
    for key in overrides:
        parts = tuple(split_key(key))
        if parts[:1] == ("probes",) and len(parts) > 1:
            if parts[1] != index:
                continue  # another probe
            if len(parts) == 2 or parts[2] == "reference":
                return None
            if parts[2] != "name":
                changed.append(key)
            continue
        if _changes_problem(parts):
            changed.append(key)
    return changed


def sif_reference_overrides(overrides: dict[str, Any], crack: int) -> list[str] | None:
    """The override keys that may change the K_I / K_II the references of crack ``crack`` (its
    position in the case's ``cracks``) were given for: [] when none does, None when the
    overrides set that crack's references themselves (the run's own). Unlike a probe's, a
    change to another crack counts: cracks interact. ``cracks[i].name`` changes nothing."""
    from coupling.case.loader import split_key

    changed = []
    for key in overrides:
        parts = tuple(split_key(key))
        if parts[:1] == ("cracks",) and len(parts) > 2 and parts[1] == crack:
            if parts[2] in ("reference_KI", "reference_KII"):
                return None
            if parts[2] == "name":
                continue
        if _changes_problem(parts):
            changed.append(key)
    return changed


def mark_sif_references(overrides: dict[str, Any], results: dict[str, Any]) -> None:
    """As :func:`mark_references` for the crack tips of ``results["sif"]`` (NMM): a tip with a
    case reference gets ``reference_applies``; when the run's overrides may change its K
    (:func:`sif_reference_overrides`), false with ``reference_overrides`` and
    ``relative_error_KI`` / ``relative_error_KII`` null."""
    for entry in results.get("sif") or []:
        if not isinstance(entry, dict) or not any(f"reference_{k}" in entry for k in ("KI", "KII")):
            continue
        keys = sif_reference_overrides(overrides, int(entry["crack"]))
        entry["reference_applies"] = not keys
        if keys:
            entry["reference_overrides"] = keys
            for k in ("KI", "KII"):
                if f"relative_error_{k}" in entry:
                    entry[f"relative_error_{k}"] = None


def mark_references(probes: Sequence[Any], overrides: dict[str, Any], results: dict[str, Any]) -> None:
    """Flag every probe reference of ``results["probes"]`` (entries built from the case's
    ``probes``, in order): ``reference_applies`` true, or, when the run's overrides may change
    the answer the case's reference was given for (:func:`reference_overrides`), false with
    ``reference_overrides`` (those keys) and ``relative_error`` null: the case's reference is
    kept for reading, the run is not compared with it."""
    entries = results.get("probes") or {}
    for index, p in enumerate(probes):
        entry = entries.get(p.name)
        if not isinstance(entry, dict) or "reference" not in entry:
            continue
        keys = reference_overrides(overrides, index)
        entry["reference_applies"] = not keys
        if keys:
            entry["reference_overrides"] = keys
            entry["relative_error"] = None


# ---------------------------------------------------------------------------- stress maxima
def _distance_to_triangles(points: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Distance [m] (n, m) from each of m points (m, 2) to each of n triangles (n, 3, 2)
    (0 for a point inside or on a triangle): the smallest distance to its three edges, unless
    the point lies inside (barycentric coordinates all ≥ 0)."""
    p = points[None, :, :]  # (1, m, 2)
    best = np.full((len(tri), len(points)), np.inf)
    for i in range(3):  # the three edges, each (n, 1, 2) against (1, m, 2)
        best = np.minimum(best, point_segment_distance(p, tri[:, i][:, None, :], tri[:, (i + 1) % 3][:, None, :]))
    a, b, c = (tri[:, i][:, None, :] for i in range(3))

    def cross(u, v):
        return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]

    s1, s2, s3 = cross(b - a, p - a), cross(c - b, p - b), cross(a - c, p - c)
    inside = ((s1 >= 0) & (s2 >= 0) & (s3 >= 0)) | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0))
    return np.where(inside, 0.0, best)


def outside_discs(triangles: np.ndarray, discs: Sequence[Any]) -> np.ndarray:
    """Which triangles (n, 3, 2) [m] lie wholly outside every disc (``center``, ``radius`` [m];
    ``output.stress_maxima_exclude``): bool (n,), True where dist(c_k, T) ≥ r_k for every disc
    k, dist the Euclidean distance from the centre to the closed triangle T. No disc: all True."""
    tri = np.asarray(triangles, dtype=float).reshape(-1, 3, 2)
    keep = np.ones(len(tri), dtype=bool)
    if not len(discs) or not len(tri):
        return keep
    centres = np.array([d.center for d in discs], dtype=float)
    radii = np.array([d.radius for d in discs], dtype=float)
    return (_distance_to_triangles(centres, tri) >= radii[None, :]).all(axis=1)


def points_outside_discs(points: np.ndarray, discs: Sequence[Any]) -> np.ndarray:
    """Which points (n, 2) [m] lie outside every disc: bool (n,), True where |x − c_k| ≥ r_k."""
    x = np.asarray(points, dtype=float).reshape(-1, 2)
    keep = np.ones(len(x), dtype=bool)
    for d in discs:
        keep &= np.hypot(x[:, 0] - d.center[0], x[:, 1] - d.center[1]) >= d.radius
    return keep


def excluded_report(discs: Sequence[Any], cells: int, joint_points: int | None = None) -> dict[str, Any]:
    """summary.json ``results.stress_maxima_exclude``: the discs (centre, radius [m]) and how
    many cells / manifold elements (and joint points) the stress maxima left out."""
    out: dict[str, Any] = {"discs": [{"center": list(d.center), "radius": d.radius} for d in discs],
                           "cells_excluded": int(cells)}
    if joint_points is not None:
        out["joint_points_excluded"] = int(joint_points)
    return out


def fem_cell_triangles(mesh) -> np.ndarray:
    """Corner coordinates (n_owned, 3, 2) [m] of the owned cells of a DOLFINx triangle mesh
    (the first three geometry nodes of a cell are its vertices, for any geometry degree)."""
    from dolfinx.mesh import entities_to_geometry

    n = mesh.topology.index_map(2).size_local
    g = entities_to_geometry(mesh, 2, np.arange(n, dtype=np.int32))
    return mesh.geometry.x[np.asarray(g)[:, :3], :2].reshape(n, 3, 2)


def fem_stress_maximum(case: Any, mesh, vm: np.ndarray) -> tuple[float, dict[str, Any]]:
    """``results.max_von_mises`` [Pa] of a FEM / data-driven run with ``output.stress_maxima_exclude``
    discs: the largest owned-cell value ``vm`` (n_owned,) over the cells wholly outside every disc,
    over all ranks (collective), and the ``results.stress_maxima_exclude`` record. The set-up check
    (:func:`coupling.setup_checks.check_stress_maxima_discs`) has made sure some cell is outside."""
    from mpi4py import MPI

    discs = case.spec.output.stress_maxima_exclude
    keep = outside_discs(fem_cell_triangles(mesh), discs)
    vals = np.asarray(vm, dtype=float)[: len(keep)][keep]
    top = mesh.comm.allreduce(float(vals.max()) if len(vals) else -np.inf, op=MPI.MAX)
    dropped = mesh.comm.allreduce(int((~keep).sum()), op=MPI.SUM)
    return top, excluded_report(discs, dropped)
