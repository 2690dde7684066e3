"""benchmarks/vajont_band_strike.py: the strike that makes a band's slide maximum is found."""

import importlib.util
import json

import h5py
import numpy as np

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("vajont_band_strike", ROOT / "benchmarks" / "vajont_band_strike.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _run(folder, jump_at: float | None):
    """A run whose band heats 1 K/s over the slide (onset 10 s, peak speed 26 s), with a 15 K
    rise in two steps at ``jump_at`` whose ratio dips to 0.5, and 100 K after the peak speed."""
    folder.mkdir(parents=True)
    t = np.arange(0.0, 40.0, 0.01)
    temp = np.clip(t - 10.0, 0.0, None)
    ratio = np.full_like(t, 0.99)
    if jump_at is not None:
        k = int(round(jump_at / 0.01))
        temp[k + 1:] += 7.5
        temp[k + 2:] += 7.5
        ratio[k + 1:k + 3] = 0.5
    temp[t > 26.0] += 100.0  # the arrival: outside the window
    with h5py.File(folder / "history.h5", "w") as f:
        for name, x in (("time", t), ("temperature_rise", temp), ("pore_pressure_ratio", ratio)):
            f[f"band/{name}"] = x
    results = {"onset_time": 10.0, "time_of_peak": 26.0, "band_temperature_rise_slide_max": float(temp[t <= 26].max())}
    (folder / "summary.json").write_text(json.dumps({"results": results}))


def test_a_strike_inside_the_slide_is_found_and_the_arrival_is_not(tmp_path):
    _run(tmp_path / "ens" / "base" / "member_00", 22.9)
    _run(tmp_path / "ens" / "base" / "member_01", None)
    out = tmp_path / "strike.json"
    assert bench.main(["--run-dir", str(tmp_path / "ens"), "--out", str(out)]) == 0
    runs = {r["run"]: r for r in json.loads(out.read_text())["variants"]["base"]["runs"]}
    hit = runs["member_00"]
    assert abs(hit["time"] - 22.9) < 0.05 and abs(hit["rise"] - (15.0 + 0.05)) < 0.02 and hit["lowest_ratio"] == 0.5
    calm = runs["member_01"]  # steady heating only: 5 steps of 0.01 s at 1 K/s
    assert calm["rise"] < 0.1 and calm["lowest_ratio"] == 0.99


def test_a_missing_run_folder_is_one_line_and_exit_2(tmp_path, capsys):
    assert bench.main(["--run-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --run-dir:")


def test_the_ten_block_studies_quote_both_strike_reports():
    """cases/vajont_10block.toml says why its band is not resolved (session 24) with the committed
    strike reports: its runs' strike and the flagship's slide without one."""
    import coupling
    from conftest import CASES

    studies = coupling.load_case(CASES / "vajont_10block.toml").spec.accuracy_studies
    out = ROOT / "benchmarks" / "out"
    ten, flagship = (json.loads((out / n).read_text(encoding="utf-8"))
                     for n in ("vajont_10block_band_strike.json", "vajont_band_strike.json"))
    assert bench.statement(ten) in studies and bench.statement(flagship) in studies
    for variant in ten["variants"].values():  # the strike is larger than the flagship's largest rise
        assert variant["range"]["rise"][0] > 5 * max(v["range"]["rise"][1] for v in flagship["variants"].values())
