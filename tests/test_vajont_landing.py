"""benchmarks/vajont_landing.py: the vertex that strikes the band is named, with the band it lands with."""

import importlib.util
import json
import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
_spec = importlib.util.spec_from_file_location("vajont_landing", ROOT / "benchmarks" / "vajont_landing.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _records(lift: float = 10.4, land: float = 22.9, ratio: float = 0.39):
    """Three vertices over 0-30 s in steps of 0.01 s (settling to 10 s): vertex 0 slides on the band
    from 10 s and heats it 1e3 J/m per step; vertex 1 (block 6) is on the band until ``lift``, its
    ratio rising to ``ratio``, and lands at ``land`` with a 3-step strike (1e9 N/m, 1e8 J/m per
    step); vertex 2 is never on the band."""
    t = np.round(np.arange(0.01, 30.0, 0.01), 10)
    n = t.size
    heat, N = np.zeros((n, 3)), np.zeros((n, 3))
    T, r = np.zeros((n, 3)), np.zeros((n, 3))
    heat[t > 10.0, 0] = 1e3
    N[:, 0] = 1e8
    N[t <= lift, 1] = 5e7
    k = int(np.searchsorted(t, land))
    N[k:, 1] = 2e8  # resting after the strike
    N[k:k + 3, 1] = 1e9
    heat[k:k + 3, 1] = 1e8
    r[:, 1] = np.where(t <= lift, ratio * np.clip((t - 10.0) / (lift - 10.0), 0, 1), ratio)
    r[k:, 1] = 0.9
    T[:, 1] = np.cumsum(heat[:, 1]) / 1e6
    mean = np.cumsum(heat.sum(axis=1)) / 3e6  # heat per kelvin of the band: 3e6 J/(m K)
    xy = np.zeros((n, 3, 2))
    xy[:, 1] = [913.6, 38.4]
    return {"time": t, "dt": np.full(n, 0.01), "mean": mean, "heat": heat, "T": T, "r": r, "N": N, "xy": xy,
            "block": np.array([7, 6, 0]), "settle_time": 10.0, "wall_s": 1.0}


def test_the_landing_vertex_its_ratio_and_its_lift_off_are_found():
    found = bench.landing(_records())
    assert found["vertex"] == 1 and found["block"] == 6
    assert found["landing_time"] == pytest.approx(22.9)
    assert found["lift_off_time"] == pytest.approx(10.4)
    assert found["ratio_at_landing"] == pytest.approx(0.39)
    assert found["rise"] == pytest.approx((3e8 + 5e3) / 3e6, rel=1e-9)  # the strike and 5 steps of sliding
    assert found["heat_share"] == pytest.approx(3e8 / (3e8 + 5e3))
    # over 0.1 s from the landing (its step and the 9 after it): the strike and 10 steps of sliding
    assert found["landing_rise"] == pytest.approx((3e8 + 1e4) / 3e6, rel=1e-9)
    # 0.02 s from the landing: the 2 strike steps in it (1e9 N/m x 0.01 s each)
    assert found["impulse"] == pytest.approx(2e7) and found["impulse_steps"] == 2
    assert found["position"] == [913.6, 38.4]


def test_no_strike_window_without_records_after_the_settling():
    rec = _records()
    rec["settle_time"] = 29.97
    assert bench.landing(rec) is None


def test_the_statement_names_compartment_ratio_and_lift_off():
    second = bench.landing(_records(lift=10.2, land=22.95, ratio=0.05))
    report = {"steps": 5, "heat_window": 0.1, "runs": [{"name": "base", "ok": True, **bench.landing(_records())},
                                   {"name": "base", "ok": True, **second},
                                   {"name": "g2/2", "ok": False, "error": "no strike window"}]}
    text = bench.statement(report)
    assert text.startswith("at base (2 runs): compartment 6's vertex 1 lands at 22.90-22.95 s (x = 913.6 m) with "
                           "p/sigma_n 0.05-0.39, carried since 10.20-10.40 s; band +100.0 K over 0.1 s from the landing "
                           "(100.0; the largest 5-step rise 100 % from that vertex); impulse 2e+07 N s/m in 2 steps")
    assert text.endswith("at g2/2: no strike window")


def test_members_spread_the_perturbed_key_around_the_case_value():
    import argparse

    ap = argparse.ArgumentParser()
    values = bench.member_values(ap, str(ROOT / "cases" / "vajont_10block.toml"), {}, 5, "water.level=0.004")
    assert [round(m["water.level"] - 236.0, 9) for m in values] == [-0.004, -0.002, 0.0, 0.002, 0.004]
    assert bench.member_values(ap, "unused", {}, 1, "water.level=0.004") == [{}]
    with pytest.raises(SystemExit):
        bench.member_values(ap, str(ROOT / "cases" / "vajont_10block.toml"), {}, 3, "water.level=-1")


@pytest.mark.parametrize("name", ["vajont_10block_landing.json", "vajont_10block_landing_impact_steps.json"])
def test_the_ten_block_studies_quote_the_landing_reports(name):
    """cases/vajont_10block.toml quotes both committed landing reports (session 25), and in every
    run of each the same corner strikes the band (compartment 6's front vertex): the strike is a
    property of the case, not of one run or one dt."""
    import coupling
    from conftest import CASES

    report = json.loads((ROOT / "benchmarks" / "out" / name).read_text(encoding="utf-8"))
    assert bench.statement(report) in coupling.load_case(CASES / "vajont_10block.toml").spec.accuracy_studies
    first = report["runs"][0]
    assert all(r["ok"] and (r["block"], r["vertex"]) == (first["block"], first["vertex"]) for r in report["runs"])
    assert ("--set dda.impact_steps=40" in report["command"]) == name.endswith("impact_steps.json")


def test_ensemble_means_compare_each_variant_with_the_first():
    """Means, standard errors s/sqrt(n) and changes of the landing's figures between variants; the
    band's rise per normal impulse separates the landing's heat conversion from its impulse."""
    def run(name, rise, impulse, t):
        return {"name": name, "ok": True, "landing_rise": rise, "impulse": impulse, "landing_time": t}

    report = {"heat_window": 0.1, "runs": [run("base", 20.0, 5e7, 22.90), run("base", 22.0, 5.5e7, 22.92),
                                           run("base", 18.0, 4.5e7, 22.91), run("time/4", 18.0, 4.5e7, 22.95),
                                           run("time/4", 16.0, 4e7, 22.97), run("time/4", 17.0, 4.25e7, 22.96),
                                           {"name": "dt/2", "ok": False, "error": "no strike window"}]}
    means = bench.ensemble_means(report)
    assert list(means) == ["base", "time/4"]  # a variant without two good runs has no mean
    base, fine = means["base"], means["time/4"]
    assert base["landing_rise"]["mean"] == pytest.approx(20.0) and base["landing_rise"]["se"] == pytest.approx(2.0 / np.sqrt(3))
    assert base["heat_per_impulse"]["mean"] == pytest.approx(4.0) and fine["heat_per_impulse"]["mean"] == pytest.approx(4.0)
    assert fine["heat_per_impulse"]["change"] == pytest.approx(0.0, abs=1e-12)
    assert fine["impulse"]["change"] == pytest.approx(-0.15)
    assert fine["landing_rise"]["change_se"] == pytest.approx(np.hypot(2.0, 1.0) / np.sqrt(3) / 20.0)
    assert fine["landing_time"]["change"] == pytest.approx(0.05)  # a time: in s, not a fraction
    text = bench.ensemble_statement(report)
    assert text.startswith("ensemble means (standard error) at base / time/4 (3 / 3 runs): band rise over 0.1 s from "
                           "the landing 20.00 (1.15) / 17.00 (0.58) K, time/4 -15.0 % (standard error 6.5 %); ")
    assert "landing time 22.910 (0.006) / 22.960 (0.006) s, time/4 +50 ms (standard error 8 ms)" in text
    assert bench.ensemble_statement({"heat_window": 0.1, "runs": report["runs"][:3]}) == ""


def test_docs_quote_the_session30_landing_report():
    """docs/cases.md's session-30 paragraph carries the committed report's figures (a drift of the
    report, or a paragraph edited by hand, fails here)."""
    report = json.loads((ROOT / "benchmarks" / "out" / "vajont_10block_landing_session30.json").read_text())
    assert report["git_commit"] and not report["git_commit"].endswith("+dirty")
    means = bench.ensemble_means(report)
    assert means == report["ensemble_means"]
    base, fine = means["base"], means["time/4"]
    docs = " ".join((ROOT / "docs" / "cases.md").read_text().split())
    hpi = f"{base['heat_per_impulse']['mean']:.3f} / {fine['heat_per_impulse']['mean']:.3f} K per 1e7 N s/m"
    assert hpi in docs
    assert (f"({100 * fine['heat_per_impulse']['change']:+.1f} %, standard error "
            f"{100 * fine['heat_per_impulse']['change_se']:.1f} %)").replace("-", "−") in docs
    assert (f"{100 * fine['impulse']['change']:+.1f} % at Δt/4 (standard error "
            f"{100 * fine['impulse']['change_se']:.1f} %)").replace("-", "−") in docs
    assert (f"landing comes {1e3 * fine['landing_time']['change']:.0f} ms later (standard error "
            f"{1e3 * fine['landing_time']['change_se']:.0f} ms)") in docs
    # what the paragraph concludes: the heat per impulse within its standard error, the impulse not
    assert abs(fine["heat_per_impulse"]["change"]) < fine["heat_per_impulse"]["change_se"]
    assert abs(fine["landing_time"]["change"]) > 3 * fine["landing_time"]["change_se"]


def test_docs_quote_the_session30_tolerance_landing_report():
    """The same paragraph's tolerance study: the landing time moves with the open-close friction
    tolerance as much as with dt (its sign turns), from the committed report."""
    tight = json.loads((ROOT / "benchmarks" / "out" / "vajont_10block_landing_oc_session30.json").read_text())
    loose = json.loads((ROOT / "benchmarks" / "out" / "vajont_10block_landing_session30.json").read_text())
    assert tight["sets"] == {"dda.oc_friction_tolerance": 1e-5, "dda.oc_max_iterations": 30}
    assert tight["ensemble_means"] == bench.ensemble_means(tight)
    t, lo = tight["ensemble_means"], loose["ensemble_means"]
    docs = " ".join((ROOT / "docs" / "cases.md").read_text().split())
    at_dt = 1e3 * (t["base"]["landing_time"]["mean"] - lo["base"]["landing_time"]["mean"])
    at_dt4 = 1e3 * (t["time/4"]["landing_time"]["mean"] - lo["time/4"]["landing_time"]["mean"])
    assert f"landing comes {at_dt:.0f} ms later at Δt and {-at_dt4:.0f} ms earlier at Δt/4" in docs
    change = t["time/4"]["landing_time"]
    assert f"at Δt/4 it is now {-1e3 * change['change']:.0f} ms early (standard error {1e3 * change['change_se']:.0f} ms)" in docs
    imp = t["time/4"]["impulse"]
    assert (f"the impulse moves {100 * imp['change']:+.1f} % (standard error {100 * imp['change_se']:.1f} %)").replace(
        "-", "−") in docs
    # the sign of the landing's shift with dt turns with the tolerance, each well outside its error
    assert lo["time/4"]["landing_time"]["change"] > 3 * lo["time/4"]["landing_time"]["change_se"]
    assert change["change"] < -3 * change["change_se"]
