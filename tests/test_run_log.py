"""Logs in batch: plain progress lines when stderr is not a terminal, -q / -v, run.log in the
run folder, --version, provenance (commit, PETSc/MUMPS/DOLFINx/torch, command line)."""

from __future__ import annotations

import io
import json
import re

from conftest import run_cli


def test_plain_lines_every_ten_percent_with_decimals_and_eta():
    from coupling.output.progress import progress_bar

    stream = io.StringIO()  # not a terminal
    with progress_bar(8.0, "case: DDA t", unit="s", stream=stream) as bar:
        for k in range(1, 801):
            bar.update(k * 0.01, f"step {k}")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10  # 10 %, 20 %, … 100 % (a short run: the 30 s clock never fires)
    assert "0.80/8 s (10.0 %)" in lines[0] and "ETA" in lines[0] and "step 80" in lines[0]
    assert "8/8 s (100.0 %)  done" in lines[-1]


def test_batch_run_logs_progress_and_provenance(tmp_path):
    out = tmp_path / "out"
    r = run_cli("run", "dda_incline", "-o", str(out), "--set", "dda.duration=0.1")
    assert r.returncode == 0, r.stderr
    progress = [line for line in r.stderr.splitlines() if "%" in line]
    assert 5 <= len(progress) <= 11, r.stderr
    assert re.search(r"DDA t\s+0\.\d\d/0\.10 s \(\d+\.\d %\)\s+ETA \d+ s \| step \d+ ", progress[0]), progress[0]
    assert "done" in progress[-1]

    log = (out / "run.log").read_text()
    for needed in ("command: ", "run dda_incline", "versions: ", "petsc 3.", "mumps 5.", "dolfinx 0.11", "torch ",
                   "status: ok"):
        assert needed in log, needed
    assert sum("%" in line for line in log.splitlines()) == len(progress)
    summary = json.loads((out / "summary.json").read_text())
    assert "run.log" in summary["files"]
    assert "run dda_incline" in summary["command"]
    v = summary["versions"]
    assert {"petsc", "mumps", "dolfinx", "torch", "git_commit"} <= set(v)  # the tests run in a git checkout
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", v["git_commit"])


def test_quiet_and_verbose(tmp_path):
    quiet = run_cli("run", "dda_incline", "-o", str(tmp_path / "q"), "-q", "--set", "dda.duration=0.1")
    verbose = run_cli("run", "dda_incline", "-o", str(tmp_path / "v"), "-v", "--set", "dda.duration=0.1")
    assert quiet.returncode == 0 and verbose.returncode == 0, (quiet.stderr, verbose.stderr)
    assert quiet.stderr == ""
    assert "%" in (tmp_path / "q" / "run.log").read_text()  # run.log has progress whatever the verbosity
    n_verbose = sum("%" in line for line in verbose.stderr.splitlines())
    assert n_verbose >= 20  # every 1 % instead of every 10 %


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0, r.stderr
    assert re.match(r"deepmanifold \d+\.\d+", r.stdout)
    for name in ("DOLFINx 0.11", "PETSc 3.", "MUMPS 5.", "torch "):
        assert name in r.stdout, r.stdout


def test_data_driven_load_path_progress_counts_load_steps(tmp_path):
    """A data-driven run along fem.load_path reports its progress in load steps (step k in
    progress counts k − ½, as the FEM's Newton), never backwards, and ends "done". Before session
    18 the count was the present step's fixed-point iterations out of max_iterations: it fell back
    at every step (151/500, 200/500, then 4/500) and the last line of the shipped
    data_driven_plasticity run read "4/500 (0.8 %)  ETA 58 min 25 s" half a second before it ended."""
    law = '{law="j2_plasticity", E=70e9, nu=0.3, yield_stress=200e6, hardening=5e9}'
    r = run_cli("run", "data_driven_plasticity", "-o", str(tmp_path / "dd"), "-v", "--set", f"data.law={law}",
                "--set", "mesh.element_size=0.4", "--set", "mesh.hole_element_size=0.1", "--set", "fem.degree=1",
                "--set", "fem.load_path=[0.5, 1.0, 0.0]", "--set", "fixed_point.rtol=1e-8",
                "--set", "output.plots=false", "--set", "output.fields=false")
    assert r.returncode == 0, r.stderr
    progress = [line for line in r.stderr.splitlines() if "%" in line]
    assert progress, r.stderr
    done = [float(m.group(1)) for m in (re.search(r"load step\s+(\d+(?:\.\d+)?)/3 ", line) for line in progress) if m]
    assert len(done) == len(progress), progress
    assert done == sorted(done), progress
    assert all(re.search(r"\| step [123]/3 iteration \d+ change ", line) for line in progress), progress
    assert "3/3 (100.0 %)  done" in progress[-1], progress[-1]
