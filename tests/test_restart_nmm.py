"""Restart of dynamic NMM runs from a case file (issue 10, item 4): ``run --restart`` from a
checkpoint ends with the summary, history.h5 and frames of the uninterrupted run, also after a
SIGTERM, on 1 and 2 ranks; and the shipped dynamic case against its references.

The case is cases/nmm_cantilever_dynamic.toml shortened to 20 steps of 2 ms (frames every
10 ms, no plots). Measured: the restarted run equals the uninterrupted one bit for bit (max
relative difference 0.0); the requirement is 1e-12 relative for the same rank count.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import CASES, ROOT, run_cli
from test_restart import RTOL, _rel, _wait_for

CASE = CASES / "nmm_cantilever_dynamic.toml"
STEPS = 20
SETS = ["nmm.duration=0.04", "nmm.dt=0.002", "nmm.output_interval=0.01", "output.plots=false"]
SOLVER_COUNTS = ("steps", "step_cuts", "newton_iterations", "solves")


def max_relative_difference(a, b, frames_identical: bool = True) -> float:
    """Largest relative difference between two dynamic NMM run folders: every number of
    summary.json's results (probes included) and the solver's step counts, every dataset of
    history.h5; the frames must be the same files (``frames_identical``) or their arrays are
    compared too."""
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    worst = 0.0

    def walk(x, y, key):
        nonlocal worst
        if isinstance(x, dict):
            assert x.keys() == y.keys(), key
            for k in x:
                walk(x[k], y[k], f"{key}.{k}")
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            worst = max(worst, _rel(x, y))
        else:
            assert x == y, key

    walk(sa["results"], sb["results"], "results")
    for k in SOLVER_COUNTS:
        worst = max(worst, _rel(sa["solver"][k], sb["solver"][k]))
    with h5py.File(a / "history.h5") as fa, h5py.File(b / "history.h5") as fb:
        names: list[str] = []
        fa.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        assert {"time", "probes/tip_deflection", "state/u", "state/velocity"} <= set(names), names
        for n in names:
            worst = max(worst, _rel(fa[n][()], fb[n][()]))
    frames = sorted(p.name for p in (a / "fields").iterdir())
    assert frames == sorted(p.name for p in (b / "fields").iterdir())
    assert len(frames) == 4  # t = 10, 20, 30, 40 ms
    for name in frames:
        if frames_identical:
            assert (a / "fields" / name).read_bytes() == (b / "fields" / name).read_bytes(), name
            continue
        import meshio

        ma, mb = meshio.read(a / "fields" / name), meshio.read(b / "fields" / name)
        worst = max(worst, _rel(ma.points, mb.points), *(_rel(ma.point_data[k], mb.point_data[k]) for k in ma.point_data),
                    *(_rel(ma.cell_data[k][0], mb.cell_data[k][0]) for k in ma.cell_data))
    assert (a / "fields.pvd").read_bytes() == (b / "fields.pvd").read_bytes()
    return worst


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference run, checkpointing every 8 steps (checkpoints at steps 8 and 16 of 20)."""
    import coupling

    out = tmp_path_factory.mktemp("nmm_restart") / "uninterrupted"
    coupling.run(CASE, out, overrides=SETS + ["output.restart_every_steps=8"])
    return out


def test_checkpoint_and_outputs(uninterrupted):
    """The last periodic checkpoint (step 16, not the final step), numbers and text only; the
    history has every step; the frames are readable by meshio."""
    import meshio

    with h5py.File(uninterrupted / "restart.h5") as f:
        assert f.attrs["format"] == "deepmanifold.restart" and f.attrs["solver"] == "nmm"
        assert f.attrs["step"] == 16 and f.attrs["time"] == pytest.approx(16 * 0.002)
        assert f["nmm/rank0/u"].shape == f["nmm/rank0/v"].shape and np.abs(f["nmm/rank0/v"][()]).max() > 0
        assert f["runner/probes"].shape == (17, 1)
        kinds = set()
        f.visititems(lambda n, o: kinds.add(o.dtype.kind) if isinstance(o, h5py.Dataset) else None)
        assert kinds <= set("biufO")
    summary = json.loads((uninterrupted / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["solver"]["steps"] == STEPS
    assert {"restart.h5", "history.h5", "fields.pvd"} <= set(summary["files"])
    with h5py.File(uninterrupted / "history.h5") as f:
        t, tip = f["time"][()], f["probes/tip_deflection"][()]
        assert t.shape == tip.shape == (STEPS + 1,) and t[-1] == pytest.approx(0.04) and tip[0] == 0.0
        entry = summary["results"]["probes"]["tip_deflection"]
        assert entry["value"] == tip[-1] and entry["peak"] == tip[np.argmax(np.abs(tip))]
    mesh = meshio.read(uninterrupted / "fields" / "fields_0003.vtu")
    assert mesh.point_data["displacement"].shape == (len(mesh.points), 3)
    assert np.abs(mesh.point_data["displacement"][:, 1]).max() > 0


def test_restart_ends_as_the_uninterrupted_run(uninterrupted, tmp_path):
    import coupling

    out = tmp_path / "restarted"
    result = coupling.run(CASE, out, overrides=SETS, restart=uninterrupted)
    assert result.status == "ok"
    assert f"restart: from {uninterrupted} at step 16" in (out / "run.log").read_text()
    assert max_relative_difference(uninterrupted, out) <= RTOL


def test_sigterm_then_restart(uninterrupted, tmp_path):
    """SIGTERM after the first checkpoint: published as interrupted (exit 143) with a
    checkpoint of its last complete step; ``--restart`` over the same folder ends as the
    uninterrupted run."""
    out = tmp_path / "out"
    sets = [a for s in SETS + ["output.restart_every_steps=2"] for a in ("--set", s)]
    proc = subprocess.Popen([sys.executable, "-m", "coupling", "run", str(CASE), "-o", str(out), "-q", *sets],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    _wait_for("out.partial-*/restart.h5", tmp_path, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "PETSC ERROR" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    steps = summary["solver"]["steps"]
    assert 2 <= steps < STEPS
    assert summary["results"]["simulated_time"] == pytest.approx(steps * 0.002)
    with h5py.File(out / "restart.h5") as f:
        assert f.attrs["step"] == steps  # the last complete step, not only the last periodic one
    with h5py.File(out / "history.h5") as f:
        assert f["time"].shape == (steps + 1,)
    r = run_cli("run", str(CASE), "-q", *sets, "--restart", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "summary.json").read_text())["status"] == "ok"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert max_relative_difference(uninterrupted, out) <= RTOL


def test_restart_refusals(uninterrupted, tmp_path):
    """Another case value, a static NMM case: exit 2, one line, nothing written."""
    sets = [a for s in SETS for a in ("--set", s)]
    r = run_cli("run", str(CASE), "-o", str(tmp_path / "a"), "-q", *sets, "--set", "material.E=31e9",
                "--restart", str(uninterrupted))
    assert r.returncode == 2 and "written by another case" in r.stderr and len(r.stderr.splitlines()) == 1
    r = run_cli("run", str(CASES / "nmm_cantilever.toml"), "-o", str(tmp_path / "b"), "-q",
                "--restart", str(uninterrupted))
    assert r.returncode == 2 and "a static NMM case" in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_restart_on_two_ranks(tmp_path):
    """The same on two ranks (the law state is per rank: each rank's snapshot is kept), to
    1e-12 relative as on one rank (measured: bit for bit; the 2-rank solve factorises on one
    rank, nmm.assembly.Assembler.solve, because MUMPS's distributed factorisation differed
    by up to 4.6e-10 in the velocity between two identical runs); two uninterrupted 2-rank
    runs are bit for bit the same; the 2-rank checkpoint is refused on one rank; 2 ranks give
    the 1-rank numbers."""
    sets = [a for s in SETS for a in ("--set", s)]
    a, b, again, one = tmp_path / "a", tmp_path / "b", tmp_path / "again", tmp_path / "one"
    r = run_cli("run", str(CASE), "-o", str(a), "-q", *sets, "--set", "output.restart_every_steps=8", nproc=2)
    assert r.returncode == 0, r.stderr
    with h5py.File(a / "restart.h5") as f:
        assert "nmm/rank1/state" in f and f.attrs["mpi_ranks"] == 2
    r = run_cli("run", str(CASE), "-o", str(again), "-q", *sets, nproc=2)
    assert r.returncode == 0, r.stderr
    assert max_relative_difference(a, again, frames_identical=False) == 0.0  # deterministic
    r = run_cli("run", str(CASE), "-o", str(b), "-q", *sets, "--restart", str(a), nproc=2)
    assert r.returncode == 0, r.stderr
    d = max_relative_difference(a, b, frames_identical=False)
    assert d <= 1e-12
    r = run_cli("run", str(CASE), "-o", str(tmp_path / "c"), "-q", *sets, "--restart", str(a))
    assert r.returncode == 2 and "written on 2 rank(s), this run has 1" in r.stderr
    assert not (tmp_path / "c").exists()
    r = run_cli("run", str(CASE), "-o", str(one), "-q", *sets)
    assert r.returncode == 0, r.stderr
    p1 = json.loads((one / "summary.json").read_text())["results"]["probes"]["tip_deflection"]
    p2 = json.loads((a / "summary.json").read_text())["results"]["probes"]["tip_deflection"]
    assert abs(p1["peak"] - p2["peak"]) <= 1e-10 * abs(p1["peak"])  # ranks change round-off only


@pytest.mark.slow
def test_shipped_case_against_its_references(tmp_path):
    """The shipped case (200 steps of 1 ms): the peak tip deflection against twice the static
    deflection of the same NMM beam (measured 1.931x: the higher modes are out of phase at the
    first-mode peak, a few per cent by modal analysis; envelope [1.88, 2.0], margin 2.6 % below
    the measured value) and the time of the peak against half the Euler-Bernoulli first-mode
    period, 0.0894 s (measured 0.090 s, 0.7 %; the bound 2 % allows for shear and rotary
    inertia, which lengthen the period by 1-2 % at h/L = 0.1)."""
    import coupling

    dyn = coupling.run(CASE, tmp_path / "dyn", overrides=["output.plots=false"])
    static = coupling.run(CASES / "nmm_cantilever.toml", None)
    peak = dyn.results["probes"]["tip_deflection"]["peak"]
    ratio = peak / static.results["probes"]["tip_deflection"]["value"]
    assert 1.88 <= ratio <= 2.0, ratio
    t1 = 2 * np.pi / (1.875104 ** 2 * np.sqrt(30e9 / 12 / (2500.0 * 10.0 ** 4)))
    assert abs(dyn.results["probes"]["tip_deflection"]["time_of_peak"] - t1 / 2) <= 0.02 * t1 / 2


@pytest.mark.slow
def test_shipped_case_resolved_against_a_refined_run(tmp_path):
    """Issue 13 item 8: the shipped case resolves the peak it reports. Covers refined 2x (80x8)
    and the time step halved (0.5 ms), over the first peak: the peak tip deflection moves by
    0.38 % (measured: -0.025936 vs -0.026035 m); the case's accuracy statement says so, and the
    test holds it below 1 % (2.6x the measured change)."""
    import coupling

    first_peak = ["nmm.duration=0.11", "output.plots=false", "output.fields=false"]
    base = coupling.run(CASE, tmp_path / "base", overrides=first_peak)
    fine = coupling.run(CASE, tmp_path / "fine", overrides=[*first_peak, "nmm.dt=5e-4", "cover.cells=[80, 8]"])
    p, q = (r.results["probes"]["tip_deflection"]["peak"] for r in (base, fine))
    assert abs(p - q) <= 0.01 * abs(q), (p, q)
