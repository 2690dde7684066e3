"""Restart checkpoints (issue 10, item 4): a DDA run continued with ``--restart`` from a
checkpoint ends with the state, histories, summary results, frames and plots of the
uninterrupted run, also after a SIGTERM.

The case is Vajont (cases/vajont.toml) without its static settling phase (dda.settle_time = 0:
the event from t = 0), shortened to 1.5 s with Δt = 20 ms and g2 = 2e-5, so
that the step control cuts Δt (three cuts; Δt from 20 ms down to 2.2 ms) while the slide
accelerates on its thermally pressurised clay band: contacts open, slide and lock, Coulomb
friction with a joint-law state (band temperature and pore pressure), reservoir water.
Measured: the restarted run equals the uninterrupted one bit for bit (max relative
difference 0.0); the requirement is 1e-12 relative for the same rank count.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from conftest import CASES, ROOT, run_cli

SETS = ["dda.settle_time=0", "dda.duration=1.5", "dda.dt=0.02", "dda.max_displacement_ratio=2e-5", "dda.output_interval=0.1"]
RTOL = 1e-12  # the requirement for the same rank count (measured: 0.0, bit for bit)


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    if a.size == 0:
        return 0.0
    scale = max(float(np.abs(a).max()), float(np.abs(b).max()))
    return float(np.abs(a - b).max() / scale) if scale > 0 else 0.0


def max_relative_difference(a, b) -> float:
    """Largest relative difference between two run folders: every number of summary.json's
    results and solver step statistics, every dataset of history.h5 (histories and the final
    state); frames and plots must be the same files."""
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    worst = 0.0
    assert sa["results"].keys() == sb["results"].keys()
    for k, v in sa["results"].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            worst = max(worst, _rel(v, sb["results"][k]))
        else:
            assert v == sb["results"][k], k
    for k in ("steps", "n_dt_cuts", "n_retries", "solves", "oc_iterations_total", "dt_min_used", "n_contacts_max"):
        worst = max(worst, _rel(sa["solver"][k], sb["solver"][k]))
    with h5py.File(a / "history.h5") as fa, h5py.File(b / "history.h5") as fb:
        names: list[str] = []
        fa.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        assert {"time", "centroid", "velocity", "state/xy", "state/velocity"} <= set(names), names
        for n in names:
            worst = max(worst, _rel(fa[n][()], fb[n][()]))
    frames_a = sorted(p.name for p in (a / "frames").iterdir())
    assert frames_a == sorted(p.name for p in (b / "frames").iterdir())
    for name in frames_a:
        assert (a / "frames" / name).read_bytes() == (b / "frames" / name).read_bytes(), name
    for name in ("blocks.pvd", "contacts.pvd", "monitor.png", "snapshots.png"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    return worst


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference run, checkpointing every 120 steps (one checkpoint, at step 120 of 212)."""
    import coupling

    out = tmp_path_factory.mktemp("restart") / "uninterrupted"
    coupling.run(CASES / "vajont.toml", out, overrides=SETS + ["output.restart_every_steps=120"])
    return out


def test_checkpoint_holds_the_step_loop_state(uninterrupted):
    """The checkpoint is mid-run, after Δt cuts, with sliding contacts carrying band state."""
    with h5py.File(uninterrupted / "restart.h5") as f:
        assert f.attrs["format"] == "deepmanifold.restart" and f.attrs["step"] == 120
        assert f["state/dt"][()] < 0.02  # the step control's Δt, not the case's
        assert f["contacts/key"].size > 0 and np.any(f["contacts/state"][()] == 1)  # sliding
        assert np.abs(f["contacts/law_state"][()]).max() > 0  # thermal pressurisation state
        assert f["history/time"].size == 121 and f["runner/band/temperature"].size == 121
        kinds = set()
        f.visititems(lambda n, o: kinds.add(o.dtype.kind) if isinstance(o, h5py.Dataset) else None)
        assert kinds <= set("biufO")  # numbers and text only, no opaque (pickled) bytes
    summary = json.loads((uninterrupted / "summary.json").read_text())
    assert 120 < summary["solver"]["steps"] < 240 and summary["solver"]["n_dt_cuts"] >= 1  # one checkpoint, mid-run
    assert "restart.h5" in summary["files"]


def test_restart_ends_as_the_uninterrupted_run(uninterrupted, tmp_path):
    import coupling

    out = tmp_path / "restarted"
    result = coupling.run(CASES / "vajont.toml", out, overrides=SETS, restart=uninterrupted)
    assert result.status == "ok"
    log = (out / "run.log").read_text()
    assert f"restart: from {uninterrupted} at step 120" in log
    assert max_relative_difference(uninterrupted, out) <= RTOL


def test_refusal_names_the_case_values_that_differ(uninterrupted, tmp_path):
    """``--restart`` without the --set values of the checkpoint's run was refused with "written
    by another case (or other case values)" and no hint which; it names them now (from the
    checkpoint's case_values, or for an older checkpoint from the folder's summary.json)."""
    import shutil

    import coupling

    other = [s for s in SETS if not s.startswith("dda.duration")] + ["dda.duration=1.6", "water.level=230"]
    with pytest.raises(coupling.CaseError) as info:
        coupling.run(CASES / "vajont.toml", tmp_path / "a", overrides=other, restart=uninterrupted)
    text = str(info.value)
    assert ("dda.duration: 1.5 in the checkpoint's run, 1.6 here; water.level: 236.0 in the checkpoint's run, "
            "230.0 here" in text), text
    old = tmp_path / "old"  # a checkpoint without case_values (before session 19): summary.json names them
    shutil.copytree(uninterrupted, old)
    with h5py.File(old / "restart.h5", "a") as f:
        del f["case_values"]
    with pytest.raises(coupling.CaseError) as info:
        coupling.run(CASES / "vajont.toml", tmp_path / "b", overrides=other, restart=old)
    assert "dda.duration: 1.5 in the checkpoint's run, 1.6 here" in str(info.value)
    with pytest.raises(coupling.CaseError) as info:  # another case: the count, not a list
        coupling.run(CASES / "dda_incline.toml", tmp_path / "c", restart=uninterrupted)
    assert "case values differ" in str(info.value) and not (tmp_path / "c").exists()


def test_the_case_texts_do_not_stop_a_restart(uninterrupted, tmp_path):
    """Editing a case's accuracy texts (or title) does not change what a run computes, so a
    restart takes the checkpoint (session 19: they were hashed into its fingerprint); so does a
    checkpoint written before, whose fingerprint hashed them."""
    import shutil

    import coupling
    from coupling.restart import _FREE_KEYS_BEFORE_19, case_fingerprint

    texts = ['accuracy="edited"', 'accuracy_studies="edited"']  # (a title is drawn in monitor.png)
    result = coupling.run(CASES / "vajont.toml", tmp_path / "a", overrides=SETS + texts, restart=uninterrupted)
    assert result.status == "ok" and max_relative_difference(uninterrupted, tmp_path / "a") <= RTOL
    old = tmp_path / "old"
    shutil.copytree(uninterrupted, old)
    case = coupling.load_case(CASES / "vajont.toml", SETS)
    with h5py.File(old / "restart.h5", "a") as f:
        f.attrs["case_fingerprint"] = case_fingerprint(case, _FREE_KEYS_BEFORE_19)
    assert coupling.run(CASES / "vajont.toml", tmp_path / "b", overrides=SETS, restart=old).status == "ok"


def _wait_for(pattern: str, folder, proc, timeout: float = 300) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if list(folder.glob(pattern)):
            return
        if proc.poll() is not None:
            pytest.fail(f"run ended before writing {pattern}: {proc.communicate()}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"no {pattern} within the timeout")


def test_sigterm_then_restart(uninterrupted, tmp_path):
    """SIGTERM after the first checkpoint: the interrupted run is published with a checkpoint
    of its last complete step; ``--restart`` (publishing over the same folder) ends as the
    uninterrupted run."""
    out = tmp_path / "out"
    sets = [a for s in SETS + ["output.restart_every_steps=20"] for a in ("--set", s)]
    proc = subprocess.Popen([sys.executable, "-m", "coupling", "run", str(CASES / "vajont.toml"), "-o", str(out), "-q",
                             *sets], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    _wait_for("out.partial-*/restart.h5", tmp_path, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    steps = summary["solver"]["steps"]
    assert 20 <= steps < 209
    with h5py.File(out / "restart.h5") as f:
        assert f.attrs["step"] == steps  # the last complete step, not only the last periodic one
    r = run_cli("run", str(CASES / "vajont.toml"), "-q", *sets, "--restart", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "summary.json").read_text())["status"] == "ok"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # published over it, nothing else left
    assert max_relative_difference(uninterrupted, out) <= RTOL


INCLINE = ["dda.duration=0.02", "output.plots=false", "output.restart_every_steps=4"]  # 10 steps, checkpoint at 8


def _killed_stage(run_folder, stage, cut: int = 20):
    """``stage``: a copy of ``run_folder`` as a run killed after its last checkpoint leaves it:
    no summary.json, run.log without its status line and cut mid-line (the kill's last write)."""
    import shutil

    shutil.copytree(run_folder, stage)
    (stage / "summary.json").unlink()
    lines = (stage / "run.log").read_text().splitlines(keepends=True)
    assert lines[-1].split("] ", 1)[1].startswith("status: ok")
    (stage / "run.log").write_text("".join(lines[:-2]) + lines[-2][:cut])
    return (stage / "run.log").read_text()


def test_restart_from_a_killed_runs_stage_keeps_its_log_and_removes_it(tmp_path):
    """``--restart OUT.partial-ID`` (what a killed run leaves): the restarted run's run.log starts
    with the killed run's lines, then "restart: from ... at step N", then its own; once the
    complete run is published to OUT, the .partial-ID folder is removed (session 19: the log was
    replaced and the folder left behind). Only that: a stage given with another -o, or one
    holding a run's summary.json (a publish that failed), and a complete run folder are kept."""
    import coupling

    case = CASES / "dda_incline.toml"
    full = coupling.run(case, tmp_path / "a", overrides=INCLINE)
    stage = tmp_path / "out.partial-0123abcd"
    old = _killed_stage(full.out_dir, stage)
    result = coupling.run(case, None, overrides=INCLINE, restart=stage)
    assert result.status == "ok" and result.out_dir == tmp_path / "out"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "out"]  # the stage is gone
    log = (tmp_path / "out" / "run.log").read_text()
    assert log.startswith(old + "\n"), log  # the killed run's lines, its cut line ended
    new = log[len(old) + 1:].splitlines()
    assert new[0].endswith(f"] restart: from {stage} at step 8, t = 0.016 s (the lines above are its run.log)"), new
    assert "] command: " in new[1] and "status: ok" in new[-1]
    assert result.results["runout"] == full.results["runout"]
    # kept: a stage of OUT restarted into another folder, and a stage holding a run's summary.json
    _killed_stage(full.out_dir, stage)
    assert coupling.run(case, tmp_path / "other", overrides=INCLINE, restart=stage).status == "ok"
    failed_publish = tmp_path / "out.partial-89abcdef"
    import shutil

    shutil.copytree(full.out_dir, failed_publish)
    assert coupling.run(case, None, overrides=INCLINE, restart=failed_publish).out_dir == tmp_path / "out"
    assert coupling.run(case, None, overrides=INCLINE, restart=tmp_path / "a").out_dir == tmp_path / "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "other", "out", stage.name, failed_publish.name]
    # a restart over a complete run folder: its run.log keeps that run's lines as well
    log = (tmp_path / "a" / "run.log").read_text()
    assert log.count("] restart: from ") == 1 and log.count("] command: ") == 2


# ---------------------------------------------------------------------------- NMM dynamics
def _sliding_model():
    """tests/test_nmm_cases.py's upper block pushed along a Coulomb joint: every joint point
    slides (contact state, anchors and slip rates carried between steps)."""
    import nmm
    from learned import CoulombFriction, LinearElastic

    joint = nmm.Joint([[0, 0.5], [1, 0.5]], law=CoulombFriction(20.0))
    m = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 1, 1), nmm.CoverMesh.rectangle(0, 0, 1, 1, 6, 6),
                          joints=[joint], law=LinearElastic(1e9, 0.25, "stress"), order=1, density=2000.0)
    m.add(nmm.DirichletBC(((0, 0), (1, 0)), ux=0.0, uy=0.0), nmm.Traction(((0, 1), (1, 1)), value=(0.0, -1e5)))
    m.set_body_force(b=(0.6e5 / 0.5, 0.0))
    return m


def test_nmm_dynamic_resume_ends_as_the_uninterrupted_run(tmp_path):
    """A snapshot taken after step 8 of 20, written to restart.h5 and read back, continues to
    the uninterrupted run's final state (measured: bit for bit)."""
    from coupling.restart import RESTART_FORMAT, _read, write_checkpoint

    probes = np.array([[0.5, 0.9], [0.2, 0.3]])
    taken = {}

    def on_step(step, snapshot):
        if step == 8:
            taken.update(snapshot())

    m_a = _sliding_model()
    ref = m_a.solve_dynamic(dt=2e-3, n_steps=20, probes=probes, on_step=on_step)
    assert m_a.contact.summary()["slide"] == m_a.contact.summary()["points"] > 0
    write_checkpoint(tmp_path, {f"nmm/{k}": v for k, v in taken.items()}, {"format": RESTART_FORMAT})
    arrays, _ = _read(tmp_path / "restart.h5")
    resume = {k[4:]: v for k, v in arrays.items() if k.startswith("nmm/")}
    assert int(resume["step"]) == 8 and np.any(resume["contact/slip_rate"] != 0)

    m_b = _sliding_model()
    res = m_b.solve_dynamic(dt=2e-3, n_steps=20, probes=probes, resume=resume)
    worst = max(_rel(ref.u, res.u), _rel(ref.velocity, res.velocity), _rel(ref.stress_qp, res.stress_qp), _rel(ref.state, res.state),
                _rel(ref.history["time"], res.history["time"]), _rel(ref.history["probes"], res.history["probes"]),
                *(_rel(getattr(m_a.contact, k), getattr(m_b.contact, k)) for k in m_a.contact._SAVED))
    assert worst <= RTOL, worst
    assert (res.stats.steps, res.stats.newton_iterations, res.stats.solves, res.stats.step_cuts) == \
        (ref.stats.steps, ref.stats.newton_iterations, ref.stats.solves, ref.stats.step_cuts)


def test_nmm_dynamic_stops_when_asked():
    stopped = _sliding_model().solve_dynamic(dt=2e-3, n_steps=20, on_step=lambda step, snap: step == 5)
    assert stopped.stats.steps == 5 and stopped.history["time"][-1] == pytest.approx(5 * 2e-3)


@pytest.mark.slow
def test_restart_on_two_ranks(tmp_path):
    """The same on two ranks (measured: bit for bit); the 2-rank checkpoint is refused on one rank."""
    sets = [a for s in SETS for a in ("--set", s)]
    a, b = tmp_path / "a", tmp_path / "b"
    r = run_cli("run", str(CASES / "vajont.toml"), "-o", str(a), "-q", *sets, "--set", "output.restart_every_steps=120",
                nproc=2)
    assert r.returncode == 0, r.stderr
    r = run_cli("run", str(CASES / "vajont.toml"), "-o", str(b), "-q", *sets, "--restart", str(a), nproc=2)
    assert r.returncode == 0, r.stderr
    assert max_relative_difference(a, b) <= RTOL
    r = run_cli("run", str(CASES / "vajont.toml"), "-o", str(tmp_path / "c"), "-q", *sets, "--restart", str(a))
    assert r.returncode == 2 and "written on 2 rank(s), this run has 1" in r.stderr
    assert not (tmp_path / "c").exists()
