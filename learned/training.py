"""Training a constitutive network on strain–stress data (plain regression).

Loss on scaled stress: L(θ) = mean_{n,j} ((f_θ(ε_n)_j − σ_nj) / s_σ,j)², s_σ = per-component
standard deviation of the training stress [Pa]; strain scale s_ε likewise. Adam with a
cosine-decayed learning rate, a validation split, early stopping on the validation loss
(the best parameters are restored), fixed seeds → reproducible on a given device.
"""

from __future__ import annotations

import json
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from learned.dataset import ConstitutiveDataset, JointDataset, load_dataset
from learned.files import atomic_write
from learned.models import ARCHITECTURES, ConstitutiveModel, build_model

Progress = Callable[[dict[str, Any]], None]
DataLike = Any  # path | ConstitutiveDataset | JointDataset | (strain, stress) arrays


#: ``format`` key of the training report JSON (how ``train -o`` recognises a file it may replace).
REPORT_FORMAT = "deepmanifold.training_report"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" → CUDA when available, else CPU; "cpu" / "cuda" / "cuda:1" as given."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.split(":")[0] not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch finds no CUDA device")
    return torch.device(device)


def torch_dtype(name: str) -> torch.dtype:
    """"float32" | "float64" → the torch dtype used for training."""
    table = {"float32": torch.float32, "float64": torch.float64}
    if name not in table:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {name!r}")
    return table[name]


def as_dataset(data: DataLike, plane: str = "strain") -> ConstitutiveDataset | JointDataset:
    """A data set from a path (validated HDF5), a data set object, or a (strain, stress) pair."""
    if isinstance(data, (ConstitutiveDataset, JointDataset)):
        return data
    if isinstance(data, (str, os.PathLike)):
        return load_dataset(data)
    strain, stress = data
    return ConstitutiveDataset(np.asarray(strain, float), np.asarray(stress, float), plane,
                               {"source": "arrays"})


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train/validation split (at least one sample in each when n ≥ 2)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    perm = np.random.default_rng([seed, 7]).permutation(n)
    n_val = int(round(val_fraction * n))
    if val_fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    return perm[n_val:], perm[:n_val]


@contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op CPU threads (None: leave as is).

    Mini-batches of a few hundred points gain nothing from threads, and on a loaded machine
    OpenMP threads that wait for each other slow training down by an order of magnitude.
    """
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def fit(
    model: torch.nn.Module,
    x_train: Tensor,
    y_train: Tensor,
    x_val: Tensor | None,
    y_val: Tensor | None,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    *,
    epochs: int = 300,
    batch_size: int = 128,
    lr: float = 3e-3,
    lr_final: float = 1e-2,
    weight_decay: float = 0.0,
    patience: int | None = 40,
    min_delta: float = 0.0,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Mini-batch Adam on ``loss_fn(model(x), y)``, cosine lr from ``lr`` to ``lr·lr_final``.

    Early stopping after ``patience`` epochs without a validation loss below best·(1 − min_delta)
    (training loss when there is no validation set); the best parameters are loaded back.
    Returns the history (losses per epoch, best epoch, timings).
    """
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError("epochs and batch_size must be >= 1 and lr > 0")
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: lr_final + (1 - lr_final) * 0.5 * (1 + math.cos(math.pi * min(k / epochs, 1.0)))
    )
    n = x_train.shape[0]
    hist: dict[str, Any] = {"train_loss": [], "val_loss": [], "best_epoch": 0, "stopped_early": False}
    best = gain_ref = math.inf
    last_gain = 0
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen).to(x_train.device)
        total = torch.zeros((), dtype=x_train.dtype, device=x_train.device)  # no per-batch sync
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total += loss.detach() * idx.shape[0]
        sched.step()
        train_loss = float(total) / n
        model.eval()
        if x_val is not None and x_val.shape[0] > 0:
            with torch.no_grad():
                val_loss = float(loss_fn(model(x_val), y_val))
        else:
            val_loss = train_loss
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"training diverged at epoch {epoch} (loss {train_loss}); lower lr")
        hist["train_loss"].append(train_loss)
        hist["val_loss"].append(val_loss)
        if val_loss < gain_ref * (1.0 - min_delta) or not math.isfinite(gain_ref):
            gain_ref, last_gain = val_loss, epoch
        if val_loss < best:
            best, hist["best_epoch"] = val_loss, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if progress is not None:
            progress({"epoch": epoch, "epochs": epochs, "train_loss": train_loss, "val_loss": val_loss,
                      "best_val_loss": best, "lr": opt.param_groups[0]["lr"]})
        if patience is not None and epoch - last_gain >= patience:
            hist["stopped_early"] = True
            break
    model.load_state_dict(best_state)
    hist["epochs_run"] = len(hist["train_loss"])
    hist["best_val_loss"] = best
    hist["time_s"] = time.perf_counter() - t0
    hist["time_per_epoch_s"] = hist["time_s"] / hist["epochs_run"]
    return hist


def scaled_mse(stress_scale: Tensor) -> Callable[[Tensor, Tensor], Tensor]:
    """L = mean(((pred − target) / s_σ)²)."""
    return lambda pred, target: (((pred - target) / stress_scale) ** 2).mean()


def relative_error(predict: Callable[[np.ndarray], np.ndarray], strain: np.ndarray, stress: np.ndarray) -> float:
    """‖σ_pred − σ‖ / ‖σ‖ over the whole set (Frobenius norms)."""
    pred = np.asarray(predict(strain))
    return float(np.linalg.norm(pred - stress) / np.linalg.norm(stress))


def model_stress(model: ConstitutiveModel, strain: np.ndarray) -> np.ndarray:
    """σ = f_θ(ε) with numpy in and out (float64, the model's device)."""
    p = next(model.parameters())
    with torch.no_grad():
        out = model(torch.as_tensor(strain, dtype=p.dtype, device=p.device))
    return out.double().cpu().numpy()


def train(
    data: DataLike,
    model: str = "mlp",
    *,
    epochs: int = 300,
    batch_size: int = 128,
    lr: float = 5e-3,
    hidden: Sequence[int] = (32, 32),
    activation: str = "silu",
    val_fraction: float = 0.2,
    patience: int | None = 40,
    min_delta: float = 0.0,
    seed: int = 0,
    device: str = "auto",
    dtype: str = "float32",
    weight_decay: float = 0.0,
    threads: int | None = 1,
    progress: Progress | None = None,
    **model_options: Any,
) -> tuple[Any, dict[str, Any]]:
    """Fit a network to a data set; returns ``(model, report)``.

    data   : HDF5 path (validated by :func:`load_dataset`), a data set, or (strain, stress)
    model  : "mlp" (σ = f_θ(ε)) or "icnn" (σ = ∂ψ_θ/∂ε, convex ψ); a joint data set trains a
             friction network instead (:func:`learned.neural_joint.train_joint`, model "mlp")
    hidden, activation (MLP only), **model_options (ICNN: quadratic, c0_floor): architecture
    epochs, batch_size, lr, val_fraction, seed, weight_decay: optimisation (the ICNN, whose
    z-path weights are softplus-reparametrised, wants a larger lr, ≈ 1e-2–2e-2); early stopping after
    ``patience`` epochs without a relative validation-loss gain of ``min_delta``
    device : "auto" (CUDA if present) | "cpu" | "cuda";  dtype: "float32" | "float64"
    threads: CPU threads while training (default 1, fastest for small batches; None = torch's)
    progress(info) is called after each epoch with epoch, epochs, train_loss, val_loss, ...

    The returned model is float64 on the CPU, ``model.meta`` holds plane and provenance; the
    report is JSON-serialisable (losses per epoch, best epoch, timings, device, metrics).
    """
    ds = as_dataset(data)
    if isinstance(ds, JointDataset):
        from learned.neural_joint import train_joint

        if model != "mlp":
            raise ValueError(f"a joint data set trains a friction MLP: model must be 'mlp', got {model!r}")
        return train_joint(ds, epochs=epochs, batch_size=batch_size, lr=lr, hidden=hidden,
                           activation=activation, val_fraction=val_fraction, patience=patience,
                           min_delta=min_delta, seed=seed, device=device, dtype=dtype,
                           threads=threads, progress=progress, **model_options)
    if model not in ARCHITECTURES:
        raise ValueError(f"model must be one of {ARCHITECTURES}, got {model!r}")
    dev = resolve_device(device)
    tdtype = torch_dtype(dtype)
    tr, va = split_indices(len(ds), val_fraction, seed)
    strain_scale = ds.strain[tr].std(axis=0) + 1e-30
    stress_scale = ds.stress[tr].std(axis=0) + 1e-30
    config: dict[str, Any] = {"arch": model, "hidden": list(hidden), **model_options}
    if model == "mlp":
        config["activation"] = activation
    torch.manual_seed(seed)
    net = build_model(config, strain_scale, stress_scale).to(device=dev, dtype=tdtype)
    net.meta = {"plane": ds.plane, "provenance": ds.provenance}
    as_t = lambda a: torch.as_tensor(a, dtype=tdtype, device=dev)  # noqa: E731
    with cpu_threads(threads if dev.type == "cpu" else None):
        hist = fit(net, as_t(ds.strain[tr]), as_t(ds.stress[tr]), as_t(ds.strain[va]), as_t(ds.stress[va]),
                   scaled_mse(as_t(stress_scale)), epochs=epochs, batch_size=batch_size, lr=lr,
                   weight_decay=weight_decay, patience=patience, min_delta=min_delta, seed=seed,
                   progress=progress)
    net = net.to(device="cpu", dtype=torch.float64).eval()
    metrics = {"train_rel_error": relative_error(lambda e: model_stress(net, e), ds.strain[tr], ds.stress[tr])}
    if len(va):
        metrics["val_rel_error"] = relative_error(lambda e: model_stress(net, e), ds.strain[va], ds.stress[va])
    report = {
        "kind": "constitutive",
        "model": net.config,
        "plane": ds.plane,
        "n_train": int(len(tr)),
        "n_val": int(len(va)),
        "settings": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "patience": patience,
                     "min_delta": min_delta,
                     "val_fraction": val_fraction, "seed": seed, "weight_decay": weight_decay,
                     "dtype": dtype, "threads": threads,
                     "loss": "mean(((sigma_pred - sigma) / stress_scale)^2)"},
        "device": str(dev),
        "scaling": net.scaling(),
        **hist,
        "metrics": metrics,
        "data": {"path": ds.path, "provenance": ds.provenance},
        "torch_version": str(torch.__version__),
    }
    return net, report


# ---------------------------------------------------------------------------- report files
def write_training_report(report: dict[str, Any], json_path: str | Path,
                          png_path: str | Path | None = None) -> list[Path]:
    """Write the report as JSON and, if ``png_path``, the loss curves (log scale) as PNG.

    Both writes are atomic. Returns the paths written.
    """
    json_path = Path(json_path)
    text = json.dumps({"format": REPORT_FORMAT, **report}, indent=2, sort_keys=True, default=float)
    atomic_write(json_path, lambda tmp: Path(tmp).write_text(text))
    written = [json_path]
    if png_path is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        ep = np.arange(1, len(report.get("train_loss", [])) + 1)
        ax.semilogy(ep, report.get("train_loss", []), label="train")
        if report.get("val_loss"):
            ax.semilogy(ep, report["val_loss"], label="validation")
        if report.get("best_epoch"):
            ax.axvline(report["best_epoch"], color="0.6", ls="--", lw=0.8, label="best")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (scaled)")
        ax.set_title(f"{report.get('kind', '')} {report.get('model', {}).get('arch', '')}".strip())
        ax.legend()
        fig.tight_layout()
        png_path = Path(png_path)
        atomic_write(png_path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
        plt.close(fig)
        written.append(png_path)
    return written
