"""Constitutive and joint data sets: HDF5 layout, validation, CSV import, synthetic generation.

HDF5 layout (``format_version`` 1)
----------------------------------
Constitutive data (``kind = "constitutive"``, the default)::

    /strain   (N, 3) float   ε = (ε_xx, ε_yy, γ_xy)  [-]   (engineering shear γ = 2 ε_xy)
    /stress   (N, 3) float   σ = (σ_xx, σ_yy, τ_xy)  [Pa]
    /state    (N, S) float   optional internal state
    /tangent  (N, 3, 3) float optional ∂σ/∂ε [Pa] (written by :func:`generate_dataset`; lets the
                             training report measure the tangent error)
    attrs: units = "SI", plane = "strain" | "stress", voigt = "xx,yy,xy (engineering shear)",
           kind = "constitutive", provenance = JSON string, format_version = 1

Joint data (``kind = "joint"``; e.g. rotary-shear tests)::

    /normal_stress (N,) [Pa] (> 0 compression), /slip (N,) [m], /slip_rate (N,) [m/s],
    /shear_strength (N,) [Pa]; attrs units = "SI", kind = "joint", provenance, format_version

Strain-path data (``kind = "paths"``; histories for laws with state): ``/strain``,
``/stress`` (P, M, 3), optional ``/state`` (P, M, S) — see learned/paths.py.

Anything else is an error: :func:`load_dataset` raises :class:`learned.DataError` naming the
file, the key path (``/stress``, ``attrs.units``), what was found and what is allowed.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from learned.errors import DataError
from learned.files import atomic_write, missing_file
from learned.law import PLANES, ConstitutiveLaw
from learned.joint import JointLaw

FORMAT_VERSION = 1
UNITS = "SI"
VOIGT = "xx,yy,xy (engineering shear)"
KINDS = ("constitutive", "joint", "paths")  # "paths": learned/paths.py
STRESS_UNITS = {"Pa": 1.0, "kPa": 1e3, "MPa": 1e6, "GPa": 1e9}
STRAIN_UNITS = {"-": 1.0, "%": 1e-2, "microstrain": 1e-6}
CSV_COLUMNS = ("exx", "eyy", "gxy", "sxx", "syy", "sxy")
JOINT_FIELDS = ("normal_stress", "slip", "slip_rate", "shear_strength")

#: how the noise of :func:`generate_dataset` is defined (copied into the provenance)
NOISE_DEFINITION = (
    "x_obs[:, j] = x[:, j] + level * std(x[:, j]) * N(0, 1), independently per point and "
    "component, std over the clean sample; strain noise first, then stress noise, one "
    "numpy default_rng(seed) stream after sampling"
)


@dataclass
class ConstitutiveDataset:
    """Strain–stress pairs: strain (N,3) [-], stress (N,3) [Pa], optional state (N,S)."""

    strain: np.ndarray
    stress: np.ndarray
    plane: str = "strain"
    provenance: dict[str, Any] = field(default_factory=dict)
    state: np.ndarray | None = None
    path: str | None = None
    kind: str = "constitutive"
    #: optional exact tangent ∂σ/∂ε (N,3,3) [Pa] of the clean law (synthetic data only)
    tangent: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.strain.shape[0])


@dataclass
class JointDataset:
    """Joint tests: normal stress [Pa], slip [m], slip rate [m/s], shear strength [Pa], all (N,)."""

    normal_stress: np.ndarray
    slip: np.ndarray
    slip_rate: np.ndarray
    shear_strength: np.ndarray
    provenance: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    kind: str = "joint"

    def __len__(self) -> int:
        return int(self.normal_stress.shape[0])


# ---------------------------------------------------------------------------- writing
def save_dataset(path: str | Path, data: Any) -> Path:
    """Write ``data`` (constitutive, joint or path data set) to ``path`` (HDF5, layout above)
    atomically: temporary file, then rename."""
    import h5py

    from learned.paths import PathDataset, validate_paths, write_paths

    path = Path(path)
    if isinstance(data, PathDataset):
        validate_paths(data, str(path))
    else:
        _validate(data, str(path))

    def write(tmp: str) -> None:
        with h5py.File(tmp, "w") as f:
            f.attrs["units"] = UNITS
            f.attrs["kind"] = data.kind
            f.attrs["provenance"] = json.dumps(data.provenance, sort_keys=True)
            f.attrs["format_version"] = FORMAT_VERSION
            if isinstance(data, PathDataset):
                write_paths(f, data)
            elif isinstance(data, ConstitutiveDataset):
                f.attrs["plane"] = data.plane
                f.attrs["voigt"] = VOIGT
                f.create_dataset("strain", data=np.asarray(data.strain, dtype=np.float64))
                f.create_dataset("stress", data=np.asarray(data.stress, dtype=np.float64))
                if data.state is not None:
                    f.create_dataset("state", data=np.asarray(data.state, dtype=np.float64))
                if data.tangent is not None:
                    f.create_dataset("tangent", data=np.asarray(data.tangent, dtype=np.float64))
            else:
                for name in JOINT_FIELDS:
                    f.create_dataset(name, data=np.asarray(getattr(data, name), dtype=np.float64))

    atomic_write(path, write)
    return path


# ---------------------------------------------------------------------------- reading
def _attr(f: Any, path: str, name: str, allowed: str, required: bool = True) -> Any:
    if name not in f.attrs:
        if required:
            raise DataError(path, f"attrs.{name}", "missing", allowed)
        return None
    value = f.attrs[name]
    return value.decode() if isinstance(value, bytes) else value


def _read(f: Any, path: str, name: str, ncols: int | None, required: bool = True) -> np.ndarray | None:
    shape_txt = f"(N, {ncols})" if ncols else "(N,)"
    if name not in f:
        if required:
            raise DataError(path, f"/{name}", "missing", f"a float data set of shape {shape_txt}")
        return None
    try:
        arr = np.asarray(f[name][()], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(path, f"/{name}", f"not numeric ({exc})", "float numbers") from None
    return arr


def load_dataset(path: str | Path) -> ConstitutiveDataset | JointDataset:
    """Read and validate an HDF5 data set; any defect raises :class:`learned.DataError`."""
    import h5py

    p = str(path)
    allowed_file = "an HDF5 data set written by learned.save_dataset (see learned/dataset.py)"
    if not Path(p).is_file():
        raise DataError(p, None, missing_file(p), allowed_file)
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise DataError(p, None, f"not a readable HDF5 file ({str(exc).splitlines()[0]})", allowed_file) from None
    with f:
        units = _attr(f, p, "units", f"'{UNITS}' (strain [-], stress [Pa], slip [m], slip rate [m/s])")
        if units != UNITS:
            raise DataError(p, "attrs.units", repr(units), f"'{UNITS}' (strain [-], stress [Pa]); convert first")
        version = _attr(f, p, "format_version", f"integer <= {FORMAT_VERSION}")
        try:
            ok = int(version) == version and 1 <= int(version) <= FORMAT_VERSION
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise DataError(p, "attrs.format_version", repr(version), f"integer 1..{FORMAT_VERSION}")
        kind = _attr(f, p, "kind", " | ".join(KINDS), required=False) or "constitutive"
        if kind not in KINDS:
            raise DataError(p, "attrs.kind", repr(kind), " | ".join(KINDS))
        prov_txt = _attr(f, p, "provenance", "JSON string", required=False) or "{}"
        try:
            provenance = json.loads(prov_txt)
        except json.JSONDecodeError as exc:
            raise DataError(p, "attrs.provenance", f"invalid JSON ({exc.msg})", "a JSON object string") from None
        if kind == "paths":
            from learned.paths import read_paths

            return read_paths(f, p, provenance)
        if kind == "joint":
            arrays = {name: _read(f, p, name, None) for name in JOINT_FIELDS}
            data: ConstitutiveDataset | JointDataset = JointDataset(**arrays, provenance=provenance, path=p)
        else:
            plane = _attr(f, p, "plane", " | ".join(PLANES))
            if plane not in PLANES:
                raise DataError(p, "attrs.plane", repr(plane), " | ".join(PLANES))
            voigt = _attr(f, p, "voigt", repr(VOIGT), required=False)
            if voigt is not None and voigt != VOIGT:
                raise DataError(p, "attrs.voigt", repr(voigt), repr(VOIGT))
            data = ConstitutiveDataset(
                strain=_read(f, p, "strain", 3),
                stress=_read(f, p, "stress", 3),
                plane=plane,
                provenance=provenance,
                state=_read(f, p, "state", None, required=False),
                path=p,
                tangent=_read(f, p, "tangent", None, required=False),
            )
    _validate(data, p)
    return data


def _check_array(path: str | None, key: str, arr: np.ndarray, ncols: int | None, n: int | None) -> None:
    want = f"(N, {ncols})" if ncols else ("(N, S)" if key == "/state" else "(N,)")
    ndim = 1 if ncols is None and key != "/state" else 2
    if arr.ndim != ndim or (ncols is not None and arr.shape[1] != ncols):
        raise DataError(path, key, f"shape {arr.shape}", f"shape {want}")
    if n is not None and arr.shape[0] != n:
        raise DataError(path, key, f"{arr.shape[0]} rows, but the first data set has {n}", f"{n} rows")
    if arr.shape[0] == 0:
        raise DataError(path, key, "no rows", "at least one sample")
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(path, key, f"{int(bad.sum())} NaN/inf value(s), first in row {row}", "finite numbers")


def _validate(data: ConstitutiveDataset | JointDataset, path: str | None) -> None:
    if isinstance(data, ConstitutiveDataset):
        data.strain = np.asarray(data.strain, dtype=np.float64)
        data.stress = np.asarray(data.stress, dtype=np.float64)
        if data.plane not in PLANES:
            raise DataError(path, "attrs.plane", repr(data.plane), " | ".join(PLANES))
        _check_array(path, "/strain", data.strain, 3, None)
        _check_array(path, "/stress", data.stress, 3, data.strain.shape[0])
        if data.state is not None:
            data.state = np.asarray(data.state, dtype=np.float64)
            _check_array(path, "/state", data.state, None, data.strain.shape[0])
        if data.tangent is not None:
            data.tangent = np.asarray(data.tangent, dtype=np.float64)
            if data.tangent.shape != (data.strain.shape[0], 3, 3):
                raise DataError(path, "/tangent", f"shape {data.tangent.shape}", f"shape ({data.strain.shape[0]}, 3, 3)")
            _check_array(path, "/tangent", data.tangent.reshape(-1, 9), 9, data.strain.shape[0])
    else:
        n = None
        for name in JOINT_FIELDS:
            arr = np.asarray(getattr(data, name), dtype=np.float64)
            setattr(data, name, arr)
            _check_array(path, f"/{name}", arr, None, n)
            n = arr.shape[0]
        if (data.normal_stress <= 0).any():
            raise DataError(path, "/normal_stress", "values <= 0 (tension or no contact)", "> 0 Pa (compression)")


# ---------------------------------------------------------------------------- CSV import
def import_csv(
    path: str | Path,
    *,
    plane: str = "strain",
    stress_unit: str = "Pa",
    strain_unit: str = "-",
    columns: Sequence[str] = CSV_COLUMNS,
    delimiter: str = ",",
) -> ConstitutiveDataset:
    """Read a CSV with a header row into a data set, converting stress to Pa.

    ``columns`` names the header fields that hold (ε_xx, ε_yy, γ_xy, σ_xx, σ_yy, τ_xy), default
    ``exx,eyy,gxy,sxx,syy,sxy`` (extra columns are ignored). ``stress_unit`` ∈ Pa|kPa|MPa|GPa,
    ``strain_unit`` ∈ -|%|microstrain. Bad content raises :class:`DataError` with the row number.
    """
    p = str(path)
    if stress_unit not in STRESS_UNITS:
        raise DataError(p, "stress_unit", repr(stress_unit), " | ".join(STRESS_UNITS))
    if strain_unit not in STRAIN_UNITS:
        raise DataError(p, "strain_unit", repr(strain_unit), " | ".join(STRAIN_UNITS))
    if plane not in PLANES:
        raise DataError(p, "plane", repr(plane), " | ".join(PLANES))
    if len(columns) != 6:
        raise DataError(p, "columns", f"{len(columns)} names", "6 names: exx, eyy, gxy, sxx, syy, sxy")
    if not Path(p).is_file():
        raise DataError(p, None, missing_file(p), "a CSV file with a header row")
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:  # -sig: a spreadsheet's byte-order mark
            rows = list(csv.reader(fh, delimiter=delimiter))
    except UnicodeDecodeError:
        raise DataError(p, None, "not a text file", "a CSV text file (UTF-8) with a header row") from None
    except csv.Error as exc:
        raise DataError(p, None, f"not a CSV file ({exc})", "a CSV text file with a header row") from None
    except OSError as exc:
        raise DataError(p, None, f"cannot read ({exc.strerror})", "a readable CSV file") from None
    if not rows:
        raise DataError(p, "header", "empty file", "a header row naming " + ",".join(columns))
    header = [h.strip() for h in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        other = next((d for d in (";", "\t") if len(header) == 1 and d in header[0]), None)
        hint = f" (separated by {other!r}? the columns must be separated by {delimiter!r})" if other else ""
        raise DataError(p, "header", f"no column {missing[0]!r} (found {','.join(header)}){hint}", ",".join(columns))
    idx = [header.index(c) for c in columns]
    values = np.empty((len(rows) - 1, 6))
    n = 0
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if any(cell.strip() for cell in row[len(header):]):  # an extra value: dropped silently before session 18
            raise DataError(p, f"line {lineno}", f"{len(row)} values for {len(header)} header columns",
                            "one value per header column")
        for k, j in enumerate(idx):
            cell = row[j].strip() if j < len(row) else ""
            try:
                values[n, k] = float(cell)
            except ValueError:
                raise DataError(p, f"line {lineno}, column {columns[k]}", repr(cell), "a number") from None
        n += 1
    values = values[:n]
    data = ConstitutiveDataset(
        strain=values[:, :3] * STRAIN_UNITS[strain_unit],
        stress=values[:, 3:] * STRESS_UNITS[stress_unit],
        plane=plane,
        provenance={"source": "csv", "file": os.path.abspath(p), "columns": list(columns),
                    "stress_unit": stress_unit, "strain_unit": strain_unit},
        path=p,
    )
    _validate(data, p)
    return data


# ---------------------------------------------------------------------------- generation
def _box(strain_range: float | Sequence[float] | np.ndarray) -> np.ndarray:
    r = np.asarray(strain_range, dtype=float)
    if r.ndim == 0:
        r = np.full(3, float(r))
    if r.shape == (3,):
        r = np.stack([-np.abs(r), np.abs(r)], axis=1)
    if r.shape != (3, 2) or not (r[:, 1] > r[:, 0]).all():
        raise ValueError(f"strain_range must be a float, 3 half-widths or (3, 2) [lo, hi] bounds, got {strain_range}")
    return r


SAMPLERS = ("uniform", "sobol", "log")
#: default smallest strain magnitude of the "log" sampler, relative to the largest
LOG_DECADES = 4.0


def strain_magnitude(strain: np.ndarray) -> np.ndarray:
    """|ε| = √(ε_xx² + ε_yy² + γ_xy²) (N,) [-]: the Euclidean norm of the Voigt vector, the
    magnitude used for log sampling, per-magnitude error bins and the data region."""
    return np.sqrt((np.asarray(strain, dtype=float) ** 2).sum(axis=-1))


def sample_strains(n: int, strain_range: Any = 2e-3, seed: int = 0, sampler: str = "uniform",
                   min_magnitude: float | None = None) -> np.ndarray:
    """n strains (n,3) in the box ``strain_range`` (see :func:`generate_dataset`).

    ``sampler = "log"``: ε = r · (d ⊙ a), d uniform on the unit sphere, a = the box's largest
    absolute bound per component, log r uniform on [log r_min, 0] with r_min =
    ``min_magnitude`` / max(a) (default 10^−LOG_DECADES) — as many points per decade of strain
    magnitude up to the ellipsoid inscribed in the box, so that small strains are as well covered as large
    ones. Points are clipped into the box (a no-op for symmetric boxes).
    """
    box = _box(strain_range)
    if sampler == "log":
        rng = np.random.default_rng(seed)
        a = np.abs(box).max(axis=1)
        d = rng.standard_normal((n, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        r_min = 10.0 ** -LOG_DECADES if min_magnitude is None else float(min_magnitude) / float(a.max())
        if not 0 < r_min < 1:
            raise ValueError(f"min_magnitude must be in (0, |box|), got {min_magnitude}")
        r = np.exp(rng.uniform(np.log(r_min), 0.0, n))
        return np.clip(r[:, None] * d * a, box[:, 0], box[:, 1])
    if min_magnitude is not None:
        raise ValueError("min_magnitude applies to the 'log' sampler only")
    if sampler == "uniform":
        u = np.random.default_rng(seed).random((n, 3))
    elif sampler == "sobol":
        from scipy.stats import qmc

        m = int(np.ceil(np.log2(max(n, 1))))
        u = qmc.Sobol(d=3, scramble=True, seed=seed).random_base2(m)[:n]
    else:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    return box[:, 0] + u * (box[:, 1] - box[:, 0])


def add_noise(x: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """x + level · std(x, axis=0) · N(0,1), per component (the definition in NOISE_DEFINITION)."""
    if level < 0:
        raise ValueError(f"noise level must be >= 0, got {level}")
    if level == 0:
        return x.copy()
    return x + level * x.std(axis=0) * rng.standard_normal(x.shape)


def generate_dataset(
    law: ConstitutiveLaw,
    n: int,
    strain_range: float | Sequence[float] | np.ndarray = 2e-3,
    noise_strain: float = 0.0,
    noise_stress: float = 0.0,
    seed: int = 0,
    sampler: str = "uniform",
    min_magnitude: float | None = None,
) -> ConstitutiveDataset:
    """Sample an analytic law: n strain points in a box, stress = law.stress, optional noise.

    strain_range : half-width a (box [−a, a]³), three half-widths, or (3,2) [lo, hi] bounds [-]
    sampler      : "uniform" (i.i.d., numpy default_rng(seed)), "sobol" (scrambled Sobol') or
                   "log" (log-uniform in magnitude |ε| down to ``min_magnitude``, uniform in
                   direction; see :func:`sample_strains`) — the CLI's default
    The clean tangent ∂σ/∂ε of the law is stored too (``tangent``) for the training report.
    noise_strain, noise_stress : relative Gaussian noise levels (0.02 = 2 %), defined per
        component relative to the clean data's standard deviation (NOISE_DEFINITION).
    The data set's plane is the law's plane; the provenance records all of the above.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    strain = sample_strains(n, strain_range, seed, sampler, min_magnitude)
    response = law.evaluate(strain)
    stress = np.asarray(response.stress, dtype=np.float64)
    rng = np.random.default_rng([seed, 1])
    strain_obs = add_noise(strain, noise_strain, rng)
    stress_obs = add_noise(stress, noise_stress, rng)
    provenance = {
        "generator": "learned.generate_dataset",
        "law": law.describe(),
        "n": int(n),
        "strain_range": _box(strain_range).tolist(),
        "sampler": sampler,
        **({"min_magnitude": float(strain_magnitude(strain).min())} if sampler == "log" else {}),
        "seed": int(seed),
        "noise": {"strain": float(noise_strain), "stress": float(noise_stress), "definition": NOISE_DEFINITION},
    }
    return ConstitutiveDataset(strain_obs, stress_obs, law.plane, provenance,
                               tangent=np.asarray(response.tangent, dtype=np.float64))


def generate_joint_dataset(
    law: JointLaw,
    n: int,
    slip_max: float = 1.0,
    rate_range: tuple[float, float] = (0.0, 1.0),
    normal_stress_range: tuple[float, float] = (1e6, 5e6),
    noise: float = 0.0,
    seed: int = 0,
    rate_sampling: str = "uniform",
) -> JointDataset:
    """Synthetic rotary-shear tests on a joint law: τ = law.evaluate(σ_n, slip, v).strength.

    slip ~ U(0, slip_max) [m]; v ~ U(rate_range) or log-uniform ("log", lower bound > 0) [m/s];
    σ_n ~ U(normal_stress_range) [Pa]. ``noise`` is multiplicative on the strength,
    τ_obs = τ (1 + noise · N(0,1)), as a rotary-shear torque reading would have.
    """
    rng = np.random.default_rng(seed)
    slip = rng.uniform(0.0, slip_max, n)
    lo, hi = rate_range
    if rate_sampling == "uniform":
        rate = rng.uniform(lo, hi, n)
    elif rate_sampling == "log":
        if not lo > 0:
            raise ValueError("log rate sampling needs rate_range[0] > 0")
        rate = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    else:
        raise ValueError(f"rate_sampling must be 'uniform' or 'log', got {rate_sampling!r}")
    sn = rng.uniform(*normal_stress_range, n)
    tau = np.asarray(law.evaluate(sn, slip, rate).strength, dtype=np.float64)
    tau_obs = tau * (1.0 + noise * rng.standard_normal(n)) if noise > 0 else tau.copy()
    provenance = {
        "generator": "learned.generate_joint_dataset",
        "law": law.describe(),
        "n": int(n),
        "slip_max": float(slip_max),
        "rate_range": [float(lo), float(hi)],
        "rate_sampling": rate_sampling,
        "normal_stress_range": [float(v) for v in normal_stress_range],
        "seed": int(seed),
        "noise": {"strength": float(noise), "definition": "tau_obs = tau * (1 + level * N(0,1))"},
    }
    return JointDataset(sn, slip, rate, tau_obs, provenance)
