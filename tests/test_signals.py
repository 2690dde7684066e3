"""SIGTERM / SIGINT end a run cleanly (issue 10, item 4): the last complete step is published
with ``status = "interrupted"``, exit 128 + signal, one line on stderr, no PETSc handler, no
``.partial-*`` folder left behind."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CASES, ROOT, mpiexec

DURATION = 100.0  # s simulated: far longer than the test waits


def _start(tmp_path, nproc: int = 1) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "coupling", "run", str(CASES / "dda_incline.toml"), "-o", str(tmp_path / "out"), "-q",
           "--set", f"dda.duration={DURATION}", "--set", "dda.output_interval=0.005"]
    if nproc > 1:
        cmd = [mpiexec(), "-n", str(nproc), *cmd]
    # PYTHONFAULTHANDLER: a rank sent SIGABRT prints every thread's Python stack (_stacks_of_a_hang)
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"})


def _stacks_of_a_hang(tmp_path, proc: subprocess.Popen) -> str:
    """A run that did not stop: SIGABRT to each of its Python processes (the ranks; found in
    /proc by the run folder on their command line), whose fault handler prints its stacks, then
    SIGKILL; the stderr of them all, for the failure message. Session 23 saw the two-rank run
    hang after its interrupted state was published, 1 time in about 30, and could not reproduce
    it: the stacks say where the next one waits."""
    for pid in (int(d) for d in os.listdir("/proc") if d.isdigit()):
        try:
            argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"coupling" in argv and str(tmp_path / "out").encode() in argv and b"python" in argv[0]:
            os.kill(pid, signal.SIGABRT)
    time.sleep(3)
    proc.kill()
    err = proc.communicate()[1]
    return "\n".join(line for line in err.splitlines() if not line.startswith("Extension modules:"))[-8000:]


def _wait_for_frames(tmp_path, proc, n: int = 3, timeout: float = 300) -> None:
    """Until the run has written ``n`` VTU frames (its first output after the set-up)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if len(list(tmp_path.glob("out.partial-*/frames/*"))) >= n:
            return
        if proc.poll() is not None:
            pytest.fail(f"run ended before any output: {proc.communicate()}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail("no output within the timeout")


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_publishes_last_complete_step(tmp_path, signum, code):
    proc = _start(tmp_path)
    _wait_for_frames(tmp_path, proc)
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the run did not stop within 120 s of the signal; its stack:\n" + _stacks_of_a_hang(tmp_path, proc))
    assert proc.returncode == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "PETSC ERROR" not in err and "Traceback" not in err, err
    assert f"interrupted by {signal.Signals(signum).name}" in lines[0]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())  # strict JSON
    assert summary["status"] == "interrupted" and summary["format"] == "deepmanifold.run"
    t = summary["results"]["simulated_time"]
    assert 0 < t < DURATION
    assert (tmp_path / "out" / "history.h5").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no .partial-* left


def test_sigterm_on_two_ranks(tmp_path):
    """mpiexec forwards SIGTERM to every rank; all stop after the same step (one allreduce)."""
    proc = _start(tmp_path, nproc=2)
    _wait_for_frames(tmp_path, proc)
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the run did not stop within 120 s of the signal; the ranks' stacks:\n"
                    + _stacks_of_a_hang(tmp_path, proc))
    assert "PETSC ERROR" not in err and "Traceback" not in err, err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["solver"]["mpi_ranks"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_signal_after_the_last_step_leaves_the_run_ok(tmp_path, monkeypatch):
    """A SIGTERM that arrives after the step loop reached dda.duration (here: while monitor.png
    is drawn) publishes a complete run: status "ok" and a line in run.log; it was published as
    "interrupted" with every step done (found on the Vajont case with dda.duration=12, SIGTERM
    1.2 s after its last step). RunInterrupted is still raised (exit 143), so that a loop over
    runs (an ensemble) stops as asked."""
    import coupling.runners.dda as runner_dda
    from coupling.runner import RunInterrupted, run

    plot = runner_dda.plot_monitor

    def plot_after_a_signal(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # recorded by the run's handler (deferred), not raised
        return plot(*args, **kwargs)

    monkeypatch.setattr(runner_dda, "plot_monitor", plot_after_a_signal)
    with pytest.raises(RunInterrupted) as info:
        run(CASES / "dda_incline.toml", overrides={"dda.duration": 0.02}, out=tmp_path / "out", progress=False)
    assert info.value.exit_code == 143
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert info.value.result.summary["status"] == summary["status"] == "ok", summary["message"]
    assert summary["results"]["simulated_time"] == pytest.approx(0.02, rel=1e-9)
    assert "SIGTERM received after the last step: the run is complete" in (tmp_path / "out" / "run.log").read_text()
