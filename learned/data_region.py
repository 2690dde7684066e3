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

Accepted states. A solver evaluates its laws at trial states too (Newton iterates, open–close
iterations) that may stray outside the data and come back before the step converges; those
must not count, while a state the run *accepted* must count even when a later step returns
inside the data. :meth:`RegionMonitor.accept` is called once per accepted (converged) step
(the runners do it from their step callback, :func:`coupling.runners.reporting.accept_step`):
it takes the latest full-size batch since the previous accepted step (the state the step
converged at) and adds it to the run's counts: accepted steps, accepted steps with a point
outside, the largest number of points outside in one accepted state and the worst excursion
of any accepted state. Strictness (``out_of_distribution = "error"``) is judged on these run
counts, not on the last batch only.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

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
    After each :meth:`accept` (one accepted solver step): ``accepted_steps``,
    ``accepted_steps_outside``, ``outside_accepted_max`` and ``worst_excursion_accepted`` /
    ``worst_component_accepted`` over every accepted state of the run.
    """

    def __init__(self, lower: Sequence[float], upper: Sequence[float], names: Sequence[str],
                 magnitude_max: float | None = None) -> None:
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        self.names = list(names)
        self.width = np.maximum(self.upper - self.lower, 1e-300)
        self.magnitude_max = None if magnitude_max is None else float(magnitude_max)
        #: extra facts about the region, reported beside its bounds (e.g. the joints' rest rule)
        self.notes: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        """Forget the counts of earlier evaluations (a new run)."""
        self.calls = 0
        self.last_points = 0
        self.last_outside = 0
        self.max_outside = 0
        self.worst_excursion = 0.0
        self.worst_component: str | None = None
        self.accepted_steps = 0
        self.accepted_steps_outside = 0
        self.outside_accepted_max = 0
        self.worst_excursion_accepted = 0.0
        self.worst_component_accepted: str | None = None
        #: (points, outside, worst e, worst quantity) of the latest largest batch since accept()
        self._pending: tuple[int, int, float, str | None] | None = None

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
        name = (self.names + ["magnitude"])[which] if worst > 0 else None
        if worst > self.worst_excursion:
            self.worst_excursion = worst
            self.worst_component = name
        if self._pending is None or int(x.shape[0]) >= self._pending[0]:
            self._pending = (int(x.shape[0]), count, worst, name)

    def accept(self) -> None:
        """The solver accepted its step: the latest full-size batch evaluated since the previous
        accept (the converged state) joins the run's counts. No batch since then: nothing."""
        if self._pending is None:
            return
        _, count, worst, name = self._pending
        self._pending = None
        self.accepted_steps += 1
        self.accepted_steps_outside += int(count > 0)
        self.outside_accepted_max = max(self.outside_accepted_max, count)
        if worst > self.worst_excursion_accepted:
            self.worst_excursion_accepted = worst
            self.worst_component_accepted = name

    def region(self) -> dict[str, Any]:
        """The data region checked against: per-quantity bounds and the largest magnitude."""
        fin = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731 (JSON has no inf)
        out: dict[str, Any] = {n: [fin(a), fin(b)] for n, a, b in zip(self.names, self.lower, self.upper)}
        if self.magnitude_max is not None:
            out["magnitude_max"] = self.magnitude_max
        out.update(self.notes)
        return out

    def report(self) -> dict[str, Any]:
        """JSON-ready counts (see the class docstring)."""
        return {"available": True, "evaluations": self.calls, "points_last": self.last_points,
                "outside_last": self.last_outside, "outside_max": self.max_outside,
                "worst_excursion": self.worst_excursion, "worst_quantity": self.worst_component,
                "accepted_steps": self.accepted_steps, "accepted_steps_outside": self.accepted_steps_outside,
                "outside_accepted_max": self.outside_accepted_max,
                "worst_excursion_accepted": self.worst_excursion_accepted,
                "worst_quantity_accepted": self.worst_component_accepted,
                "region": self.region(),
                "excursion": "distance beyond the data bound / the data range of that quantity"}


def accept_step(laws: Iterable[Any]) -> None:
    """Tell the monitor of every learned law in ``laws`` that the solver accepted a step
    (laws without a monitor are skipped): see :meth:`RegionMonitor.accept`."""
    for law in laws:
        monitor = getattr(law, "monitor", None)
        if monitor is not None:
            monitor.accept()


def outside_count(report: dict[str, Any]) -> int:
    """Points outside the data that a run's report stands for: the largest number in one
    accepted state when the solver accepted steps, else (a law evaluated outside a stepping
    solver, e.g. from Python) those of the last full batch."""
    if report.get("accepted_steps", 0) > 0:
        return int(report["outside_accepted_max"])
    return int(report.get("outside_last", 0))


def constitutive_monitor(region: dict[str, Any] | None) -> RegionMonitor | None:
    """The monitor of a constitutive checkpoint's ``data_region`` (None when it has none)."""
    if not region:
        return None
    return RegionMonitor(region["strain_min"], region["strain_max"], ["exx", "eyy", "gxy"],
                         region.get("magnitude_max"))


#: a joint's data "starts at rest" when its smallest slip rate is at most this fraction of its largest
REST_RATE_FRACTION = 0.01


def joint_rest_included(region: dict[str, Any]) -> bool:
    """Whether slip rates below the data's smallest, down to rest (0), count as inside: when the
    data starts near rest, v_min ≤ ``REST_RATE_FRACTION`` · v_max.

    Contacts at rest (locked, or creeping at round-off rates) are the common state of every
    joint, and data sets sampled log-uniform in rate start at a small v_min > 0 (the CLI's
    default range is 1e-4–10 m/s), never at 0. Counting every contact at rest as outside would
    make the warning fire on every run and strictness unusable. Between 0 and v_min the network
    extends its data over less than 1 % of the data's rate range, an excursion of
    v_min / (v_max − v_min) ≤ 1/99 in the measure of the report — so rest counts as inside then.
    Data that start far from rest (say rates 0.5–2 m/s only: nothing was measured near rest)
    keep v_min as their bound, and contacts at rest count as outside there."""
    return float(region["slip_rate_min"]) <= REST_RATE_FRACTION * float(region["slip_rate_max"])


def joint_monitor(region: dict[str, Any] | None) -> RegionMonitor | None:
    """The monitor of a joint checkpoint: |slip| ∈ [0, slip_max], |rate| ∈ [rate_min, rate_max],
    the rate's lower bound 0 when the data start near rest (:func:`joint_rest_included`)."""
    if not region:
        return None
    rest = joint_rest_included(region)
    monitor = RegionMonitor([0.0, 0.0 if rest else region["slip_rate_min"]],
                            [region["slip_max"], region["slip_rate_max"]], ["slip", "slip_rate"])
    monitor.notes = {"data_slip_rate_min": float(region["slip_rate_min"]), "rest_inside": rest,
                     "rest_rule": f"slip rates below the data's smallest count as inside when it is at most "
                                  f"{REST_RATE_FRACTION:g} x its largest"}
    return monitor


def unavailable(reason: str = "the checkpoint records no data region (trained before it was kept)") -> dict[str, Any]:
    """The report of a law whose checkpoint holds no data region (``available: false``, ``reason``)."""
    return {"available": False, "reason": reason}
