"""Learned joint laws: a network for the friction coefficient μ_θ(slip, slip rate).

    τ_max = c + μ_θ(|slip|, |v|) · σ_n,    μ_θ = μ_s · softplus(g((|slip|, |v|) ⊘ s_in)) ≥ 0

g is a small smooth MLP; the input scales s_in (max |slip| [m], max |v| [m/s] of the data)
and μ_s (mean observed μ) are buffers. Training data are joint tests (e.g. rotary shear,
:func:`learned.dataset.generate_joint_dataset`): μ_obs = (τ_obs − c) / σ_n with the
cohesion c given (default 0); the loss is mean(((μ_θ − μ_obs) / std(μ_obs))²).
:class:`NeuralJointLaw` puts the trained network behind :class:`learned.JointLaw`.
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from learned.backend import Array, is_torch
from learned.data_region import joint_monitor, unavailable
from learned.dataset import JointDataset
from learned.joint import JointLaw
from learned.models import _act
from learned.training import (
    OTHER_HIDDEN,
    Progress,
    as_dataset,
    cpu_threads,
    fit,
    resolve_device,
    split_indices,
    torch_dtype,
)

INPUTS = ("slip", "slip_rate")


class FrictionNet(nn.Module):
    """μ_θ(|slip|, |slip rate|) ≥ 0 (N,) from inputs (N,2) = (slip [m], slip rate [m/s])."""

    kind = "joint"
    arch = "friction_mlp"

    def __init__(self, hidden: Sequence[int] = OTHER_HIDDEN, activation: str = "silu",
                 inputs: Sequence[str] = INPUTS, input_scale: Any = None, friction_scale: float = 1.0) -> None:
        super().__init__()
        _act(activation, torch.zeros(1))
        bad = [i for i in inputs if i not in INPUTS]
        if bad or not inputs:
            raise ValueError(f"inputs must be a non-empty subset of {INPUTS}, got {list(inputs)}")
        self.hidden, self.activation, self.inputs = [int(h) for h in hidden], activation, list(inputs)
        scale = torch.as_tensor([1.0, 1.0] if input_scale is None else input_scale, dtype=torch.float64)
        if scale.shape != (2,) or not bool((scale > 0).all()):
            raise ValueError(f"input_scale must be 2 positive numbers, got {input_scale}")
        self.register_buffer("input_scale", scale)
        self.register_buffer("friction_scale", torch.tensor(float(friction_scale), dtype=torch.float64))
        self.register_buffer("input_mask", torch.tensor([i in self.inputs for i in INPUTS], dtype=torch.float64))
        sizes = [2, *self.hidden, 1]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        #: plain JSON metadata: cohesion [Pa], tensile_strength [Pa], data provenance
        self.meta: dict[str, Any] = {"cohesion": 0.0, "tensile_strength": 0.0}

    @property
    def config(self) -> dict[str, Any]:
        """Architecture record saved in checkpoints: arch, hidden widths, activation, inputs used."""
        return {"arch": self.arch, "hidden": list(self.hidden), "activation": self.activation,
                "inputs": list(self.inputs)}

    def scaling(self) -> dict[str, Any]:
        """Input scales (slip [m], slip rate [m/s]) and the friction scale [-]."""
        return {"input_scale": self.input_scale.tolist(), "friction_scale": float(self.friction_scale)}

    def forward(self, x: Tensor) -> Tensor:
        """Friction coefficient (N,) [-] of inputs (N,2) = (|slip| [m], |slip rate| [m/s])."""
        h = x.abs() / self.input_scale * self.input_mask
        for layer in self.layers[:-1]:
            h = _act(self.activation, layer(h))[0]
        return self.friction_scale * nn.functional.softplus(self.layers[-1](h))[:, 0]


class NeuralJointLaw(JointLaw):
    """A :class:`JointLaw` whose friction coefficient is a trained :class:`FrictionNet`.

    numpy in → numpy out (computed on ``law.device``); torch in → float64 torch out on the
    input's device. cohesion / tensile_strength [Pa] default to the values used in training.
    """

    kind = "neural_joint"

    def __init__(self, model: FrictionNet, cohesion: float | None = None,
                 tensile_strength: float | None = None, device: str = "auto", source: str | None = None) -> None:
        super().__init__(model.meta.get("cohesion", 0.0) if cohesion is None else cohesion,
                         model.meta.get("tensile_strength", 0.0) if tensile_strength is None else tensile_strength)
        self.device = resolve_device(device)
        self.source = source
        base = copy.deepcopy(model).to(dtype=torch.float64).eval()
        for p in base.parameters():
            p.requires_grad_(False)
        self.model = base.to(self.device)
        self._copies = {self.device: self.model}
        region = model.meta.get("data_region")
        if region is None:  # older checkpoints: the input scales are the data's largest |slip|, |rate|
            scale = model.input_scale.tolist()
            region = {"slip_max": scale[0], "slip_rate_min": 0.0, "slip_rate_max": scale[1]}
        if region is not None:  # an input the network does not use has no bound
            region = dict(region)
            if "slip" not in model.inputs:
                region["slip_max"] = float("inf")
            if "slip_rate" not in model.inputs:
                region["slip_rate_min"], region["slip_rate_max"] = 0.0, float("inf")
        #: counts of evaluated (|slip|, |slip rate|) outside the training data
        self.monitor = joint_monitor(region)

    def out_of_distribution_report(self) -> dict[str, Any]:
        """Points outside the training data: see :class:`learned.data_region.RegionMonitor`."""
        return self.monitor.report() if self.monitor is not None else unavailable()

    def friction(self, slip: Array, slip_rate: Array) -> Array:
        """μ (N,) [-] from the network at slip [m] and slip rate [m/s] (numpy or torch, any device)."""
        if is_torch(slip):
            dev = slip.device
            if dev not in self._copies:
                self._copies[dev] = copy.deepcopy(self.model).to(dev)
            x = torch.stack([slip.to(torch.float64), slip_rate.to(device=dev, dtype=torch.float64)], 1)
            if self.monitor is not None:
                self.monitor.observe(x.abs())
            with torch.no_grad(), cpu_threads(1 if dev.type == "cpu" and x.shape[0] < 8192 else None):
                return self._copies[dev](x)
        x = np.stack([np.asarray(slip, dtype=np.float64), np.asarray(slip_rate, dtype=np.float64)], 1)
        if self.monitor is not None:
            self.monitor.observe(np.abs(x))
        with torch.no_grad(), cpu_threads(1 if self.device.type == "cpu" and x.shape[0] < 8192 else None):
            mu = self.model(torch.from_numpy(x).to(self.device))
        return mu.cpu().numpy()

    def describe(self) -> dict[str, Any]:
        """The base description plus the network config, device and checkpoint path."""
        out = {**super().describe(), "model": self.model.config, "device": str(self.device)}
        if self.source:
            out["checkpoint"] = self.source
        return out


def train_joint(
    data: JointDataset | Any,
    *,
    hidden: Sequence[int] = OTHER_HIDDEN,
    activation: str = "silu",
    inputs: Sequence[str] = INPUTS,
    cohesion: float = 0.0,
    tensile_strength: float = 0.0,
    epochs: int = 300,
    batch_size: int = 128,
    lr: float = 5e-3,
    val_fraction: float = 0.2,
    patience: int | None = 40,
    min_delta: float = 0.0,
    seed: int = 0,
    device: str = "auto",
    dtype: str = "float32",
    threads: int | None = 1,
    progress: Progress | None = None,
) -> tuple[FrictionNet, dict[str, Any]]:
    """Fit μ_θ(slip, slip rate) to joint data (path or :class:`JointDataset`).

    Returns ``(model, report)``: the model float64 on the CPU with ``meta`` = cohesion,
    tensile strength and provenance; the report JSON-serialisable as for :func:`train`.
    """
    ds = as_dataset(data)
    if not isinstance(ds, JointDataset):
        raise ValueError("train_joint needs a joint data set (kind = 'joint')")
    dev = resolve_device(device)
    tdtype = torch_dtype(dtype)
    mu_obs = (ds.shear_strength - cohesion) / ds.normal_stress
    x = np.stack([np.abs(ds.slip), np.abs(ds.slip_rate)], 1)
    tr, va = split_indices(len(ds), val_fraction, seed)
    in_scale = np.maximum(x[tr].max(axis=0), 1e-30)
    mu_mean = float(np.abs(mu_obs[tr]).mean()) or 1.0
    mu_std = max(float(mu_obs[tr].std()), 1e-3 * mu_mean)
    torch.manual_seed(seed)
    net = FrictionNet(hidden, activation, inputs, in_scale, mu_mean).to(device=dev, dtype=tdtype)
    net.meta = {"cohesion": float(cohesion), "tensile_strength": float(tensile_strength),
                "provenance": ds.provenance,
                "data_region": {"slip_max": float(x[tr, 0].max()), "slip_rate_min": float(x[tr, 1].min()),
                                "slip_rate_max": float(x[tr, 1].max())}}
    as_t = lambda a: torch.as_tensor(a, dtype=tdtype, device=dev)  # noqa: E731
    with cpu_threads(threads if dev.type == "cpu" else None):
        hist = fit(net, as_t(x[tr]), as_t(mu_obs[tr]), as_t(x[va]), as_t(mu_obs[va]),
                   lambda p, t: (((p - t) / mu_std) ** 2).mean(), epochs=epochs, batch_size=batch_size,
                   lr=lr, patience=patience, min_delta=min_delta, seed=seed, progress=progress)
    net = net.to(device="cpu", dtype=torch.float64).eval()
    with torch.no_grad():
        pred = net(torch.as_tensor(x, dtype=torch.float64)).numpy()
    rel = lambda idx: float(np.linalg.norm(pred[idx] - mu_obs[idx]) / np.linalg.norm(mu_obs[idx]))  # noqa: E731
    report = {
        "kind": "joint",
        "model": net.config,
        "n_train": int(len(tr)),
        "n_val": int(len(va)),
        "settings": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "patience": patience,
                     "val_fraction": val_fraction, "seed": seed, "dtype": dtype, "cohesion": cohesion,
                     "loss": "mean(((mu_pred - mu_obs) / std(mu_obs))^2)"},
        "device": str(dev),
        "scaling": net.scaling(),
        **hist,
        "metrics": {"train_rel_error": rel(tr), **({"val_rel_error": rel(va)} if len(va) else {})},
        "data": {"path": ds.path, "provenance": ds.provenance},
        "torch_version": str(torch.__version__),
    }
    return net, report
