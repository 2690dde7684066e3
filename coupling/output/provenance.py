"""Versions and machine facts recorded in every summary.json."""

from __future__ import annotations

import platform
import sys
from importlib import metadata


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the libraries that make a result."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for dist in ("deepmanifold", "dolfinx-solver-real", "numpy", "scipy", "torch", "petsc4py", "mpi4py"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    try:
        import dolfinx

        out["dolfinx"] = dolfinx.__version__
    except ImportError:  # pragma: no cover
        pass
    return out
