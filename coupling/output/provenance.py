"""Versions, source commit and command line recorded in every summary.json and run.log."""

from __future__ import annotations

import functools
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parents[2]


def package_version() -> str:
    try:
        return metadata.version("deepmanifold")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "unknown"


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """``<sha>`` (``+dirty`` when the tree has uncommitted changes) of the source tree, or None
    when it is not a git checkout or git is missing."""
    try:
        sha = subprocess.run(["git", "-C", str(SOURCE_DIR), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(SOURCE_DIR), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("+dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _mumps_version() -> str | None:
    """MUMPS is linked into the wheel's libpetsc; its notices file names the release."""
    try:
        import dolfinx_solver

        notices = Path(dolfinx_solver.__file__).with_name("THIRD-PARTY-NOTICES").read_text(errors="replace")
        found = re.search(r"MUMPS_(\d+\.\d+\.\d+)", notices)
        return found.group(1) if found else None
    except (ImportError, OSError):
        return None


def versions() -> dict[str, str]:
    """Python, platform, our package and commit, and every numerical library that shapes results."""
    return dict(_versions())


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform(), "deepmanifold": package_version()}
    commit = git_commit()
    if commit:
        out["git_commit"] = commit
    for dist in ("dolfinx-solver-real", "numpy", "scipy", "torch", "petsc4py", "mpi4py", "meshio"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    try:
        import dolfinx

        out["dolfinx"] = dolfinx.__version__
        from petsc4py import PETSc

        out["petsc"] = ".".join(str(v) for v in PETSc.Sys.getVersion())
        if PETSc.Sys.hasExternalPackage("mumps"):
            out["mumps"] = _mumps_version() or "present (version unknown)"
    except ImportError:  # pragma: no cover
        pass
    try:
        from mpi4py import MPI

        out["mpi"] = MPI.Get_library_version().splitlines()[0].strip()
    except ImportError:  # pragma: no cover
        pass
    return out


def command_line() -> str:
    """The command that started this process, as typed (argv joined, quoted where needed)."""
    import shlex

    argv = list(sys.argv)
    if argv and argv[0].endswith("__main__.py"):
        argv[0] = "python -m coupling"
    return shlex.join(argv)


def version_line() -> str:
    """``deepmanifold X.Y.Z (git <sha>), DOLFINx …, PETSc …, MUMPS …, torch …`` for --version."""
    v = versions()
    parts = [f"deepmanifold {v['deepmanifold']}" + (f" (git {v['git_commit'][:12]}{'+dirty' if v['git_commit'].endswith('+dirty') else ''})"
                                                  if "git_commit" in v else "")]
    for key, label in (("dolfinx", "DOLFINx"), ("petsc", "PETSc"), ("mumps", "MUMPS"), ("torch", "torch"),
                       ("python", "Python")):
        if key in v:
            parts.append(f"{label} {v[key]}")
    return ", ".join(parts)
