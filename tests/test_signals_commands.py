"""SIGINT / SIGTERM during ``calibrate``, ``surrogate train / field / active``, ``train`` and
``data generate`` (session 19; before, only ``run`` and ``ensemble`` installed handlers: a SIGTERM
ended them silently, exit 143): one line on stderr naming the signal and what was (not) written,
exit 128 + signal, nothing half-written.

The process sends the signal to itself from inside the stage it interrupts (training, the
MCMC, a confirming run, the writes), so the tests do not race with start-up. A SIGTERM that no
handler takes would end the test session: the fixture ``no_default_sigterm`` turns it into an
exception instead (what these tests then report as a failure)."""

from __future__ import annotations

import json
import os
import signal

import h5py
import numpy as np
import pytest

from conftest import CASES, cli_inprocess

FAST = {"dda.duration": 0.02, "output.plots": False, "output.fields": False}


class UnhandledSignal(Exception):
    pass


@pytest.fixture
def no_default_sigterm():
    def handler(signum, frame):
        raise UnhandledSignal(signal.Signals(signum).name)

    old = signal.signal(signal.SIGTERM, handler)
    _BEFORE["SIGINT"] = signal.getsignal(signal.SIGINT)  # SIG_IGN under nohup or a background job, not Python's
    yield
    signal.signal(signal.SIGTERM, old)


_BEFORE: dict[str, object] = {}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A 4-member DDA incline ensemble (phi 15..27 deg), a surrogate of its run-out and an
    observation (member 1's run-out)."""
    from coupling.ensemble.design import Parameter
    from coupling.ensemble.engine import run_ensemble
    from coupling.ensemble.surrogates import train_from_table

    d = tmp_path_factory.mktemp("signals_commands")
    run_ensemble(CASES / "dda_incline.toml", [Parameter("joints.default.law.phi", 15.0, 28.0)],
                 np.array([[15.0], [19.0], [23.0], [27.0]]), d / "ens", overrides=FAST, progress=None)
    train_from_table(d / "ens" / "ensemble.h5", d / "sur.pt", outputs=["runout"], iterations=50)
    with h5py.File(d / "ens" / "ensemble.h5") as f:
        runout = float(f["outputs"][1, list(f.attrs["output_names"]).index("runout")])
    return {"table": d / "ens" / "ensemble.h5", "surrogate": d / "sur.pt", "observe": f"runout={runout!r}±1e-5"}


def _signal_inside(monkeypatch, module, name: str, signum: int, call: int = 1) -> list[int]:
    """``module.name`` sends ``signum`` to this process at the start of its ``call``-th call;
    returns the list its calls are counted in."""
    original = getattr(module, name)
    calls: list[int] = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            os.kill(os.getpid(), signum)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _handlers_restored():
    """The command gave back the SIGINT handler it found (the test's own, whatever the shell set)."""
    assert signal.getsignal(signal.SIGINT) is _BEFORE["SIGINT"]


def test_surrogate_train_stopped_while_training_writes_nothing(inputs, tmp_path, monkeypatch, no_default_sigterm):
    import learned.surrogate

    _signal_inside(monkeypatch, learned.surrogate, "train_surrogate", signal.SIGTERM)
    code, out, err = cli_inprocess("surrogate", "train", str(inputs["table"]), "-o", str(tmp_path / "s.pt"),
                                   "--iterations", "50")
    assert code == 143 and out == ""
    line = _one_line(err)
    assert line == f"error: interrupted by SIGTERM: nothing written ({tmp_path / 's.pt'} and s.json not written)"
    assert list(tmp_path.iterdir()) == []  # no checkpoint, no report, no temporary file
    _handlers_restored()


def test_surrogate_train_signal_while_writing_waits_for_both_files(inputs, tmp_path, monkeypatch):
    import learned.surrogate
    from learned.surrogate import load_surrogate

    _signal_inside(monkeypatch, learned.surrogate, "save_surrogate", signal.SIGINT)
    code, _, err = cli_inprocess("surrogate", "train", str(inputs["table"]), "-o", str(tmp_path / "s.pt"),
                                 "--iterations", "50")
    assert code == 130
    assert _one_line(err) == f"error: interrupted by SIGINT: after training: {tmp_path / 's.pt'} and s.json are written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.pt"]
    load_surrogate(tmp_path / "s.pt")
    assert json.loads((tmp_path / "s.json").read_text())["format"] == "deepmanifold.surrogate_report"
    _handlers_restored()


def _calibrate(inputs, out):
    return cli_inprocess("calibrate", str(CASES / "dda_incline.toml"), "--surrogate", str(inputs["surrogate"]),
                         "--observe", inputs["observe"], "--steps", "60", "--chains", "4", "-q", "-o", str(out))


def test_calibrate_stopped_in_the_mcmc_writes_nothing(inputs, tmp_path, monkeypatch, no_default_sigterm):
    import coupling.ensemble.calibration as calibration

    _signal_inside(monkeypatch, calibration, "metropolis", signal.SIGTERM)
    code, out, err = _calibrate(inputs, tmp_path / "cal")
    assert code == 143 and out == ""
    assert _one_line(err) == f"error: interrupted by SIGTERM: nothing written ({tmp_path / 'cal'} not written)"
    assert list(tmp_path.iterdir()) == []
    _handlers_restored()


def test_calibrate_stopped_in_the_confirming_runs_resumes(inputs, tmp_path, monkeypatch, no_default_sigterm):
    """Stopped before the second confirming run: DIR/confirm holds the first, nothing else is
    written; the same command accepts that folder and runs only the two others."""
    import coupling.ensemble.engine as engine

    cal = tmp_path / "cal"
    _signal_inside(monkeypatch, engine, "run_member", signal.SIGTERM, call=2)
    code, _, err = _calibrate(inputs, cal)
    assert code == 143
    line = _one_line(err)
    assert line.startswith(f"error: interrupted by SIGTERM: during the confirming runs: {cal / 'confirm'} holds the "
                           "finished ones (the same command resumes them); calibration.json"), line
    assert [p.name for p in cal.iterdir()] == ["confirm"]
    assert json.loads((cal / "confirm" / "members" / "0000" / "summary.json").read_text())["status"] == "ok"
    monkeypatch.undo()
    calls = _signal_inside(monkeypatch, engine, "run_member", signal.SIGTERM, call=0)  # counts, sends nothing
    code, out, err = _calibrate(inputs, cal)
    assert code == 0, err
    assert len(calls) == 2  # member 0000 reused
    assert {p.name for p in cal.iterdir()} == {"confirm", "calibration.json", "calibration.png", "corner.png",
                                               "posterior_samples.npy"}
    _handlers_restored()


def test_calibrate_signal_while_writing_waits_for_every_file(inputs, tmp_path, monkeypatch):
    import coupling.ensemble.calibration as calibration

    cal = tmp_path / "cal"
    _signal_inside(monkeypatch, calibration, "plot", signal.SIGINT)
    code, out, err = _calibrate(inputs, cal)
    assert code == 130 and out == ""
    assert _one_line(err) == (f"error: interrupted by SIGINT: after the calibration: {cal} is written "
                              "(calibration.json, plots, posterior_samples.npy, confirm/)")
    assert sorted(p.name for p in cal.iterdir()) == ["calibration.json", "calibration.png", "confirm", "corner.png",
                                                     "posterior_samples.npy"]
    assert np.load(cal / "posterior_samples.npy").shape[1] == 1
    _handlers_restored()


MATERIAL = 'law="linear_elastic", E=1e9, nu=0.3'


@pytest.fixture(scope="module")
def law_data(tmp_path_factory):
    """A 200-point linear-elastic data set (what ``train`` fits)."""
    d = tmp_path_factory.mktemp("signals_train")
    code, _, err = cli_inprocess("data", "generate", "--material", MATERIAL, "-n", "200", "-o", str(d / "data.h5"))
    assert code == 0, err
    return d / "data.h5"


def _train(data, out):
    return cli_inprocess("train", str(data), "-o", str(out), "--epochs", "3", "-q")


def test_train_stopped_while_training_writes_nothing(law_data, tmp_path, monkeypatch, no_default_sigterm):
    """Before session 19 a SIGTERM ended ``train`` silently (exit 143, no line)."""
    import learned.pipeline

    _signal_inside(monkeypatch, learned.pipeline, "train", signal.SIGTERM)
    code, out, err = _train(law_data, tmp_path / "m.pt")
    assert code == 143 and out == ""
    assert _one_line(err) == f"error: interrupted by SIGTERM: nothing written ({tmp_path / 'm.pt'}, m.json and m.png not written)"
    assert list(tmp_path.iterdir()) == []
    _handlers_restored()


def test_train_signal_while_writing_waits_for_the_three_files(law_data, tmp_path, monkeypatch, no_default_sigterm):
    import learned.pipeline
    from learned import load_law

    _signal_inside(monkeypatch, learned.pipeline, "save_checkpoint", signal.SIGINT)
    code, out, err = _train(law_data, tmp_path / "m.pt")
    assert code == 130 and out == ""
    assert _one_line(err) == f"error: interrupted by SIGINT: after training: {tmp_path / 'm.pt'}, m.json and m.png are written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.png", "m.pt"]
    load_law(tmp_path / "m.pt")
    assert "train_loss" in json.loads((tmp_path / "m.json").read_text())
    _handlers_restored()


def _generate(out):
    return cli_inprocess("data", "generate", "--material", MATERIAL, "-n", "200", "-o", str(out))


def test_data_generate_stopped_while_sampling_writes_nothing(tmp_path, monkeypatch, no_default_sigterm):
    """Before session 19 a SIGTERM ended ``data generate`` silently (exit 143, no line)."""
    import learned.dataset

    _signal_inside(monkeypatch, learned.dataset, "generate_dataset", signal.SIGTERM)
    code, out, err = _generate(tmp_path / "d.h5")
    assert code == 143 and out == ""
    assert _one_line(err) == f"error: interrupted by SIGTERM: nothing written ({tmp_path / 'd.h5'} not written)"
    assert list(tmp_path.iterdir()) == []
    _handlers_restored()


def test_data_generate_signal_while_writing_waits_for_the_file(tmp_path, monkeypatch, no_default_sigterm):
    import learned.dataset

    _signal_inside(monkeypatch, learned.dataset, "save_dataset", signal.SIGINT)
    code, out, err = _generate(tmp_path / "d.h5")
    assert code == 130 and out == ""
    assert _one_line(err) == f"error: interrupted by SIGINT: after generating: {tmp_path / 'd.h5'} is written"
    assert [p.name for p in tmp_path.iterdir()] == ["d.h5"]
    assert len(learned.dataset.load_dataset(tmp_path / "d.h5")) == 200
    _handlers_restored()


@pytest.fixture(scope="module")
def field_ensemble(tmp_path_factory):
    """A 3-member FEM cantilever ensemble over E (20x2 cells, one load step) with displacement.npz."""
    from coupling.ensemble.design import Parameter
    from coupling.ensemble.engine import run_ensemble

    d = tmp_path_factory.mktemp("signals_field")
    res = run_ensemble(CASES / "cantilever.toml", [Parameter("material.E", 20e9, 40e9)],
                       np.array([[22e9], [30e9], [38e9]]), d / "ens",
                       overrides={"mesh.cells": [20, 2], "fem.load_steps": 1, "output.plots": False,
                                  "output.fields": False, "output.displacement": True}, progress=None)
    assert [m["status"] for m in res.members] == ["ok"] * 3
    return d / "ens" / "ensemble.h5"


def test_surrogate_field_stopped_in_the_pod_writes_nothing(field_ensemble, tmp_path, monkeypatch, no_default_sigterm):
    """Before session 19 a SIGTERM ended ``surrogate field`` silently (exit 143, no line)."""
    import learned.field_surrogate

    _signal_inside(monkeypatch, learned.field_surrogate, "build_field_surrogate", signal.SIGTERM)
    code, out, err = cli_inprocess("surrogate", "field", str(field_ensemble), "-o", str(tmp_path / "u.pt"))
    assert code == 143 and out == ""
    assert _one_line(err) == f"error: interrupted by SIGTERM: nothing written ({tmp_path / 'u.pt'} and u.json not written)"
    assert list(tmp_path.iterdir()) == []
    _handlers_restored()


def test_surrogate_field_signal_while_writing_waits_for_both_files(field_ensemble, tmp_path, monkeypatch,
                                                                  no_default_sigterm):
    import learned.field_surrogate

    _signal_inside(monkeypatch, learned.field_surrogate, "save_field_surrogate", signal.SIGINT)
    code, out, err = cli_inprocess("surrogate", "field", str(field_ensemble), "-o", str(tmp_path / "u.pt"))
    assert code == 130 and out == ""
    assert _one_line(err) == f"error: interrupted by SIGINT: after the POD: {tmp_path / 'u.pt'} and u.json are written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u.json", "u.pt"]
    assert learned.field_surrogate.load_field_surrogate(tmp_path / "u.pt").parameter_keys == ["material.E"]
    assert json.loads((tmp_path / "u.json").read_text())["format"] == "deepmanifold.field_surrogate_report"
    _handlers_restored()


def _active(out):
    return cli_inprocess("surrogate", "active", str(CASES / "cantilever.toml"), "--vary", "material.E=20e9:60e9:log",
                         "--set", "mesh.cells=[10,2]", "--set", "output.plots=false", "--set", "output.fields=false",
                         "--outputs", "probes.tip_deflection", "--tolerance", "0.01", "--initial", "2",
                         "--max-runs", "2", "--test", "3", "--members", "2", "--hidden", "8", "--iterations", "30",
                         "-q", "-o", str(out))


def test_surrogate_active_stopped_in_the_runs_resumes(tmp_path, monkeypatch, no_default_sigterm):
    """Stopped before the second held-out run (before session 19: silently, exit 143): DIR holds
    the first run and the 'running' mark; the same command resumes without rerunning it."""
    import coupling.ensemble.engine as engine

    act = tmp_path / "act"
    _signal_inside(monkeypatch, engine, "run_member", signal.SIGTERM, call=2)
    code, out, err = _active(act)
    assert code == 143 and out == ""
    assert _one_line(err) == (f"error: interrupted by SIGTERM: during the runs: {act} holds the finished ones in test/ "
                              "and ensemble/ (the same command resumes them); surrogate.pt, surrogate.json and the "
                              "final active.json not written")
    assert sorted(p.name for p in act.iterdir()) == ["active.json", "test"]
    assert json.loads((act / "active.json").read_text())["status"] == "running"
    monkeypatch.undo()
    calls = _signal_inside(monkeypatch, engine, "run_member", signal.SIGTERM, call=0)  # counts, sends nothing
    code, out, err = _active(act)
    assert code in (0, 1), err
    assert len(calls) == 4  # 2 held-out (1 reused) + 2 training runs
    assert json.loads((act / "active.json").read_text())["status"] == "finished"
    _handlers_restored()


def test_surrogate_active_signal_while_writing_waits_for_the_three_files(tmp_path, monkeypatch, no_default_sigterm):
    import learned.surrogate

    act = tmp_path / "act"
    _signal_inside(monkeypatch, learned.surrogate, "save_surrogate", signal.SIGINT)
    code, out, err = _active(act)
    assert code == 130 and out == ""
    assert _one_line(err) == (f"error: interrupted by SIGINT: after the loop: {act} is written (active.json, "
                              "surrogate.pt, surrogate.json, ensemble/, test/)")
    assert sorted(p.name for p in act.iterdir()) == ["active.json", "ensemble", "surrogate.json", "surrogate.pt",
                                                     "test"]
    assert json.loads((act / "active.json").read_text())["status"] == "finished"
    learned.surrogate.load_surrogate(act / "surrogate.pt")
    _handlers_restored()


def _signal_inside_runner(monkeypatch, signum: int, check: bool, call: int) -> None:
    """Each solver call of ``run`` (``check``: the case check's, else a run's) sends ``signum`` to
    this process at the start of its ``call``-th call."""
    import coupling.runner as runner

    original, calls = runner.runner_for, []

    def runner_for(solver):
        solve = original(solver)

        def wrapped(case, ctx):
            if ctx.check_only == check:
                calls.append(1)
                if len(calls) == call:
                    os.kill(os.getpid(), signum)
            return solve(case, ctx)

        return wrapped

    monkeypatch.setattr(runner, "runner_for", runner_for)


def test_surrogate_active_stopped_inside_a_run_or_the_case_check(tmp_path, monkeypatch, no_default_sigterm):
    """Inside a member's run (its own handlers: the run publishes itself interrupted) the
    command's line is the same; in the case check before any run nothing is written."""
    act = tmp_path / "act"
    _signal_inside_runner(monkeypatch, signal.SIGTERM, check=False, call=2)
    code, out, err = _active(act)
    assert code == 143 and out == ""
    assert _one_line(err).startswith(f"error: interrupted by SIGTERM: during the runs: {act} holds the finished ones")
    assert json.loads((act / "test" / "members" / "0001" / "summary.json").read_text())["status"] == "interrupted"
    monkeypatch.undo()
    _signal_inside_runner(monkeypatch, signal.SIGTERM, check=True, call=1)
    code, out, err = _active(tmp_path / "new")
    assert code == 143 and out == ""
    assert _one_line(err) == f"error: interrupted by SIGTERM: nothing written ({tmp_path / 'new'} not written)"
    assert not (tmp_path / "new").exists()
    _handlers_restored()
