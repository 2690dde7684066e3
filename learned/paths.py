"""Strain-path data sets: histories of strain, stress and internal state for laws with memory.

A path-independent law is sampled point by point (:func:`learned.dataset.generate_dataset`);
an elastoplastic law answers differently to the same strain after different histories, so
its data are **paths**: P strain histories of M steps each, every path starting from the
stress-free virgin state (ε = 0, state = law.initial_state) before its first step.

HDF5 layout (``kind = "paths"``, ``format_version`` 1; the other conventions of
learned/dataset.py: SI units, Voigt ``xx,yy,xy`` with engineering shear, provenance JSON)::

    /strain   (P, M, 3) float   ε along each path [-]
    /stress   (P, M, 3) float   σ [Pa]
    /state    (P, M, S) float   optional: the reference law's internal state after each step
    attrs: units = "SI", plane, voigt, kind = "paths", provenance, format_version = 1

Path kinds (:data:`PATH_KINDS`); a path runs along a scalar load profile λ(t) in a random
direction d of strain space, ε(t) = λ(t) · (d ⊙ a) with |d| = 1 and the half-widths a (3,):

* ``monotonic``           λ: 0 → 1
* ``load_unload_reload``  λ: 0 → 0.6 → u → 1, u ~ U(−0.3, 0.3) (unloading, possibly reversed)
* ``cyclic``              λ: 0 → 0.4 → −0.4 → 0.7 → −0.7 → 1 (cycles of growing amplitude)
* ``random_walk``         ε_{k+1} = ε_k + (2.5/√M) a ⊙ N(0, I), reflected into the box [−a, a]
* ``mixed``               the four kinds above in turn (path i gets kind i mod 4)

Piecewise-linear profiles are sampled at M points equally spaced in arc length |dλ|, so
every step has the same strain increment along a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from learned.errors import DataError
from learned.law import PLANES, ConstitutiveLaw

PATH_KINDS = ("monotonic", "load_unload_reload", "cyclic", "random_walk", "mixed")
_BASIC = PATH_KINDS[:4]
_CYCLIC_KNOTS = np.array([0.0, 0.4, -0.4, 0.7, -0.7, 1.0])


@dataclass
class PathDataset:
    """P strain paths of M steps: strain (P,M,3) [-], stress (P,M,3) [Pa], state (P,M,S) or None."""

    strain: np.ndarray
    stress: np.ndarray
    plane: str = "strain"
    provenance: dict[str, Any] = field(default_factory=dict)
    state: np.ndarray | None = None
    path: str | None = None
    kind: str = "paths"

    def __len__(self) -> int:
        """Number of samples (P · M)."""
        return int(self.strain.shape[0] * self.strain.shape[1])

    @property
    def n_paths(self) -> int:
        """Number of strain paths P."""
        return int(self.strain.shape[0])

    @property
    def n_steps(self) -> int:
        """Number of steps M per path."""
        return int(self.strain.shape[1])


# ---------------------------------------------------------------------------- paths
def _half_widths(strain_range: float | Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(strain_range, dtype=float)
    if a.ndim == 0:
        a = np.full(3, float(a))
    if a.shape != (3,) or not (a > 0).all() or not np.isfinite(a).all():
        raise ValueError(f"strain_range must be a positive float or 3 positive half-widths, got {strain_range}")
    return a


def _profile(knots: np.ndarray, n_steps: int) -> np.ndarray:
    """λ at n_steps points equally spaced in arc length along piecewise-linear knots (λ_0 = 0)."""
    s = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(knots)))])
    t = np.arange(1, n_steps + 1) / n_steps * s[-1]
    return np.interp(t, s, knots)


def strain_paths(n_paths: int, n_steps: int, kind: str = "mixed",
                 strain_range: float | Sequence[float] = 2e-3, seed: int = 0) -> np.ndarray:
    """Strain histories (P, M, 3) of the given kind (module docstring), from numpy default_rng(seed)."""
    if kind not in PATH_KINDS:
        raise ValueError(f"path kind must be one of {PATH_KINDS}, got {kind!r}")
    if n_paths < 1 or n_steps < 1:
        raise ValueError(f"n_paths and n_steps must be >= 1, got {n_paths}, {n_steps}")
    a = _half_widths(strain_range)
    rng = np.random.default_rng(seed)
    kinds = [(_BASIC[i % 4] if kind == "mixed" else kind) for i in range(n_paths)]
    direction = rng.standard_normal((n_paths, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    unload_to = rng.uniform(-0.3, 0.3, n_paths)
    walk = rng.standard_normal((n_paths, n_steps, 3)) * (2.5 / np.sqrt(n_steps)) * a
    out = np.empty((n_paths, n_steps, 3))
    for i, k in enumerate(kinds):
        if k == "random_walk":
            e = np.cumsum(walk[i], axis=0)
            # reflect into [−a, a]: fold the line with period 4a
            e = np.abs(np.mod(e + a, 4 * a) - 2 * a) - a
            out[i] = e
            continue
        if k == "monotonic":
            lam = np.arange(1, n_steps + 1) / n_steps
        elif k == "load_unload_reload":
            lam = _profile(np.array([0.0, 0.6, unload_to[i], 1.0]), n_steps)
        else:
            lam = _profile(_CYCLIC_KNOTS, n_steps)
        out[i] = lam[:, None] * (direction[i] * a)[None, :]
    return out


def run_paths(law: ConstitutiveLaw, strain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drive ``law`` along strain paths (P,M,3) from its initial state: stress (P,M,3), state (P,M,S).

    One batched law call per step over all P paths; the state returned by a step is the
    state the next step starts from (strain-driven steps always converge: no rejection).
    """
    n_paths, n_steps, _ = strain.shape
    state = law.initial_state(n_paths)
    stress = np.empty_like(strain)
    states = np.empty((n_paths, n_steps, law.n_state))
    for k in range(n_steps):
        r = law.evaluate(np.ascontiguousarray(strain[:, k]), state)
        stress[:, k] = np.asarray(r.stress)
        state = np.asarray(r.state)
        states[:, k] = state
    return stress, states


def generate_path_dataset(
    law: ConstitutiveLaw,
    n_paths: int,
    n_steps: int,
    kind: str = "mixed",
    strain_range: float | Sequence[float] = 2e-3,
    noise_strain: float = 0.0,
    noise_stress: float = 0.0,
    seed: int = 0,
) -> PathDataset:
    """Sample a law along P strain paths of M steps (module docstring), with optional noise.

    Noise as in :func:`learned.dataset.generate_dataset` (NOISE_DEFINITION, std over all
    P·M clean samples per component), on the observed strain and stress only; the state
    is the reference law's, stored clean (it is not observed in a laboratory).
    """
    from learned.dataset import NOISE_DEFINITION, add_noise

    strain = strain_paths(n_paths, n_steps, kind, strain_range, seed)
    stress, state = run_paths(law, strain)
    rng = np.random.default_rng([seed, 1])
    flat = (n_paths * n_steps, 3)
    strain_obs = add_noise(strain.reshape(flat), noise_strain, rng).reshape(strain.shape)
    stress_obs = add_noise(stress.reshape(flat), noise_stress, rng).reshape(stress.shape)
    provenance = {
        "generator": "learned.generate_path_dataset",
        "law": law.describe(),
        "n_paths": int(n_paths),
        "n_steps": int(n_steps),
        "path_kind": kind,
        "strain_range": _half_widths(strain_range).tolist(),
        "seed": int(seed),
        "noise": {"strain": float(noise_strain), "stress": float(noise_stress), "definition": NOISE_DEFINITION},
    }
    names = getattr(law, "state_names", None)  # e.g. learned.plasticity.STATE_NAMES
    if names and law.n_state:
        provenance["state_names"] = list(names)
    return PathDataset(strain_obs, stress_obs, law.plane, provenance, state if law.n_state else None)


# ---------------------------------------------------------------------------- HDF5
def write_paths(f: Any, data: PathDataset) -> None:
    """Write the path arrays into an open h5py file (attributes common to all kinds: caller)."""
    from learned.dataset import VOIGT

    f.attrs["plane"] = data.plane
    f.attrs["voigt"] = VOIGT
    f.create_dataset("strain", data=np.asarray(data.strain, dtype=np.float64))
    f.create_dataset("stress", data=np.asarray(data.stress, dtype=np.float64))
    if data.state is not None:
        f.create_dataset("state", data=np.asarray(data.state, dtype=np.float64))


def read_paths(f: Any, path: str, provenance: dict[str, Any]) -> PathDataset:
    """Read a ``kind = "paths"`` data set from an open h5py file; defects raise DataError."""
    from learned.dataset import VOIGT, _attr

    plane = _attr(f, path, "plane", " | ".join(PLANES))
    if plane not in PLANES:
        raise DataError(path, "attrs.plane", repr(plane), " | ".join(PLANES))
    voigt = _attr(f, path, "voigt", repr(VOIGT), required=False)
    if voigt is not None and voigt != VOIGT:
        raise DataError(path, "attrs.voigt", repr(voigt), repr(VOIGT))
    arrays = {}
    for name in ("strain", "stress", "state"):
        if name not in f:
            if name == "state":
                arrays[name] = None
                continue
            raise DataError(path, f"/{name}", "missing", "a float data set of shape (P, M, 3)")
        try:
            arrays[name] = np.asarray(f[name][()], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(path, f"/{name}", f"not numeric ({exc})", "float numbers") from None
    data = PathDataset(arrays["strain"], arrays["stress"], plane, provenance, arrays["state"], path)
    validate_paths(data, path)
    return data


def validate_paths(data: PathDataset, path: str | None) -> None:
    """Shapes (P,M,3) / (P,M,S), at least one path and step, finite values."""
    data.strain = np.asarray(data.strain, dtype=np.float64)
    data.stress = np.asarray(data.stress, dtype=np.float64)
    if data.plane not in PLANES:
        raise DataError(path, "attrs.plane", repr(data.plane), " | ".join(PLANES))
    ref = data.strain.shape
    checks = [("/strain", data.strain, 3), ("/stress", data.stress, 3)]
    if data.state is not None:
        data.state = np.asarray(data.state, dtype=np.float64)
        checks.append(("/state", data.state, None))
    for key, arr, ncols in checks:
        want = f"(P, M, {ncols})" if ncols else "(P, M, S)"
        if arr.ndim != 3 or (ncols is not None and arr.shape[2] != ncols):
            raise DataError(path, key, f"shape {arr.shape}", f"shape {want}")
        if arr.shape[:2] != ref[:2]:
            raise DataError(path, key, f"shape {arr.shape}, but /strain has {ref}", f"{ref[0]} paths of {ref[1]} steps")
        if arr.shape[0] == 0 or arr.shape[1] == 0:
            raise DataError(path, key, f"shape {arr.shape}", "at least one path of at least one step")
        bad = ~np.isfinite(arr)
        if bad.any():
            p, m = (int(v) for v in np.argwhere(bad)[0][:2])
            raise DataError(path, key, f"{int(bad.sum())} NaN/inf value(s), first in path {p}, step {m}", "finite numbers")
