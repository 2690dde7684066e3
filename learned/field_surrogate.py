"""Field surrogates: POD basis of an ensemble's displacement fields + an interpolant of the
POD coefficients in the parameters.

Data: N snapshots of a displacement field on one mesh, U (N, n) [m] (n = 2 · nodes, the
values ordered like the node coordinates, the same in every snapshot), at parameters x (N, d).

POD (an SVD of the centred snapshots):

    U − ū = W Σ Φᵀ,     ū = (1/N) Σ_i U_i  (n,),   Φ (n, N) orthonormal modes

keeps the first r modes with Σ_{k≤r} σ_k² ≥ energy · Σ_k σ_k² (``energy``, default 0.999999;
r ≥ 1). Coefficients a_i = Φ_rᵀ (U_i − ū) (N, r).

Regression a(x): a radial-basis-function interpolant (:class:`scipy.interpolate.RBFInterpolator`,
thin-plate-spline kernel φ(ρ) = ρ² log ρ with a linear polynomial) on the inputs scaled to
[−1, 1] like :mod:`learned.surrogate` (log inputs in log space). Why not the deep ensemble of
:mod:`learned.surrogate`: a warm start needs few members (4–6 runs); an MLP per coefficient
has more weights than points, depends on its initialisation and does not reproduce the members,
while the interpolant is exact at the members, deterministic, needs no training, and its
linear part extrapolates gently. Its error is estimated by leave-one-out (each member predicted
from the others), reported per member as ‖U_pred − U_i‖ / ‖U_i‖.

Prediction: U(x) = ū + Φ_r a(x) (n,).

Checkpoint: the laws' layout (``format = "deepmanifold.checkpoint"``) with
``kind = "field_surrogate"``, a plain dict of tensors and plain data written by ``torch.save``
and read with ``torch.load(weights_only=True)`` only; the interpolant is rebuilt from the
stored (scaled inputs, coefficients) on load. This module imports nothing else of
deepmanifold but :mod:`learned`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from learned.errors import CheckpointError
from learned.files import atomic_write
from learned.surrogate import FORMAT, FORMAT_VERSION, read_checkpoint_payload

KIND = "field_surrogate"
KERNEL = "thin_plate_spline"


def scale_inputs(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, log: np.ndarray) -> np.ndarray:
    """Parameters (N, d) in their units → [−1, 1] over [lo, hi] (log inputs in log space)."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    lin = 2 * (x - lo) / (hi - lo) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = 2 * np.log(x / lo) / np.log(hi / lo) - 1
    return np.where(log, lg, lin)


@dataclass
class FieldSurrogate:
    """Displacement field U(x) = ū + Φ a(x) of one mesh (see the module docstring).

    coordinates (n_nodes, 2) [m]; mean (2 n_nodes,) [m], interleaved (ux, uy) per node;
    modes (2 n_nodes, r); inputs (N, d) scaled to [−1, 1]; coefficients (N, r) [m];
    lo, hi (d,), log (d,) bool: the parameters' ranges; meta: parameter keys, field name,
    energy fraction, singular values, leave-one-out errors, case and overrides.
    """

    coordinates: np.ndarray
    mean: np.ndarray
    modes: np.ndarray
    inputs: np.ndarray
    coefficients: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    log: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._interpolant = _interpolant(self.inputs, self.coefficients)

    @property
    def parameter_keys(self) -> list[str]:
        """The case key path of each parameter (d,)."""
        return list(self.meta.get("parameter_keys", []))

    @property
    def num_nodes(self) -> int:
        """Nodes of the mesh the field lives on."""
        return int(self.coordinates.shape[0])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Displacement (N, 2 n_nodes) [m] at parameters x (N, d)."""
        s = scale_inputs(x, self.lo, self.hi, self.log)
        return self.mean[None, :] + self._interpolant(s) @ self.modes.T


def _interpolant(s: np.ndarray, a: np.ndarray):
    from scipy.interpolate import RBFInterpolator

    if s.shape[0] < s.shape[1] + 2:  # TPS + linear polynomial: need more points than d + 1
        return RBFInterpolator(s, a, kernel="linear", degree=0)
    return RBFInterpolator(s, a, kernel=KERNEL, degree=1)


def pod(snapshots: np.ndarray, energy: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean (n,), modes (n, r), singular values (N,)) of snapshots (N, n), r the fewest modes
    holding ``energy`` of Σ σ² (at least 1)."""
    mean = snapshots.mean(axis=0)
    _, sigma, vt = np.linalg.svd(snapshots - mean, full_matrices=False)
    total = float(np.sum(sigma**2))
    if total == 0.0:
        r = 1
    else:
        r = int(np.searchsorted(np.cumsum(sigma**2) / total, energy) + 1)
        r = max(1, min(r, len(sigma)))
    return mean, vt[:r].T.copy(), sigma


def build_field_surrogate(x: np.ndarray, snapshots: np.ndarray, coordinates: np.ndarray, *,
                          lo: Sequence[float], hi: Sequence[float], log: Sequence[bool],
                          parameter_keys: Sequence[str], energy: float = 0.999999,
                          field_name: str = "displacement") -> FieldSurrogate:
    """POD + interpolant from N snapshots (N, n) at parameters x (N, d); see the module docstring.

    Also measures the leave-one-out error per member (needs N ≥ 3): meta["leave_one_out"] =
    ‖U_pred,−i − U_i‖ / ‖U_i‖ with the basis and the interpolant built without member i.
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    snapshots = np.asarray(snapshots, dtype=float)
    if x.shape[0] != snapshots.shape[0] or x.shape[0] < 2:
        raise ValueError(f"{x.shape[0]} parameter rows for {snapshots.shape[0]} snapshots (need ≥ 2 of each)")
    if not 0 < energy <= 1:
        raise ValueError(f"energy fraction {energy} outside (0, 1]")
    lo_, hi_, log_ = (np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), np.asarray(log, dtype=bool))

    def make(rows: np.ndarray) -> FieldSurrogate:
        mean, modes, sigma = pod(snapshots[rows], energy)
        coeff = (snapshots[rows] - mean) @ modes
        return FieldSurrogate(np.asarray(coordinates, dtype=float), mean, modes,
                              scale_inputs(x[rows], lo_, hi_, log_), coeff, lo_, hi_, log_,
                              {"singular_values": sigma.tolist()})

    loo = []
    if x.shape[0] >= 3:
        for i in range(x.shape[0]):
            rows = np.array([j for j in range(x.shape[0]) if j != i])
            pred = make(rows).predict(x[i:i + 1])[0]
            loo.append(float(np.linalg.norm(pred - snapshots[i]) / max(np.linalg.norm(snapshots[i]), 1e-300)))
    sur = make(np.arange(x.shape[0]))
    sur.meta.update(parameter_keys=list(parameter_keys), field=field_name, energy=energy,
                    modes=int(sur.modes.shape[1]), members=int(x.shape[0]), leave_one_out=loo,
                    regression=f"RBF interpolant ({KERNEL}, linear polynomial) of the POD coefficients")
    return sur


def save_field_surrogate(path: str | Path, sur: FieldSurrogate) -> Path:
    """Write ``sur`` atomically (checkpoint layout, ``kind = "field_surrogate"``)."""
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64)  # noqa: E731
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "kind": KIND,
        "arrays": {"coordinates": t(sur.coordinates), "mean": t(sur.mean), "modes": t(sur.modes),
                   "inputs": t(sur.inputs), "coefficients": t(sur.coefficients), "lo": t(sur.lo),
                   "hi": t(sur.hi), "log": torch.as_tensor(sur.log, dtype=torch.bool)},
        "meta": json.loads(json.dumps(sur.meta, default=float)),
        "torch_version": str(torch.__version__),
    }
    return atomic_write(Path(path), lambda tmp: torch.save(payload, tmp))


def load_field_surrogate(path: str | Path) -> FieldSurrogate:
    """Read a field surrogate (weights_only); raises :class:`CheckpointError` (a scalar
    surrogate is refused: it has no field)."""
    p = str(path)
    allowed = f"a field surrogate ({FORMAT}, kind '{KIND}') written by deepmanifold surrogate field"
    ck = read_checkpoint_payload(p, allowed)
    if ck.get("kind") == "surrogate":
        raise CheckpointError(p, "kind", "a surrogate of scalar results without a field", allowed)
    if ck.get("kind") != KIND:
        raise CheckpointError(p, "kind", f"found {ck.get('kind')!r}", allowed)
    try:
        a = {k: v.numpy() for k, v in ck["arrays"].items()}
        return FieldSurrogate(a["coordinates"], a["mean"], a["modes"], a["inputs"], a["coefficients"],
                              a["lo"], a["hi"], a["log"].astype(bool), dict(ck.get("meta") or {}))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(p, "arrays", f"incomplete ({' '.join(str(exc).split())[:160]})", allowed) from None
