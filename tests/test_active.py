"""Implicit coupling (coupling/ensemble/active.py): the active-learning loop on a function with
a known answer, the acquisition, and ``deepmanifold surrogate active`` on a small FEM case
(held-out set, growing ensemble, resume, refusals)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from conftest import run_cli

THETA = np.radians(30.0)
SMALL = {"members": 3, "hidden": (16,), "iterations": 150}  # a few seconds per round on a loaded 2-core host


def travel(phi_deg):
    """Block on a 30° incline at t = 1 s: ½ g (sin θ − cos θ tan φ), zero once φ ≥ θ (a kink at 30°)."""
    return np.maximum(0.0, 0.5 * 9.81 * (np.sin(THETA) - np.cos(THETA) * np.tan(np.radians(phi_deg))))


class _Spread:
    """A stand-in surrogate whose spread is known: σ(x) = |x − 3| (largest at the range ends)."""

    def predict(self, x):
        x = np.atleast_2d(x)
        return np.zeros_like(x), np.abs(x - 3.0)


def test_acquisition_picks_the_largest_spread_and_spreads_a_batch():
    from coupling.ensemble.active import pick_points
    from coupling.ensemble.design import Parameter

    params = [Parameter("x", 0.0, 10.0)]
    pool = np.linspace(0.0, 10.0, 101)[:, None]
    new, score = pick_points(_Spread(), params, 1, 5, pool, np.array([1.0]))
    assert new[0, 0] == 10.0 and score[0] == 7.0  # the largest spread
    new, score = pick_points(_Spread(), params, 3, 4, pool, np.array([2.0]))
    # exclusion radius ½·4^(−1) = 0.125 of the range = 1.25: 10, then 8.7 (not 9.9..8.8), then 7.4 or 0 ...
    assert new[0, 0] == 10.0 and np.all(np.diff(np.sort(new[:, 0])) > 1.25)
    assert score[0] == 3.5 and list(score) == sorted(score, reverse=True)


def test_loop_stops_when_surrogate_and_solver_agree_on_the_held_out_set():
    from coupling.ensemble.active import active_loop, relative_test_error
    from coupling.ensemble.design import Parameter, sample_design

    params = [Parameter("phi", 15.0, 40.0)]
    calls = []

    def solve(x):
        calls.append(len(x))
        return travel(x[:, 0])[:, None]

    test_x = sample_design(params, 24, "lhs", 1)
    test_y = solve(test_x)
    calls.clear()
    initial = sample_design(params, 4, "lhs", 0)
    tol = 0.05
    r = active_loop(solve, params, initial, test_x, test_y, tolerance=tol, max_runs=24, batch=2, seed=0, train=SMALL,
                    names=["travel"])
    rounds = r["rounds"]
    assert r["converged"] and rounds[-1]["worst"] <= tol < min(q["worst"] for q in rounds[:-1])
    assert [q["runs"] for q in rounds] == calls == list(range(4, 4 + 2 * len(rounds), 2))
    np.testing.assert_array_equal(r["x"][:4], initial)  # the design grows by appending
    np.testing.assert_array_equal(r["y"], travel(r["x"][:, 0])[:, None])
    # the reported agreement is the one the returned surrogate has
    assert relative_test_error(r["net"], test_x, test_y)[0] == pytest.approx(rounds[-1]["worst"], rel=1e-12)
    # every pick is where the previous surrogate was least certain among the candidates
    for q in rounds[:-1]:
        assert len(q["picked"]) == 2 and q["acquisition"][0] >= q["acquisition"][1] > 0

    capped = active_loop(solve, params, initial, test_x, test_y, tolerance=1e-9, max_runs=7, batch=2, seed=0,
                         train=SMALL)
    assert not capped["converged"] and capped["runs"] == 7 and capped["rounds"][-1]["runs"] == 7


FEM = ["--set", "mesh.cells=[10,2]", "--set", "output.plots=false", "--set", "output.fields=false"]


def test_cli_active_on_a_small_fem_case_resumes_and_refuses_foreign_folders(tmp_path):
    out = tmp_path / "al"
    args = ["surrogate", "active", "cantilever", "--vary", "material.E=20e9:60e9:log", *FEM,
            "--outputs", "probes.tip_deflection", "--tolerance", "0.01", "--initial", "3", "--max-runs", "5",
            "--test", "4", "--members", "3", "--hidden", "16", "--iterations", "150", "-o", str(out)]
    r = run_cli(*args)
    assert r.returncode in (0, 1), r.stderr
    report = json.loads((out / "active.json").read_text())
    assert report["status"] == "finished" and report["converged"] == (r.returncode == 0)
    assert report["test_runs"] == 4 and report["rounds"][0]["runs"] == 3
    runs = report["training_runs"]
    assert 3 <= runs <= 5 and report["rounds"][-1]["runs"] == runs
    with h5py.File(out / "ensemble" / "ensemble.h5") as f:  # every training run is in the table
        assert f["parameters"].shape == (runs, 1)
        assert [s.decode() for s in f["status"][()]] == ["ok"] * runs
        names = list(f.attrs["output_names"])
        tip = f["outputs"][:, names.index("probes.tip_deflection")]
        E = f["parameters"][:, 0]
    assert np.all(tip < 0) and np.all(np.diff(tip[np.argsort(E)]) > 0)  # stiffer: smaller deflection
    for row in report["rounds"][:-1]:  # added points come from the parameter range
        assert all(20e9 <= p[0] <= 60e9 for p in row["picked"])
    assert (out / "surrogate.pt").is_file()
    p = run_cli("surrogate", "predict", str(out / "surrogate.pt"), "--at", "material.E=30e9")
    assert p.returncode == 0 and "probes.tip_deflection" in p.stdout

    again = run_cli(*args)  # resume: nothing runs again, the same rounds
    assert again.returncode == r.returncode, again.stderr
    assert again.stderr.count(" 0 to run") == len(report["rounds"]) + 1
    rerun = json.loads((out / "active.json").read_text())
    assert [q["worst"] for q in rerun["rounds"]] == [q["worst"] for q in report["rounds"]]

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    bad = run_cli(*args[:-1], str(foreign))
    assert bad.returncode == 2 and "not an active-learning run" in bad.stderr and "Traceback" not in bad.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("extra, expected", [
    (["--vary", "material.E=60e9:20e9"], "--vary: found 'material.E=60e9:20e9'"),
    (["--vary", "material.E=20e9:60e9", "--initial", "9", "--max-runs", "4"], "--initial: found 9 > --max-runs 4"),
    (["--vary", "material.E=20e9:60e9", "--tolerance", "0"], "--tolerance"),
    (["--vary", "material.nope=1:2"], "nope"),
])
def test_cli_active_bad_options_one_line_exit_2_nothing_written(tmp_path, extra, expected):
    out = tmp_path / "al"
    r = run_cli("surrogate", "active", "cantilever", *extra, "-o", str(out))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert expected in lines[0], lines[0]
    assert not out.exists()


@pytest.mark.slow
def test_cli_active_on_mpi4py_futures_workers_equals_the_serial_loop(tmp_path):
    args = ["surrogate", "active", "cantilever", "--vary", "material.E=20e9:60e9:log", *FEM,
            "--outputs", "probes.tip_deflection", "--tolerance", "1e-4", "--initial", "3", "--max-runs", "5",
            "--batch", "2", "--test", "4", "--members", "3", "--hidden", "16", "--iterations", "150"]
    serial = run_cli(*args, "-q", "-o", str(tmp_path / "serial"))
    assert serial.returncode in (0, 1), serial.stderr
    import subprocess
    import sys

    from conftest import ROOT, mpiexec

    r = subprocess.run([mpiexec(), "-n", "3", sys.executable, "-m", "mpi4py.futures", "-m", "coupling", *args, "-q",
                        "-o", str(tmp_path / "mpi")], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == serial.returncode, r.stderr
    a = json.loads((tmp_path / "serial" / "active.json").read_text())
    b = json.loads((tmp_path / "mpi" / "active.json").read_text())
    assert len(a["rounds"]) == len(b["rounds"]) >= 2  # at least one round of 2 picks ran on the workers
    for ra, rb in zip(a["rounds"], b["rounds"]):  # the same runs, the same networks, the same picks
        assert ra["runs"] == rb["runs"] and ra.get("picked") == rb.get("picked")
        # members on COMM_SELF workers give the serial numbers (test_ensemble.py) and the training is
        # deterministic: measured identical; 1e-9 leaves room for nothing but a real difference
        assert ra["worst"] == pytest.approx(rb["worst"], rel=1e-9)
