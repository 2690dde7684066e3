"""The calibration corner plot's log axes: a few ticks, one label style, no overlapping labels
(matplotlib's default labels the minor ticks of a range under one decade, in a larger font than
the decade's, and on a 2.4-inch panel they overlap: 3e4-3e5 Pa/K of the Vajont calibration)."""

from __future__ import annotations

import numpy as np
import pytest

from coupling.ensemble.calibration import _log_axis, _log_ticks


@pytest.mark.parametrize("lo, hi", [(3e4, 3e5), (5e-4, 2e-3), (1e-8, 1e-4), (0.9, 1.1), (1.0, 1e6)])
def test_log_ticks_are_few_and_inside_the_range(lo, hi):
    t = _log_ticks(lo, hi)
    assert 2 <= t.size <= 4
    assert np.all(np.diff(t) > 0) and t[0] >= lo * (1 - 1e-9) and t[-1] <= hi * (1 + 1e-9)


@pytest.mark.parametrize("lo, hi", [(3e4, 3e5), (5e-4, 2e-3), (1e-8, 1e-4)])
def test_log_axis_labels_do_not_overlap(lo, hi):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2.4, 2.4))  # one panel of the corner plot
    ax.set_xlim(lo, hi)
    _log_axis(ax.xaxis, _log_ticks(lo, hi))
    ax.tick_params(labelsize=7)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = sorted((lab.get_window_extent(r) for lab in ax.get_xticklabels(minor=False) + ax.get_xticklabels(minor=True)
                    if lab.get_visible() and lab.get_text()), key=lambda b: b.x0)
    plt.close(fig)
    assert len(boxes) >= 2
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:])), [(b.x0, b.x1) for b in boxes]


def test_calibration_png_panels_have_axis_labels(tmp_path, monkeypatch):
    """calibration.png: every panel labels both axes (the posterior's density; the observation's
    value). Before session 18 only the parameter axis had a label."""
    import matplotlib.figure

    from coupling.ensemble.calibration import plot
    from coupling.ensemble.design import Parameter

    labels = []
    real = matplotlib.figure.Figure.savefig

    def savefig(fig, *args, **kwargs):
        labels.extend((ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes)
        return real(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    samples = np.random.default_rng(0).normal(22.3, 0.2, (500, 1))
    row = {"name": "runout", "observed": -0.0246, "sigma": 5e-4, "surrogate": -0.02461, "surrogate_spread": 7.6e-7,
           "solver": -0.0246, "solver_samples": [-0.0244, -0.0248]}
    plot(tmp_path / "calibration.png", [Parameter("joints.default.law.phi", 15.0, 28.0)], samples, [row])
    assert labels[0][0] == "phi" and "density" in labels[0][1]
    assert "runout" in labels[1][1]


def test_calibration_png_names_the_observed_quantitys_unit(tmp_path, monkeypatch):
    """The observation panel's axis says the output's unit (from the members' summary.json, through
    ensemble.h5's output_units and the surrogate), "runout [m]"; it said "runout (SI, as in
    summary.json)". A row without a unit (an older surrogate) keeps that label."""
    import matplotlib.figure

    from coupling.ensemble.calibration import plot
    from coupling.ensemble.design import Parameter

    labels = []
    real = matplotlib.figure.Figure.savefig

    def savefig(fig, *args, **kwargs):
        labels.extend(ax.get_ylabel() for ax in fig.axes)
        return real(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    samples = np.random.default_rng(0).normal(22.3, 0.2, (500, 1))
    row = {"name": "runout", "unit": "m", "observed": -0.0246, "sigma": 5e-4, "surrogate": -0.02461,
           "surrogate_spread": 7.6e-7, "solver": -0.0246, "solver_samples": []}
    params = [Parameter("joints.default.law.phi", 15.0, 28.0)]
    plot(tmp_path / "a.png", params, samples, [row])
    plot(tmp_path / "b.png", params, samples, [{**row, "unit": ""}])
    assert labels[1] == "runout [m]" and labels[3] == "runout (SI, as in summary.json)", labels
