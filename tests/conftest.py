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
