"""The Vajont resolution benchmark (benchmarks/vajont_resolution.py; issue 13 item 8, issue 14
item 4): its variants come from the case's own settings, its tables from the runs, and it
locates where a variant's trajectory leaves the base run's. Fast: synthetic runs and tracks
(the study itself is minutes of CPU per run: its figures are in the case's ``accuracy`` key)."""

import importlib.util
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import CASES, ROOT

_spec = importlib.util.spec_from_file_location("vajont_resolution", ROOT / "benchmarks" / "vajont_resolution.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

CASE = str(CASES / "vajont.toml")


def test_variants_refine_the_case_own_settings():
    import coupling

    dda = coupling.load_case(CASE).spec.dda
    v = bench.variants(CASE)
    assert v["base"] == {}
    # the time variants keep the base run's first step, so that the settled state is the base run's
    first = {"dda.initial_dt": dda.dt}
    assert dda.settle_time > 0 and dda.initial_dt is None
    assert v["time/2"] == {"dda.dt": dda.dt / 2, "dda.max_displacement_ratio": dda.max_displacement_ratio / 2, **first}
    assert v["time/4"]["dda.dt"] == dda.dt / 4 and v["time/4"]["dda.initial_dt"] == dda.dt
    # time/4 keeps time/2's penetration limit in metres (max_penetration_ratio × 2.5 g2 w0)
    assert v["time/4"]["dda.max_penetration_ratio"] == 2 * dda.max_penetration_ratio
    assert v["time/8"] == {"dda.dt": dda.dt / 8, "dda.max_displacement_ratio": dda.max_displacement_ratio / 8,
                           "dda.max_penetration_ratio": 4 * dda.max_penetration_ratio, **first}
    assert v["penalty×2"] == {"dda.penalty_factor": 2 * dda.penalty_factor}
    # the settling variants keep the event window: duration grows with the settling time
    assert v["settle+5s"] == {"dda.settle_time": dda.settle_time + 5.0, "dda.duration": dda.duration + 5.0}
    # overrides common to every run are applied first (here: a halved time step)
    assert bench.variants(CASE, {"dda.dt": dda.dt / 2})["time/2"]["dda.dt"] == dda.dt / 4
    # a case that does not settle refines its first step with the event
    assert "dda.initial_dt" not in bench.variants(CASE, {"dda.settle_time": 0.0})["time/2"]


def test_relative_changes_and_time_sequence_tables():
    runs = [{"name": "base", "ok": True, "peak_velocity": 20.0, "runout": 300.0, "runup": 100.0, "duration": 30.0},
            {"name": "time/2", "ok": True, "peak_velocity": 21.0, "runout": 306.0, "runup": 100.0, "duration": 30.0},
            {"name": "time/4", "ok": True, "peak_velocity": 21.5, "runout": 309.0, "runup": 100.0, "duration": 30.0},
            {"name": "penalty×2", "ok": False, "error": "x"}]
    ch = bench.relative_changes(runs)
    assert ch["peak_velocity"]["time/2"] == pytest.approx(0.05)
    assert ch["runout"]["time/4"] == pytest.approx(0.03)
    assert ch["runout"]["penalty×2"] is None  # a failed run has no value, never a zero
    seq = bench.time_sequence(runs)
    assert seq["runout"]["dt_to_dt/2"] == pytest.approx(6 / 309)
    assert seq["runout"]["dt/2_to_dt/4"] == pytest.approx(3 / 309)
    assert seq["runout"]["ratio"] == pytest.approx(2.0)  # first-order convergence
    assert seq["runup"]["ratio"] is None  # no change at all: no ratio
    assert "dt/4_to_dt/8" not in seq["runout"]
    eighth = {"name": "time/8", "ok": True, "peak_velocity": 21.75, "runout": 300.0, "runup": 100.0, "duration": 30.0}
    seq = bench.time_sequence([*runs, eighth])  # a third level: here the answer turns back (9 m)
    assert seq["runout"]["dt/4_to_dt/8"] == pytest.approx(9 / 300)
    assert seq["runout"]["dt/2_to_dt/4"] == pytest.approx(3 / 309)  # the first two levels unchanged


def _history(path, t, centroids):
    path.mkdir()
    with h5py.File(path / "history.h5", "w") as f:
        f["time"] = t
        f["centroid"] = centroids
        f["fixed"] = np.array([1, 0], dtype=np.int8)


def test_split_time_is_where_a_track_leaves_the_base_run(tmp_path):
    # one free block sliding at 10 m/s after 10 s of settling; the variant settles 5 s longer
    # and leaves the base track at event time 12 s, drifting at 3 m/s
    t = np.arange(0.0, 40.0, 0.01)
    x_base = np.where(t > 10, 10.0 * (t - 10), 0.0)
    base = np.zeros((t.size, 2, 2))
    base[:, 1, 0] = x_base
    _history(tmp_path / "base", t, base)
    tv = t + 5.0  # same event on a clock shifted by the longer settling
    ev = t - 10
    var = np.zeros((t.size, 2, 2))
    var[:, 1, 0] = x_base + np.where(ev > 12, 3.0 * (ev - 12), 0.0)
    _history(tmp_path / "var", tv, var)
    runs = [{"name": "base", "ok": True, "run_folder": str(tmp_path / "base"), "case": CASE, "sets": {}},
            {"name": "settle+5s", "ok": True, "run_folder": str(tmp_path / "var"), "case": CASE,
             "sets": bench.variants(CASE)["settle+5s"]}]
    sp = bench.split_times(runs)["settle+5s"]
    # threshold max(2 m, 1 % of the travel 120-130 m) = 2 m: reached 2/3 s after 12 s
    assert sp["split_event_time"] == pytest.approx(12.0 + 2.0 / 3.0, abs=0.02)
    assert sp["distance_before"] < 1.0


def test_accuracy_statement_is_generated_from_the_runs():
    runs = [{"name": "base", "ok": True, "peak_velocity": 20.0, "runout": 300.0, "runup": 100.0, "duration": 30.0},
            {"name": "time/2", "ok": True, "peak_velocity": 20.2, "runout": 297.0, "runup": 100.0, "duration": 30.6},
            {"name": "time/4", "ok": False, "error": "RunDiverged: DDA diverged at step 9 (t = 5 s), block 2: "
             "penetration 0.2 m > limit 0.1 m after 6 retries (dt = 1e-05 s)", "peak_before_divergence": 19.0}]
    report = {"case": "/x/cases/vajont.toml", "common_overrides": {"dda.contact_damping_time": 0.0025}, "runs": runs,
              "worst_relative_change": {q: max(v for v in c.values() if v is not None) if any(
                  v is not None for v in c.values()) else None for q, c in bench.relative_changes(runs).items()}}
    text = bench.accuracy_statement(report)
    assert "--case cases/vajont.toml --set dda.contact_damping_time=0.0025 --variants base,time/2,time/4" in text
    assert "base peak 20.00 m/s, run-out 300.0 m, run-up 100.0 m, onset to rest 30.00 s" in text
    assert "dt and g2 halved +1.0 / -1.0 / +0.0 / +2.0 %" in text
    assert "quartered: did not finish (DDA diverged at step 9 (t = 5 s), block 2: penetration 0.2 m > limit 0.1 m; " \
           "its peak before: -5.0 %)" in text
    assert "largest: peak 1.0 %, run-out 1.0 %, run-up 0.0 %, onset to rest 2.0 %" in text


@pytest.mark.parametrize("case, reports", [
    ("vajont.toml", ("vajont_resolution.json", "vajont_resolution_damping_time.json", "vajont_resolution_session15.json")),
    ("vajont_10block.toml", ("vajont_10block_resolution.json", "vajont_10block_resolution_damping_time.json",
                             "vajont_10block_resolution_session15.json"))])
def test_vajont_accuracy_quotes_its_committed_resolution_reports(case, reports):
    """The figures of a Vajont case's ``accuracy`` key are generated from the runs (issue 13
    item 8): each report's sentence (accuracy_statement) stands in the key verbatim, so a rerun
    that changes a figure fails here until the key is regenerated."""
    import json

    import coupling

    accuracy = coupling.load_case(CASES / case).spec.accuracy_studies  # the studies behind the short statement
    for name in reports:
        report = json.loads((ROOT / "benchmarks" / "out" / name).read_text(encoding="utf-8"))
        assert Path(report["case"]).name == case
        assert bench.accuracy_statement(report) in accuracy, name


def test_roundoff_benchmark_compares_tracks_bitwise_and_locates_where_they_part(tmp_path):
    """benchmarks/vajont_roundoff.py: identical histories are bitwise equal; a track that drifts
    away at 1 mm/s from t = 5 s is 1e-6 m apart just after 5 s and 5 mm apart at t = 10 s."""
    spec = importlib.util.spec_from_file_location("vajont_roundoff", ROOT / "benchmarks" / "vajont_roundoff.py")
    roundoff = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roundoff)
    t = np.arange(0.0, 10.0 + 1e-9, 0.01)
    a = np.zeros((t.size, 2, 2))
    a[:, 1, 0] = 3.0 * t
    b = a.copy()
    b[:, 1, 1] += np.where(t > 5.0, 1e-3 * (t - 5.0), 0.0)
    for name, c in (("a", a), ("same", a.copy()), ("b", b)):
        _history(tmp_path / name, t, c)
    same = roundoff.compare_tracks(tmp_path / "a", tmp_path / "same")
    assert same["bitwise_equal"] is True and same["largest_distance_m"] == 0.0
    apart = roundoff.compare_tracks(tmp_path / "a", tmp_path / "b")
    assert apart["bitwise_equal"] is False
    assert apart["largest_distance_m"] == pytest.approx(5e-3, rel=1e-9)
    assert apart["first_time_apart_1e-6_m"] == pytest.approx(5.01, abs=1e-9)
    assert roundoff.compare_tracks(tmp_path / "a", tmp_path / "missing")["bitwise_equal"] is None


def test_readme_quotes_the_ten_block_base_run_of_its_latest_report():
    """README's Verification row gives the ten-block figures of its shipped run as the latest
    report measured it (benchmarks/out/vajont_10block_ensemble_resolution_session29.json's
    unperturbed base member; a rerun that changes them fails here until the README is regenerated)."""
    import json
    import re

    report = json.loads((ROOT / "benchmarks" / "out" / "vajont_10block_ensemble_resolution_session29.json").read_text())
    base = report["single_run"]["run"]
    m = re.search(r"`vajont_10block`: ([0-9.]+) m/s, run-out ([0-9.]+) m \(outside\), ([0-9.]+) m up the flank, at rest ([0-9.]+) s",
                  (ROOT / "README.md").read_text())
    assert m, "README: the ten-block figures are missing"
    got = [float(g) for g in m.groups()]
    for g, w, tol in zip(got, (base["peak_velocity"], base["runout"], base["runup"], base["duration"]), (0.05, 0.5, 0.5, 0.05)):
        assert abs(g - w) <= tol, (got, base)


def test_a_report_names_the_code_of_its_runs(tmp_path):
    """Every run of a resolution or ensemble report records the code that made it (git commit,
    +dirty for uncommitted changes; a reused run folder its own) and the machine, and the
    report lists the code versions."""
    from coupling.output.provenance import git_commit

    args = (str(CASES / "dda_incline.toml"), "base", {"dda.duration": 0.05}, str(tmp_path))
    fresh = bench.run_one(args)
    again = bench.run_one(args)
    assert fresh["ok"] and again["ok"] and not fresh["reused"] and again["reused"], (fresh, again)
    assert fresh["git_commit"] == again["git_commit"] == git_commit()  # reused: read from its summary.json
    assert bench.code_versions([fresh, again]) == [git_commit() or "unknown"]
    assert fresh["machine"] == bench.machine() and "machine" not in again  # a reused folder: not this machine's run


def test_a_report_of_several_code_versions_is_flagged():
    a, b = "a" * 40, "b" * 40
    assert bench.code_warning([a]) is None
    assert bench.code_versions([{"ok": True, "git_commit": b}, {"ok": True, "git_commit": a},
                                {"ok": False, "git_commit": "c" * 40}, {"ok": True}]) == [a, b, "unknown"]
    assert bench.code_warning([a, b + "+dirty"]) == \
        f"warning: the runs come from 2 code versions ({a[:12]}, {b[:12]}+dirty): rerun them with one"
    assert "uncommitted changes" in bench.code_warning([a + "+dirty"])


def test_a_run_records_its_machine(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    assert bench.machine().endswith(", OPENBLAS_CORETYPE=SkylakeX") and len(bench.machine()) > len(", OPENBLAS_CORETYPE=SkylakeX")
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    assert "OPENBLAS" not in bench.machine()
