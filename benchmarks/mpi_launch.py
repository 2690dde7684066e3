"""Run a benchmark's worker in its own process, under ``mpiexec -n RANKS`` when RANKS > 1.

Shared by the DDA benchmarks (dda_ranks.py, dda_scaling.py, dda_vs_ntdda.py): the worker runs with
the interpreter of the caller, the venv's ``mpiexec`` next to it, ``OMP_NUM_THREADS=1`` (one core per
rank: the figures are per core) and ``root`` first on PYTHONPATH (the source tree measured; another
checkout for a before/after comparison), in ``root`` as working directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], ranks: int = 1, root: Path = ROOT) -> subprocess.CompletedProcess:
    """``python ARGS`` (under mpiexec with ``ranks`` > 1); raises RuntimeError with its output if it fails."""
    cmd = [sys.executable, *map(str, args)]
    if ranks > 1:
        cmd = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(ranks), *cmd]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"worker failed ({' '.join(cmd)}):\n{p.stdout}\n{p.stderr}")
    return p


def run_json(args: list[str], ranks: int = 1, root: Path = ROOT) -> dict:
    """:func:`run`, returning the JSON object the worker printed as its last line."""
    return json.loads(run(args, ranks, root).stdout.strip().splitlines()[-1])
