"""benchmarks/vajont_settle.py: onset to rest split at the arrival (the largest run-out) into the
ride to it and the settling back, per run folder of an ensemble; statistics and changes of the
means per variant. Fast: synthetic run folders (history.h5 + summary.json) with known answers."""

import importlib.util
import json
import sys

import h5py
import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
_spec = importlib.util.spec_from_file_location("vajont_settle", ROOT / "benchmarks" / "vajont_settle.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _folder(path, arrival: float, back: float, rest: float, onset: float = 10.0):
    """A run folder: a fixed block 0 and two moving 1 x 1 and 1 x 3 blocks whose mass centre goes
    from x = 0 to 100 m at ``arrival`` s, then back by ``back`` m; at rest at ``rest`` s."""
    t = np.linspace(0.0, 60.0, 601)
    x = np.interp(t, [0.0, onset, arrival, arrival + 5.0, 60.0], [0.0, 0.0, 100.0, 100.0 - back, 100.0 - back])
    c = np.zeros((t.size, 3, 2))
    c[:, 1, 0] = x - 1.5  # area 1: the area-weighted centre is x (1 (x - 1.5) + 3 (x + 0.5)) / 4 = x
    c[:, 2, 0] = x + 0.5
    squares = [np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float), np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float),
               np.array([[0, 0], [3, 0], [3, 1], [0, 1]], float)]
    path.mkdir(parents=True)
    with h5py.File(path / "history.h5", "w") as f:
        f["time"], f["centroid"] = t, c
        f["state/xy"] = np.concatenate(squares)
        f["state/voff"] = np.array([0, 4, 8, 12])
    (path / "summary.json").write_text(json.dumps({"results": {
        "onset_time": onset, "time_to_rest": rest, "monitored_blocks": [1, 2]}}), encoding="utf-8")


def test_a_run_splits_at_its_largest_run_out(tmp_path):
    _folder(tmp_path / "m", arrival=40.0, back=20.0, rest=52.0)
    s = bench.split(tmp_path / "m")
    assert s["arrival"] == pytest.approx(30.0, abs=1e-9) and s["settling"] == pytest.approx(12.0, abs=1e-9)
    assert s["duration"] == pytest.approx(42.0, abs=1e-9)
    assert s["overshoot"] == pytest.approx(20.0, abs=1e-9) and s["max_runout"] == pytest.approx(100.0, abs=1e-9)
    _folder(tmp_path / "moving", arrival=40.0, back=20.0, rest=None)
    assert bench.split(tmp_path / "moving") is None  # not at rest: nothing to split


def test_variants_their_means_and_changes_and_the_statement(tmp_path, capsys):
    for k, (a, r) in enumerate([(40.0, 52.0), (40.0, 54.0), (41.0, 55.0)]):
        _folder(tmp_path / "base" / f"member_{k:02d}", arrival=a, back=10.0, rest=r)
    for k, (a, r) in enumerate([(40.0, 58.0), (40.0, 60.0), (41.0, 62.0)]):
        _folder(tmp_path / "time_4" / f"member_{k:02d}", arrival=a, back=10.0, rest=r)
    out = tmp_path / "settle.json"
    assert bench.main(["--run-dir", str(tmp_path), "--out", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert list(report["variants"]) == ["base", "time_4"]
    st = report["variants"]["base"]["statistics"]
    assert st["arrival"]["mean"] == pytest.approx(91 / 3, rel=1e-12)
    assert st["settling"]["values"] == pytest.approx([12.0, 14.0, 14.0], abs=1e-9)
    ch = report["changes"]
    assert ch["arrival"]["time_4"]["change"] == pytest.approx(0.0, abs=1e-12)
    assert ch["settling"]["time_4"]["change"] == pytest.approx(19 / 40, rel=1e-9)  # settling 12, 14, 14 s against 18, 20, 21 s
    text = bench.statement(report)
    assert text.startswith("onset to rest split at the arrival (the largest run-out; 3 / 3 runs at base / time/4)")
    assert "onset to arrival: means 30.33 / 30.33 s" in text and "largest change of a mean 0.0 %" in text
    assert "settling back: means 13.33 / 19.67 s" in text and "largest change of a mean 47.5 %" in text
    assert text in capsys.readouterr().err


def test_a_folder_without_runs_is_one_line_and_exit_2(tmp_path, capsys):
    assert bench.main(["--run-dir", str(tmp_path / "none")]) == 2
    assert bench.main(["--run-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: --run-dir: ") for line in err)


def test_paired_continuations_difference_and_statement():
    """--continue-from: per member the same state continued at dt and dt/f; the paired difference of
    onset to rest over the members that reach rest in both, and its sentence."""
    one = [{"ok": True, "duration": d} for d in (46.0, 47.0, 48.0, 50.0)]
    four = [{"ok": True, "duration": d} for d in (45.0, 47.5, 47.0, None)]  # the last not at rest: no pair
    pairs = bench.paired({1: one, 4: four}, [1, 4])
    d = pairs["4"]
    assert d["values"] == [-1.0, 0.5, -1.0] and d["n"] == 3
    assert d["mean"] == pytest.approx(-0.5, abs=1e-12) and d["sd"] == pytest.approx(np.std([-1, 0.5, -1], ddof=1), rel=1e-12)
    assert d["se"] == pytest.approx(d["sd"] / np.sqrt(3), rel=1e-12)
    report = {"continue_from": 40.0, "runs": {"1": one, "4": four}, "paired": pairs}
    text = bench.continuation_statement(report)
    assert d["means"] == pytest.approx([47.0, 46.5], abs=1e-12)  # over the pairs only
    assert text == ("continued from the state at 40 s: dt/4 against dt (3 members): onset to rest 47.00 / 46.50 s, "
                    f"paired difference -0.50 s (standard error {d['se']:.2f} s; -1.1 %)")


def test_continuation_factors_are_checked(capsys):
    for bad in ("4", "1,x", "0,1"):
        with pytest.raises(SystemExit) as exc:
            bench.main(["--continue-from", "40", "--dt-factors", bad])
        assert exc.value.code == 2
        assert "--dt-factors" in capsys.readouterr().err


def _report(name: str) -> dict:
    return json.loads((ROOT / "benchmarks" / "out" / name).read_text(encoding="utf-8"))


def test_the_ten_block_case_and_the_docs_quote_the_settle_reports():
    """cases/vajont_10block.toml's accuracy_studies state the split of onset to rest (session 27's 16
    members at each Δt, benchmarks/out/vajont_10block_settle.json) and the paired continuations
    (vajont_10block_settle_continued.json) verbatim; docs/cases.md's ranges come from the split."""
    import coupling
    from conftest import CASES

    spec = coupling.load_case(CASES / "vajont_10block.toml").spec
    split = _report("vajont_10block_settle.json")
    assert bench.statement(split) in spec.accuracy_studies
    assert bench.continuation_statement(_report("vajont_10block_settle_continued.json")) in spec.accuracy_studies
    # session 28: the split of the candidate with the blocks' material damping (dda.block_damping_time)
    assert bench.statement(_report("vajont_10block_block_damping_settle.json")) in spec.accuracy_studies
    # session 29: the split with the band's strength at its state's mean over each step
    assert bench.statement(_report("vajont_10block_settle_session29.json")) in spec.accuracy_studies
    runs = [r for v in split["variants"].values() for r in v["runs"]]
    settling = [r["settling"] for r in runs]
    overshoot = [r["overshoot"] for r in runs]
    docs = " ".join((ROOT / "docs" / "cases.md").read_text(encoding="utf-8").split())
    assert (f"the settling back lasts from {min(settling):.0f} to {max(settling):.0f} s, about as long as the mass "
            f"has to come back from the flank ({min(overshoot):.0f}-{max(overshoot):.0f} m)") in docs
    arrival = max(100 * v["statistics"]["arrival"]["sd"] / v["statistics"]["arrival"]["mean"] for v in split["variants"].values())
    assert f"the ride to the arrival spreads by at most {arrival:.1f} % over the runs" in docs
    damped = _report("vajont_10block_block_damping_settle.json")["variants"]
    means = " / ".join(f"{v['statistics']['duration']['mean']:.1f}" for v in damped.values())
    assert [len(v["runs"]) for v in damped.values()] == [17, 17, 17]
    assert f"with τ_b = 2.5 ms its means are {means} s at Δt / Δt/2 / Δt/4 over 17 members each" in docs
    # session 29: the band's strength at its state's mean over each step
    now = _report("vajont_10block_settle_session29.json")["variants"]
    means = " / ".join(f"{v['statistics']['duration']['mean']:.1f}" for v in now.values())
    assert [len(v["runs"]) for v in now.values()] == [17, 17]
    assert f"onset to rest's means are then {means} s at Δt / Δt/4 over 17 members each" in docs
