"""Reporting shared by every runner: probe entries with their reference and relative error.

Von Mises has one definition too, :func:`learned.law.von_mises` (σzz included in plane
strain), used by the solvers' fields and by these reports.
"""

from __future__ import annotations

from typing import Any, Sequence

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
    return abs(value - reference) / abs(reference) if reference else None


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
