"""Shared test helpers: repository paths and subprocess runners for the CLI and mpiexec."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "cases"


def mpiexec() -> str:
    """The venv's mpiexec (next to the interpreter), else the one on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if not found:
        pytest.skip("mpiexec not available")
    return found


def run_cli(*args: str, nproc: int = 1, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m coupling ARGS`` (under ``mpiexec -n nproc`` when nproc > 1)."""
    cmd = [sys.executable, "-m", "coupling", *args]
    if nproc > 1:
        cmd = [mpiexec(), "-n", str(nproc), *cmd]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd or ROOT, timeout=timeout, env=env)


def run_python(script: Path, *args: str, nproc: int = 1, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a Python script, optionally under ``mpiexec -n nproc``."""
    cmd = [sys.executable, str(script), *args]
    if nproc > 1:
        cmd = [mpiexec(), "-n", str(nproc), *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def assert_one_line_error(tmp_path: Path, text: str | None, *expected: str, extra=(), files=None) -> str:
    """Write ``text`` as tmp_path/case.toml (none when None), run it, and check the bad-input
    contract: exit status 2, one line on stderr naming the file and ``expected``, no
    traceback, no output folder, nothing else left in tmp_path but ``files``."""
    case = tmp_path / "case.toml"
    if text is not None:
        case.write_text(text)
    out = tmp_path / "out"
    r = run_cli("run", str(case), "-o", str(out), "-q", *extra)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    for e in (str(case), *expected):
        assert e in lines[0], lines[0]
    assert not out.exists()
    if files is None:
        files = ("case.toml",) if text is not None else ()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    return lines[0]


def summaries_on_ranks(tmp_path: Path, case: str, sets=(), ranks=(1, 2), timeout: float = 600) -> dict:
    """Run a case through the CLI on each number of ranks (each run within ``timeout`` s);
    their summary.json by rank count."""
    import json

    out = {}
    for n in ranks:
        d = tmp_path / f"n{n}"
        args = ["run", case, "-o", str(d), "-q"]
        for s in sets:
            args += ["--set", s]
        r = run_cli(*args, nproc=n, timeout=timeout)
        assert r.returncode == 0, r.stderr
        out[n] = json.loads((d / "summary.json").read_text())
        assert out[n]["solver"]["mpi_ranks"] == n
    return out


def cli_inprocess(*args: str) -> tuple[int, str, str]:
    """``coupling.cli.main(args)`` in this interpreter: (exit status, stdout, stderr).

    Much faster than :func:`run_cli` for inputs refused before any solve (one import of
    DOLFINx/torch for the whole test session).
    """
    import contextlib
    import io

    from coupling.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse --help, or a bug
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()
