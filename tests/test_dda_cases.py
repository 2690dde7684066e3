"""DDA through case files: the incline reference, bad input, 2 ranks, and the Vajont case."""

import math

import numpy as np
import pytest

import coupling
from conftest import CASES, assert_one_line_error, summaries_on_ranks

INCLINE = (CASES / "dda_incline.toml").read_text()


def test_incline_case_matches_the_analytical_displacement():
    result = coupling.run(coupling.load_case(CASES / "dda_incline.toml"))
    r = result.results
    theta, phi, g, t = math.radians(30), math.radians(20), 9.81, 1.0
    exact = 0.5 * g * (math.sin(theta) - math.cos(theta) * math.tan(phi)) * t**2
    travelled = math.hypot(r["runout"], r["drop"])
    assert abs(travelled - exact) / exact < 0.02
    assert r["slide_area_m2"] == pytest.approx(0.5, rel=1e-9)
    assert result.summary["solver"]["steps"] > 0


def check_error(tmp_path, text, *expected):
    return assert_one_line_error(tmp_path, text, *expected)


def test_self_intersecting_polygon(tmp_path):
    bad = INCLINE.replace("[2.6160254037844384, 2.0877132402714710], [1.75, 1.5877132402714710]",
                          "[1.75, 1.5877132402714710], [2.6160254037844384, 2.0877132402714710]")
    check_error(tmp_path, bad, "blocks[1].polygon")


def test_overlapping_blocks(tmp_path):
    bad = INCLINE.replace("[[2.0, 1.1547005383792517], [2.8660254037844384, 1.6547005383792517],",
                          "[[2.0, 0.5], [2.8660254037844384, 1.0],")
    check_error(tmp_path, bad, "blocks", "overlap")


def test_zero_density(tmp_path):
    check_error(tmp_path, INCLINE.replace("density = 2500.0", "density = 0.0"), "materials.rock.density", "> 0")


def test_negative_stiffness(tmp_path):
    check_error(tmp_path, INCLINE.replace("E = 10e9", "E = -10e9"), "materials.rock.E", "greater than 0")


def test_time_step_larger_than_the_run(tmp_path):
    check_error(tmp_path, INCLINE.replace("dt = 2e-3", "dt = 2.0"), "dda.dt", "duration")


def test_joint_set_that_cuts_nothing(tmp_path):
    text = INCLINE + '''
[[domains]]
polygon = [[30.0, 0.0], [31.0, 0.0], [31.0, 1.0], [30.0, 1.0]]
material = "rock"
[[domains.joint_sets]]
dip = 0.0
spacing = 5.0
origin = [0.0, 50.0]
'''
    check_error(tmp_path, text, "domains[0].joint_sets[0]")


def test_unknown_joint_name(tmp_path):
    bad = INCLINE.replace('material = "rock"\nfixed = true', 'material = "rock"\nfixed = true\nedge_joints = ["", "", "clay"]')
    check_error(tmp_path, bad, "blocks[0].edge_joints[2]", "'clay'")


@pytest.mark.mpi
def test_two_ranks_give_the_same_trajectory(tmp_path):
    out = summaries_on_ranks(tmp_path, "dda_incline", ["dda.duration=0.3"])
    for key in ("runout", "drop", "peak_velocity"):
        assert out[2]["results"][key] == pytest.approx(out[1]["results"][key], rel=1e-8)
    assert out[1]["solver"]["steps"] == out[2]["solver"]["steps"]


#: vajont.md: the observed event (peak 20-30 m/s; at rest 35-60 s after onset; horizontal
#: run-out 300-400 m; the mass >= 100 m up the north flank; section area 1.2-1.7e5 m^2)
VAJONT_ENVELOPE = {
    "peak_velocity": (20.0, 30.0),
    "duration": (35.0, 60.0),
    "runout": (300.0, 400.0),
    "runup": (100.0, math.inf),
    "slide_area_m2": (1.2e5, 1.7e5),
}
#: the margin a result must keep from every edge of the envelope: 5 % of the edge value
#: (peak >= 21 and <= 28.5 m/s, at rest 36.75-57 s, run-out 315-380 m, run-up >= 105 m)
VAJONT_MARGIN = 0.05


def assert_inside_vajont_envelope(r: dict, keys=tuple(VAJONT_ENVELOPE)) -> None:
    for key in keys:
        lo, hi = VAJONT_ENVELOPE[key]
        value = r[key]
        assert value is not None, (key, r)
        assert lo * (1 + VAJONT_MARGIN) <= value <= hi * (1 - VAJONT_MARGIN), (key, value, (lo, hi), r)


def test_time_to_rest_is_not_moved_by_ringing_about_the_final_position():
    """Issue 14, item 4: a mass decelerating at a = 2 m/s^2 to a stop at t_s = 20 s, then ringing
    about its final position with amplitude 0.02-0.06 m (< d_rest = 0.1 m/s x 1 s) and any
    phase: at rest when the distance left falls through d_rest, t_s - sqrt(2 d_rest / a),
    whatever the ringing (the old rule, the last time the 1 s mean speed reached 0.1 m/s, read
    the ringing's decay and moved by seconds). Linear interpolation between 5 ms records:
    measured error 8e-5 s (the ringing left at the end); asserted 1e-3 s."""
    from coupling.runners.dda import group_motion

    a, t_s, d_rest = 2.0, 20.0, 0.1
    t = np.arange(0.0, 40.0 + 1e-9, 0.005)
    x_stop = 0.5 * a * t_s**2
    x = np.where(t < t_s, x_stop - 0.5 * a * (t_s - np.minimum(t, t_s)) ** 2, x_stop)
    expected = t_s - math.sqrt(2 * d_rest / a)
    rest = []
    for amplitude, phase in [(0.02, 0.0), (0.04, 1.0), (0.06, 2.0), (0.06, 4.0)]:
        ring = amplitude * np.exp(-(t - t_s) / 3.0) * np.sin(2 * np.pi * (t - t_s) / 1.7 + phase) * (t > t_s)
        xr = x + ring

        class R:
            time = t
            centroid = np.stack([xr, np.zeros_like(t)], axis=1)[:, None, :]
            velocity = np.stack([np.gradient(xr, t), np.zeros_like(t), np.zeros_like(t)], axis=1)[:, None, :]

        m = group_motion(R, np.array([0]), np.array([1.0]), rest_velocity=0.1, rest_window=1.0)
        rest.append(m["time_to_rest"])
    assert np.allclose(rest, expected, rtol=0, atol=1e-3), (rest, expected)

    class Moving:  # still sliding at the end: not at rest
        time = t
        centroid = np.stack([0.5 * t, np.zeros_like(t)], axis=1)[:, None, :]
        velocity = np.tile([0.5, 0.0, 0.0], (t.size, 1))[:, None, :]

    assert group_motion(Moving, np.array([0]), np.array([1.0]), 0.1, 1.0)["time_to_rest"] is None

    # at rest for 10 s (settling), then moving off: 0.7 m/s at the end of the run. The mean speed
    # over a 10 s window is below 0.1 m/s and the 0.3 m moved is within d_rest = 1 m, yet the
    # mass is not at rest (it was reported at rest at its peak, the last record: session 13)
    t2 = np.arange(0.0, 11.0 + 1e-9, 0.005)
    v2 = np.where(t2 > 10.0, 0.7 * (t2 - 10.0), 0.0)
    x2 = np.where(t2 > 10.0, 0.35 * (t2 - 10.0) ** 2, 0.0)

    class Starting:
        time = t2
        centroid = np.stack([x2, np.zeros_like(t2)], axis=1)[:, None, :]
        velocity = np.stack([v2, np.zeros_like(t2), np.zeros_like(t2)], axis=1)[:, None, :]

    assert group_motion(Starting, np.array([0]), np.array([1.0]), 0.1, 10.0)["time_to_rest"] is None


@pytest.fixture(scope="module")
def vajont_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vajont") / "vajont"
    return coupling.run(coupling.load_case(CASES / "vajont.toml"), out=out), out


@pytest.mark.parametrize("case", ["vajont.toml", "vajont_10block.toml"])
def test_vajont_case_validates_and_its_slide_area_is_in_the_observed_range(case):
    case = coupling.load_case(CASES / case)
    from coupling.runners.dda_model import build_system, monitored_group

    built = build_system(case)
    area = built.areas[monitored_group(case, built)].sum()
    assert 1.2e5 <= area <= 1.7e5


@pytest.mark.slow
def test_vajont_falls_in_the_observed_envelope(vajont_run):
    """The event from published parameters (thermal pressurisation of the clay band): peak
    velocity, run-out, run-up on the north flank and section area inside vajont.md's envelope
    with the stated margin; the run reports and draws them."""
    result, out = vajont_run
    r = result.results
    assert_inside_vajont_envelope(r, ("peak_velocity", "runout", "runup", "slide_area_m2"))
    # settled statically first (dda.settle_time); the event grows from the settled state once the
    # dynamic phase starts (contacts of the upper block at their friction limit, vajont.toml)
    settle = coupling.load_case(CASES / "vajont.toml").spec.dda.settle_time
    assert r["onset_time"] is not None and settle < r["onset_time"] < settle + 2.0, r
    # the band was heated and pressurised during the slide (σn'/Λ ~ tens of K; p of order MPa, close
    # to the normal stress: the pressurised band carries the slide on almost no effective stress)
    assert r["band_temperature_rise_slide_max"] > 1.0 and r["band_pore_pressure_slide"] > 1e5, r
    assert 0.5 < r["band_pore_pressure_ratio_slide_max"] < 1.0, r
    # the arrival's values are not reported (coupling.runners.dda.BandMonitor)
    assert "band_temperature_rise_max" not in r and "band_pore_pressure_max" not in r
    for name in ("summary.json", "history.h5", "monitor.png", "blocks.pvd"):
        assert (out / name).exists()


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 14 (open): the mass stops 28.2 s after onset (1 rank; rest window 10 s; 27.5 s before session 29, 27.8 s before session 20), below the observed 35-60 s. "
                   "Its speed profile is nearly triangular (run-out / (time to rest x peak) = 0.47-0.49; 0.489 since session 29); with the envelope's "
                   "margins (run-out <= 380 m, peak >= 21 m/s, at rest >= 36.75 s) that ratio must be <= 0.49: only a slow "
                   "phase before the collapse reaches it. Settled statically first (session 7), the event still grows from "
                   "the settled state within ~0.2 s (the upper block's base contacts at their limit on a velocity-weakening "
                   "law: 29.0 s at phi_peak 18 deg, 30.1 s at 26 deg), and the band weakens within delta_c <= 1.6 m of slip "
                   "over the published ranges (vajont.toml)")
def test_vajont_comes_to_rest_in_the_observed_time(vajont_run):
    assert_inside_vajont_envelope(vajont_run[0].results, ("duration",))


@pytest.mark.slow
@pytest.mark.mpi
def test_vajont_answer_does_not_depend_on_ranks_or_linear_solver(tmp_path):
    """Issue 14, item 4: 1 rank, 2 ranks and the SciPy solver give peak velocity, run-out and
    the duration of the event (onset to rest) within 2 % of each other (round-off must not
    move the answer). The duration, not the time to rest: that includes the 10 s of static
    settling, which would dilute the spread.

    Measured in session 23 (benchmarks/out/vajont_roundoff_session23.json, with the impact
    restitution e_n = 0.2): 1 and 2 ranks bitwise equal, SciPy run-out 330.38 / 330.76 m (0.12 %),
    run-up 0.15 %, duration 27.48 / 27.55 s (0.24 %).
    Measured in session 20 (benchmarks/out/vajont_roundoff_session20.json, the band carried through
    corner flips and flights): 1 and 2 ranks bitwise equal, SciPy run-out 331.31 / 331.83 m (0.16 %),
    run-up 0.20 %, duration 27.55 / 27.48 s (0.24 %).
    Measured in session 9 (1 rank / SciPy / 2 ranks, rest window 10 s of cases/vajont.toml):
    peak 24.71000 / 24.70999 / 24.71000 m/s (5e-7), run-out 332.41 / 334.26 / 332.41 m (0.56 %),
    duration 27.81 / 27.98 / 27.81 s (0.63 %); 1 and 2 ranks bitwise equal (session 10: the same,
    benchmarks/vajont_roundoff.py -> benchmarks/out/vajont_roundoff.json). With the former 1 s
    window (at rest from the last time the centroid is 0.1 m from where it ends) the same runs
    gave 28.54 / 29.53 / 28.54 s (3.5 %): the arrived blocks rock on the north flank and the
    SciPy run's centroid swings 0.18 m at 39.5 s, the MUMPS run's 0.05 m; the 0.1 m band read
    that rocking, the 1 m band (10 s at 0.1 m/s) does not (28.13 / 28.30 s with 5 s).
    Session 7 with the static settling start (`deepmanifold run vajont`, with
    `--set dda.linear_solver=scipy`, and under `mpiexec -n 2`): 1 rank (dense LU) / SciPy /
    2 ranks: peak 24.2059 / 24.2059 / 24.2059 m/s (< 1e-6), run-out 322.13 / 324.62 /
    324.76 m (0.82 %), duration 28.82 / 28.63 / 28.75 s (0.68 %). Before (session 6, start by the transient of gravity at
    t = 0): run-out 0.12 %, time to rest 3.0 % apart (1 rank vs SciPy); the open-close
    tolerance against the total normal force of the system was the first cause (session 6).
    """
    case = str(CASES / "vajont.toml")
    sets = ["output.fields=false", "output.plots=false"]
    # a 2-rank run took 20-22 min of wall time on 2 shared cores under load 8 (session 8)
    out = summaries_on_ranks(tmp_path, case, sets, timeout=3600)
    out["scipy"] = summaries_on_ranks(tmp_path / "scipy", case, [*sets, "dda.linear_solver=scipy"], ranks=(1,),
                                      timeout=3600)[1]
    for key in ("peak_velocity", "runout", "duration"):
        values = [o["results"][key] for o in out.values()]
        assert max(values) - min(values) <= 0.02 * min(values), (key, values)


@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_max_runout_is_the_largest_horizontal_distance_in_either_direction(direction):
    """max_runout = max_t |x(t) − x(0)| of the mass centre; runout = x(t_end) − x(0), signed.
    A group that moves 5 m and comes back 1 m reports max_runout 5 and runout ±4 whichever
    way it slides (the former max of the signed value gave 0 for a slide toward −x)."""
    from types import SimpleNamespace

    import numpy as np

    from coupling.runners.dda import group_motion

    x = direction * np.array([0.0, 2.0, 5.0, 4.0])
    centroid = np.zeros((4, 2, 2))
    centroid[:, 1, 0] = 100.0 + x  # block 1 moves; block 0 (not monitored) stays
    result = SimpleNamespace(time=np.arange(4.0), centroid=centroid, velocity=np.zeros((4, 2, 3)))
    motion = group_motion(result, np.array([1]), np.array([1.0, 2.0]), rest_velocity=0.1)
    assert motion["max_runout"] == pytest.approx(5.0, rel=1e-12)
    assert motion["runout"] == pytest.approx(4.0 * direction, rel=1e-12)


def test_vajont_band_series_are_written_and_the_slide_figures_are_theirs(tmp_path):
    """history.h5's ``band`` group holds the band's mean temperature rise [K], pore pressure [Pa]
    and pore-pressure ratio p/σn [-] at every accepted step (what monitor.png draws: the values,
    not a running maximum); summary.json's band figures are those series' largest values and
    time means from the onset to the peak speed (0.8 s of the event after settling)."""
    import h5py
    import numpy as np

    result = coupling.run(coupling.load_case(CASES / "vajont.toml", {"dda.duration": 11.0, "output.plots": False}),
                          tmp_path / "run")
    keys = ("time", "temperature_rise", "pore_pressure", "pore_pressure_ratio")
    with h5py.File(tmp_path / "run" / "history.h5", "r") as f:
        t, temp, p, ratio = (np.asarray(f["band"][k]) for k in keys)
        assert f["band"]["pore_pressure"].attrs["unit"] == "Pa"
        assert [f["band"][k].attrs["units"] for k in keys] == ["s", "K", "Pa", "1"]
    assert t.shape == temp.shape == p.shape == ratio.shape and t[0] == 0.0 and t[-1] == pytest.approx(11.0, rel=1e-12)
    assert np.all(np.diff(t) > 0) and np.all((ratio >= 0) & (ratio < 1))
    r = result.results
    slide = (t >= r["onset_time"]) & (t <= r["time_of_peak"])
    assert np.count_nonzero(slide) > 10 and r["time_of_peak"] > r["onset_time"]
    assert r["band_temperature_rise_slide_max"] == temp[slide].max() > 1.0
    assert r["band_pore_pressure_ratio_slide_max"] == ratio[slide].max() > 0.1
    mean = np.trapezoid(temp[slide], t[slide]) / (t[slide][-1] - t[slide][0])
    assert r["band_temperature_rise_slide"] == pytest.approx(mean, rel=1e-12)


@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_monitor_plot_labels_the_run_out_inside_its_axes(tmp_path, monkeypatch, direction):
    """monitor.png: the run-out (and run-up) figure is written inside the run-out panel; it was an
    unlabelled text at the curve's end that stood above the panel's top edge ("332 m, run-up
    153 m" across the frame of vajont's plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from coupling.runners.dda import plot_monitor

    kept = []
    monkeypatch.setattr(plt, "close", lambda fig=None: kept.append(fig))
    t = np.linspace(0.0, 70.0, 701)
    x = direction * 332.0 * np.clip((t - 10.0) / 28.0, 0.0, 1.0) ** 2
    centroid = np.c_[1200.0 + x, 600.0 - 0.1 * np.abs(x)]
    motion = {"time": t, "speed": np.gradient(np.abs(x), t), "time_of_peak": 27.5, "peak_velocity": 24.7,
              "onset_time": 10.2, "time_to_rest": 38.0, "centroid": centroid, "runout": x[-1], "runup": 153.0}
    plot_monitor(tmp_path / "monitor.png", motion, 0.1, "test")
    fig = kept[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    a2 = fig.axes[1]
    box = a2.get_window_extent(renderer)
    texts = list(a2.texts) + ([*a2.get_legend().get_texts()] if a2.get_legend() else [])
    labels = [tx.get_text() for tx in texts]
    assert any(f"run-out {direction * 332:.0f} m, run-up 153 m" == s for s in labels), labels
    for tx in texts:
        e = tx.get_window_extent(renderer)
        assert box.x0 <= e.x0 and e.x1 <= box.x1 and box.y0 <= e.y0 and e.y1 <= box.y1, tx.get_text()


def test_monitor_plot_labels_keep_three_significant_digits(tmp_path, monkeypatch):
    """monitor.png of the shipped incline: the legend said "run-out -1 m" for a run-out of
    -0.785 m and "onset 0.0 s" for 0.006 s (``:.0f`` / ``:.1f``); now three significant digits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from coupling.runners.dda import plot_monitor

    kept = []
    monkeypatch.setattr(plt, "close", lambda fig=None: kept.append(fig))
    t = np.linspace(0.0, 1.0, 501)
    x = -0.7849717798539868 * t ** 2
    motion = {"time": t, "speed": 1.8128145908676794 * t, "time_of_peak": 1.0, "peak_velocity": 1.8128145908676794,
              "onset_time": 0.006, "time_to_rest": None, "centroid": np.c_[2.0 + x, 1.5 + 0.577 * x],
              "runout": x[-1]}
    plot_monitor(tmp_path / "monitor.png", motion, 0.01, "test")
    labels = [tx.get_text() for ax in kept[0].axes[:2] for tx in ax.get_legend().get_texts()]
    assert "run-out -0.785 m" in labels, labels
    assert "peak 1.81 m/s at 1 s" in labels and "onset 0.006 s" in labels, labels
