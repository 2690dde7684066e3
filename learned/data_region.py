"""Out-of-distribution counts: where a learned law is evaluated outside the data it was fitted on.

A checkpoint records the region of its training data (:func:`learned.training.data_region`
for constitutive laws: per-component strain bounds [lo_j, hi_j] and the largest magnitude
|ε|_max = max √(ε_xx² + ε_yy² + γ_xy²); for joint laws: slip ≤ slip_max and slip rate in
[v_min, v_max]). A :class:`RegionMonitor` on the law checks every batch the law evaluates, so
every solver (FEM, DDA, NMM, the projection solver) gets the counts without doing anything.

A point x (k components) is outside when some component leaves its bounds or the magnitude
exceeds its bound. Its excursion is how far, relative to the data's own extent:

    e(x) = max( max_j dist(x_j, [lo_j, hi_j]) / (hi_j − lo_j),  (|x| − |x|_max) / |x|_max )

(0 inside; 0.5 = half the data range beyond it). Strains *below* the smallest magnitude of
the data are not counted: there the model is exact by construction (σ(0) = 0, tangent C₀).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from learned.backend import Array, is_torch


class RegionMonitor:
    """Counts evaluated points outside a box (and optionally a magnitude bound).

    lower, upper : (k,) bounds per component;  names: (k,) component names for the report
    magnitude_max: bound on the Euclidean norm of the k components (None: no such bound)

    After each :meth:`observe`: ``last_points``, ``last_outside`` (the latest batch of the
    largest size seen — for a solver, its converged state over all its points, not a probe
    or post-processing call on a few points), ``max_outside`` (largest count of any batch),
    ``worst_excursion`` (largest e over all batches) and ``worst_component``.
    """

    def __init__(self, lower: Sequence[float], upper: Sequence[float], names: Sequence[str],
                 magnitude_max: float | None = None) -> None:
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        self.names = list(names)
        self.width = np.maximum(self.upper - self.lower, 1e-300)
        self.magnitude_max = None if magnitude_max is None else float(magnitude_max)
        self.reset()

    def reset(self) -> None:
        """Forget the counts of earlier evaluations (a new run)."""
        self.calls = 0
        self.last_points = 0
        self.last_outside = 0
        self.max_outside = 0
        self.worst_excursion = 0.0
        self.worst_component: str | None = None

    def _excursion(self, x: Array) -> tuple[int, float, int]:
        """(points outside, worst excursion, index of the worst quantity; k = magnitude).

        A CPU tensor is checked as a numpy view (no copy): numpy runs these few passes on one
        thread, where torch would spread them over its intra-op threads (whose waits cost more
        than the work, and slow the law call beside it, on a loaded machine or under MPI)."""
        if is_torch(x) and x.device.type == "cpu":
            x = x.detach().numpy()
        if is_torch(x):
            import torch

            lo = torch.as_tensor(self.lower, dtype=x.dtype, device=x.device)
            hi = torch.as_tensor(self.upper, dtype=x.dtype, device=x.device)
            w = torch.as_tensor(self.width, dtype=x.dtype, device=x.device)
            d = torch.clamp(torch.maximum(lo - x, x - hi), min=0.0) / w
            if self.magnitude_max is not None:
                m = torch.clamp(torch.linalg.vector_norm(x, dim=1) / self.magnitude_max - 1.0, min=0.0)
                d = torch.cat([d, m[:, None]], 1)
            per_point = d.max(dim=1).values
            count = (per_point > 0).sum()
            flat = int(torch.argmax(d)) if d.numel() else 0
            return int(count), float(d.reshape(-1)[flat]) if d.numel() else 0.0, flat % d.shape[1]
        x = np.asarray(x, dtype=float)
        d = np.clip(np.maximum(self.lower - x, x - self.upper), 0.0, None) / self.width
        if self.magnitude_max is not None:
            m = np.clip(np.sqrt((x * x).sum(1)) / self.magnitude_max - 1.0, 0.0, None)
            d = np.concatenate([d, m[:, None]], 1)
        if d.size == 0:
            return 0, 0.0, 0
        flat = int(np.argmax(d))
        return int((d.max(axis=1) > 0).sum()), float(d.reshape(-1)[flat]), flat % d.shape[1]

    def observe(self, x: Array) -> None:
        """Check a batch (N,k) of evaluated points (numpy or torch, any device)."""
        count, worst, which = self._excursion(x)
        self.calls += 1
        if int(x.shape[0]) >= self.last_points:
            self.last_points = int(x.shape[0])
            self.last_outside = count
        self.max_outside = max(self.max_outside, count)
        if worst > self.worst_excursion:
            self.worst_excursion = worst
            self.worst_component = (self.names + ["magnitude"])[which]

    def region(self) -> dict[str, Any]:
        """The data region checked against: per-quantity bounds and the largest magnitude."""
        fin = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731 (JSON has no inf)
        out: dict[str, Any] = {n: [fin(a), fin(b)] for n, a, b in zip(self.names, self.lower, self.upper)}
        if self.magnitude_max is not None:
            out["magnitude_max"] = self.magnitude_max
        return out

    def report(self) -> dict[str, Any]:
        """JSON-ready counts (see the class docstring)."""
        return {"available": True, "evaluations": self.calls, "points_last": self.last_points,
                "outside_last": self.last_outside, "outside_max": self.max_outside,
                "worst_excursion": self.worst_excursion, "worst_quantity": self.worst_component,
                "region": self.region(),
                "excursion": "distance beyond the data bound / the data range of that quantity"}


def constitutive_monitor(region: dict[str, Any] | None) -> RegionMonitor | None:
    """The monitor of a constitutive checkpoint's ``data_region`` (None when it has none)."""
    if not region:
        return None
    return RegionMonitor(region["strain_min"], region["strain_max"], ["exx", "eyy", "gxy"],
                         region.get("magnitude_max"))


def joint_monitor(region: dict[str, Any] | None) -> RegionMonitor | None:
    """The monitor of a joint checkpoint: |slip| ∈ [0, slip_max], |rate| ∈ [rate_min, rate_max]."""
    if not region:
        return None
    return RegionMonitor([0.0, region["slip_rate_min"]], [region["slip_max"], region["slip_rate_max"]],
                         ["slip", "slip_rate"])


def unavailable() -> dict[str, Any]:
    """The report of a law whose checkpoint holds no data region (``available: false``)."""
    return {"available": False, "reason": "the checkpoint records no data region (trained before it was kept)"}
