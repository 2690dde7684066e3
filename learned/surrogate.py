"""Surrogates: a small deep ensemble of MLPs from case parameters to scalar run results.

A surrogate maps d parameters x (in their units, e.g. a friction angle [deg], a Young's
modulus [Pa]) to m outputs y (the scalars of a run's summary.json, in their units). Each of
the M members is an MLP on scaled inputs and outputs:

    s_j   = 2 (x_j − lo_j) / (hi_j − lo_j) − 1                  (linear input j)
    s_j   = 2 log(x_j / lo_j) / log(hi_j / lo_j) − 1             (log input j)
    y_k   = mean_k + std_k · MLP_i(s)_k                          (member i, output k)

Prediction: the ensemble mean ȳ = (1/M) Σ_i y^(i) and the spread
σ_y = sqrt((1/M) Σ_i (y^(i) − ȳ)²), the uncertainty estimate (a deep ensemble: members differ
by their initial weights; Lakshminarayanan et al. 2017). Shapes: x (N, d) → mean, spread (N, m).

Training (:func:`train_surrogate`): full-batch L-BFGS on the mean squared error of the scaled
outputs, float64 on the CPU. A random held-out fraction gives the validation error per output
(RMSE and RMSE relative to the output's spread over the data), measured with members trained
without it; the saved members are then refit on all points (the reported error is that of
the split, a conservative estimate).

Checkpoint: the layout of the laws' checkpoints (:mod:`learned.checkpoint`) with
``kind = "surrogate"``: a plain dict written by ``torch.save`` and read back with
``torch.load(weights_only=True)`` only. This module imports nothing else of deepmanifold but
:mod:`learned`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from learned.errors import CheckpointError
from learned.files import atomic_write, load_weights_only

FORMAT = "deepmanifold.checkpoint"
FORMAT_VERSION = 1
KIND = "surrogate"
ARCH = "mlp_ensemble"


class SurrogateEnsemble(nn.Module):
    """M MLPs from d parameters to m outputs, with the input and output scalings as buffers.

    ``input_lo``, ``input_hi`` (d,) and ``input_log`` (d,) bool describe each parameter's
    range; ``output_mean``, ``output_std`` (m,) the outputs' scaling. ``meta`` holds the
    parameter keys and output names (plain data).
    """

    def __init__(self, d: int, m: int, members: int = 5, hidden: Sequence[int] = (32, 32)) -> None:
        super().__init__()
        self.config = {"arch": ARCH, "inputs": int(d), "outputs": int(m), "members": int(members),
                       "hidden": [int(h) for h in hidden]}
        widths = [int(d), *[int(h) for h in hidden], int(m)]
        # member i's layer l: h ← tanh(h W_l[i] + b_l[i]); all members in one batched matmul
        self.weights = nn.ParameterList(nn.Parameter(torch.empty(members, a, b, dtype=torch.float64))
                                        for a, b in zip(widths[:-1], widths[1:]))
        self.biases = nn.ParameterList(nn.Parameter(torch.empty(members, 1, b, dtype=torch.float64))
                                       for b in widths[1:])
        self.reset_parameters()
        self.register_buffer("input_lo", torch.zeros(d, dtype=torch.float64))
        self.register_buffer("input_hi", torch.ones(d, dtype=torch.float64))
        self.register_buffer("input_log", torch.zeros(d, dtype=torch.bool))
        self.register_buffer("output_mean", torch.zeros(m, dtype=torch.float64))
        self.register_buffer("output_std", torch.ones(m, dtype=torch.float64))
        self.meta: dict[str, Any] = {}
        self.to(torch.float64)

    def reset_parameters(self) -> None:
        """Fresh weights, uniform in ±1/sqrt(fan_in) per layer (torch's Linear default), per member."""
        with torch.no_grad():
            for w, b in zip(self.weights, self.biases):
                bound = 1.0 / math.sqrt(w.shape[1])
                w.uniform_(-bound, bound)
                b.uniform_(-bound, bound)

    @property
    def parameter_keys(self) -> list[str]:
        """The case key of each input, in order."""
        return list(self.meta.get("parameters", []))

    @property
    def output_names(self) -> list[str]:
        """The name of each output, in order."""
        return list(self.meta.get("outputs", []))

    def scale_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Parameters (N, d) in their units → s ∈ [−1, 1]^d inside the training range."""
        lo, hi = self.input_lo, self.input_hi
        lin = (x - lo) / (hi - lo)
        logs = torch.log(torch.clamp(x, min=1e-300) / lo) / torch.log(hi / lo)
        return 2.0 * torch.where(self.input_log, logs, lin) - 1.0

    def members_scaled(self, s: torch.Tensor) -> torch.Tensor:
        """Scaled outputs of every member, (M, N, m), from scaled inputs s (N, d)."""
        h = s.unsqueeze(0).expand(len(self.weights[0]), *s.shape)
        last = len(self.weights) - 1
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if layer < last:
                h = torch.tanh(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs of every member in their units, (M, N, m), from parameters x (N, d)."""
        return self.output_mean + self.output_std * self.members_scaled(self.scale_inputs(x))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and spread, each (N, m), at parameters x (N, d) [their units]."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # a few small matrices: one thread is fastest
        try:
            with torch.no_grad():
                y = self(torch.as_tensor(np.atleast_2d(np.asarray(x, dtype=float)), dtype=torch.float64))
        finally:
            torch.set_num_threads(threads)
        return y.mean(0).numpy(), y.std(0, unbiased=False).numpy()


def _fit(net: SurrogateEnsemble, s: torch.Tensor, t: torch.Tensor, iterations: int, seed: int) -> float:
    """Fit every member (fresh weights from ``seed``) to scaled targets t (N, m) by L-BFGS on
    the sum of the members' mean squared errors (their gradients are independent); returns
    the members' mean squared error, averaged."""
    torch.manual_seed(seed)
    net.reset_parameters()
    params = [*net.weights, *net.biases]
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=iterations, history_size=50,
                            tolerance_grad=1e-12, tolerance_change=1e-16, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.mean((net.members_scaled(s) - t) ** 2, dim=(1, 2)).sum()
        loss.backward()
        return loss

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: threads only add contention (measured 100x slower on a loaded host)
    try:
        opt.step(closure)
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        loss = float(torch.mean((net.members_scaled(s) - t) ** 2))
    if not math.isfinite(loss):
        raise FloatingPointError(f"training diverged (loss {loss})")
    return loss


def train_surrogate(x: np.ndarray, y: np.ndarray, *, lo: Sequence[float], hi: Sequence[float],
                    log: Sequence[bool], parameter_keys: Sequence[str], output_names: Sequence[str],
                    members: int = 5, hidden: Sequence[int] = (32, 32), iterations: int = 300,
                    val_fraction: float = 0.2, seed: int = 0) -> tuple[SurrogateEnsemble, dict[str, Any]]:
    """Train a :class:`SurrogateEnsemble` on parameters x (N, d) and outputs y (N, m).

    Returns the network (refit on all points) and a report: per output the held-out RMSE,
    the RMSE relative to the output's standard deviation over the data, the largest held-out
    error, the mean ensemble spread at the held-out points, and the training RMSE.
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    y = np.asarray(y, dtype=float).reshape(len(x), -1)
    n, d = x.shape
    m = y.shape[1]
    if n < 2:
        raise ValueError(f"{n} point(s): a surrogate needs at least 2")
    mean, std = y.mean(0), y.std(0)
    if np.any(std == 0) or not np.all(np.isfinite(y)):
        raise ValueError("outputs must be finite and vary over the points")

    def build() -> SurrogateEnsemble:
        net = SurrogateEnsemble(d, m, members, hidden)
        net.input_lo[:] = torch.as_tensor(np.asarray(lo, dtype=float))
        net.input_hi[:] = torch.as_tensor(np.asarray(hi, dtype=float))
        net.input_log[:] = torch.as_tensor(np.asarray(log, dtype=bool))
        net.output_mean[:] = torch.as_tensor(mean)
        net.output_std[:] = torch.as_tensor(std)
        net.meta = {"parameters": list(parameter_keys), "outputs": list(output_names)}
        return net

    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = int(round(val_fraction * n)) if n >= 4 else 0
    val, fit = order[:n_val], order[n_val:]
    report: dict[str, Any] = {"points": n, "validation_points": int(n_val), "members": members,
                              "hidden": list(hidden), "iterations": iterations, "seed": seed,
                              "optimizer": "L-BFGS (strong Wolfe), full batch, float64", "outputs": {}}
    tx = torch.as_tensor(x, dtype=torch.float64)
    scaled = torch.as_tensor((y - mean) / std, dtype=torch.float64)
    net = build()
    if n_val:
        _fit(net, net.scale_inputs(tx[fit]), scaled[fit], iterations, seed)
        pred, spread = net.predict(x[val])
        err = pred - y[val]
        for k, name in enumerate(output_names):
            rmse = float(np.sqrt(np.mean(err[:, k] ** 2)))
            report["outputs"][name] = {"validation_rmse": rmse, "validation_relative_rmse": rmse / float(std[k]),
                                       "validation_max_error": float(np.max(np.abs(err[:, k]))),
                                       "validation_mean_spread": float(np.mean(spread[:, k]))}
    net = build()
    final = _fit(net, net.scale_inputs(tx), scaled, iterations, seed + 1)
    pred, _ = net.predict(x)
    for k, name in enumerate(output_names):
        report["outputs"].setdefault(name, {})["training_rmse"] = float(np.sqrt(np.mean((pred[:, k] - y[:, k]) ** 2)))
    report["training_loss"] = final
    return net.eval(), report


def _plain(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=float))


def save_surrogate(path: str | Path, net: SurrogateEnsemble, report: dict[str, Any] | None = None) -> Path:
    """Write the surrogate and its report atomically (checkpoint layout, ``kind = "surrogate"``)."""
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "kind": KIND,
        "architecture": dict(net.config),
        "state_dict": {k: v.detach().to("cpu").clone() for k, v in net.state_dict().items()},
        "scaling": {}, "plane": None, "meta": _plain(net.meta), "report": _plain(report or {}),
        "torch_version": str(torch.__version__),
    }
    return atomic_write(Path(path), lambda tmp: torch.save(payload, tmp))


def read_checkpoint_payload(path: str, allowed: str) -> dict[str, Any]:
    """The payload dict of a checkpoint file (``torch.load(weights_only=True)``: tensors,
    numbers, strings and containers only, never a pickled object) after checking its format
    and version; raises :class:`CheckpointError` (file missing, unreadable, another format)
    with ``allowed`` as what the caller accepts. The caller checks ``kind``."""
    ck = load_weights_only(path, allowed)
    if not isinstance(ck, dict) or ck.get("format") != FORMAT or ck.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(path, "format", "not a deepmanifold checkpoint of this version", allowed)
    return ck


def load_surrogate(path: str | Path) -> tuple[SurrogateEnsemble, dict[str, Any]]:
    """Read a surrogate checkpoint (weights_only) → (network, report); raises :class:`CheckpointError`."""
    p = str(path)
    allowed = f"a surrogate checkpoint ({FORMAT}, kind '{KIND}') written by deepmanifold surrogate train"
    ck = read_checkpoint_payload(p, allowed)
    if ck.get("kind") != KIND:
        raise CheckpointError(p, "kind", f"found {ck.get('kind')!r}", allowed)
    arch = ck.get("architecture") or {}
    try:
        net = SurrogateEnsemble(int(arch["inputs"]), int(arch["outputs"]), int(arch["members"]), arch["hidden"])
        net.load_state_dict(ck["state_dict"], strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        msg = " ".join(str(exc).split())[:200]
        raise CheckpointError(p, "state_dict", f"does not fit the architecture ({msg})", allowed) from None
    net.meta = dict(ck.get("meta") or {})
    return net.eval(), dict(ck.get("report") or {})
