"""The command line: run, check, cases, --set, python -m coupling, output folder contents."""

import json

from conftest import CASES, run_cli


def test_cases_lists_shipped_cases_with_descriptions():
    r = run_cli("cases")
    assert r.returncode == 0, r.stderr
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert "cantilever" in names and "plate_hole" in names
    assert all(len(line.split(None, 1)) == 2 for line in r.stdout.splitlines())


def test_check_accepts_shipped_cases():
    for path in CASES.glob("*.toml"):
        r = run_cli("check", str(path))
        assert r.returncode == 0, r.stderr
        assert "ok" in r.stdout


def test_run_writes_summary_fields_and_plot(tmp_path):
    out = tmp_path / "cant"
    r = run_cli("run", "cantilever", "-o", str(out), "--set", "mesh.cells=[20, 2]", "-q")
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "ok"
    assert summary["case"]["overrides"] == {"mesh.cells": [20, 2]}
    assert summary["case"]["input"]["mesh"]["cells"] == [20, 2]
    solver = summary["solver"]
    for key in ("dofs", "newton_iterations", "residual_history", "mpi_ranks", "time_solve_s"):
        assert key in solver
    assert summary["versions"]["dolfinx"].startswith("0.11")
    for name in ("fields.xdmf", "fields.h5", "deformed.png"):
        assert (out / name).stat().st_size > 0
    assert not list(tmp_path.glob("*.partial-*"))


def test_rerun_replaces_previous_output(tmp_path):
    out = tmp_path / "cant"
    assert run_cli("run", "cantilever", "-o", str(out), "--set", "mesh.cells=[20, 2]", "-q").returncode == 0
    (out / "stale.txt").write_text("old")
    assert run_cli("run", "cantilever", "-o", str(out), "--set", "mesh.cells=[10, 2]", "-q").returncode == 0
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "summary.json").read_text())["case"]["input"]["mesh"]["cells"] == [10, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cant"]


def test_python_api_matches_cli(tmp_path):
    import coupling

    case = coupling.load_case(CASES / "cantilever.toml", ["mesh.cells=[20, 2]"])
    api = coupling.run(case).results["probes"]["tip_deflection"]["value"]
    out = tmp_path / "cli"
    assert run_cli("run", str(CASES / "cantilever.toml"), "-o", str(out), "--set", "mesh.cells=[20,2]", "-q").returncode == 0
    cli = json.loads((out / "summary.json").read_text())["results"]["probes"]["tip_deflection"]["value"]
    assert api == cli
