"""Training a constitutive network on strain–stress data (plain regression).

Loss (``loss="relative"``, the default), relative to the local stress magnitude so that every
decade of strain counts alike:

    L(θ) = mean_n ‖(f_θ(ε_n) − σ_n) ⊘ s_σ‖² / (‖σ_n ⊘ s_σ‖² + η²),   η² = 1e-10 · mean_n ‖σ_n ⊘ s_σ‖²

(``loss="scaled_mse"``: the former mean_{n,j} ((f_θ(ε_n)_j − σ_nj) / s_σ,j)², dominated by the
largest strains). s_σ = per-component standard deviation of the training stress [Pa]; strain
scale s_ε likewise. Before training, the small-strain stiffness C₀ (3,3) [Pa] is identified by
least squares on the smallest-magnitude data (:func:`identify_small_strain_stiffness`) and set
as the model's explicit linear part (MLP ``linear_part``, ICNN quadratic term), so the tangent
at ε = 0 starts right and training refines it. Adam with a cosine-decayed learning rate, a
validation split, early stopping on the validation loss (the best parameters are restored),
fixed seeds → reproducible on a given device. Then a full-batch L-BFGS polish (:func:`polish`)
in the same loss and, by default, a second one in the compliance norm
(:func:`compliance_relative_mse`: the relative strain error at the same stress, weighted by the
inverse tangent of the polished model), because under a prescribed load a stress error δσ becomes a strain error C⁻¹δσ — 1/n times the relative stress
error where a power law of exponent n has softened.

The report holds the error per strain-magnitude bin (:func:`magnitude_error_table`: log bins
of |ε| from the smallest to the largest strain of the data, stress and — when the data set
carries the exact tangent — tangent error relative to the local magnitude) and the data
region (:func:`data_region`) that the checkpoint keeps for out-of-distribution counts.
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
from learned.training_defaults import MLP_HIDDEN, OTHER_HIDDEN, default_hidden  # noqa: F401  (the API's defaults)

Progress = Callable[[dict[str, Any]], None]
DataLike = Any  # path | ConstitutiveDataset | JointDataset | (strain, stress) arrays


#: ``format`` key of the training report JSON (how ``train -o`` recognises a file it may replace).
REPORT_FORMAT = "deepmanifold.training_report"
def cuda_available() -> bool:
    """Whether torch finds a CUDA device."""
    return bool(torch.cuda.is_available())


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


#: most training points the full-batch L-BFGS polish uses at once (a random subset beyond)
POLISH_MAX_POINTS = 50_000
#: default L-BFGS polish iterations of :func:`train`. 2000 (was 500): a power law with
#: E = 10 GPa, ε₀ = 2e-4, n = 0.5, plane stress (data box 25 ε₀) was under-fitted in its top
#: strain bins at 500 — train and validation errors equal there (tangent 6.8 % / 6.7 %,
#: stress 1.0 % / 1.9 %), so more data would not help but more optimisation does: 2000 gives
#: tangent 4.7 % / stress 1.1 % there and a worst solver-level L2 error of 0.24–0.29 % instead
#: of 0.75–0.79 % (tests/test_learned_sweep.py); training takes about 1.25x as long.
DEFAULT_POLISH_ITERATIONS = 2000
#: L-BFGS iterations between two validation checks of the polish
POLISH_BLOCK = 50
#: blocks in a row without a better validation loss after which the polish stops. 3 (was 1):
#: L-BFGS stalls now and then (a line search that finds no decrease along a stale quasi-Newton
#: direction); stopping at the first such block left a power law (E = 10 GPa, ε₀ = 2e-4, n = 0.3,
#: plane stress) at a 2.6 % stress error after 250 of 2000 iterations. A block that does not
#: improve clears the L-BFGS history, so the next starts from a steepest-descent step.
POLISH_PATIENCE = 3


def polish_subset(n: int, seed: int = 0) -> Tensor | None:
    """The fixed random subset (``POLISH_MAX_POINTS`` indices) :func:`polish` uses of n > that
    many training points; None when it uses them all."""
    if n <= POLISH_MAX_POINTS:
        return None
    gen = torch.Generator().manual_seed(int(seed) + 11)
    return torch.randperm(n, generator=gen)[:POLISH_MAX_POINTS]


def polish(
    model: torch.nn.Module,
    x_train: Tensor,
    y_train: Tensor,
    x_val: Tensor | None,
    y_val: Tensor | None,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    *,
    iterations: int = 500,
    seed: int = 0,
    val_loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> dict[str, Any]:
    """Full-batch L-BFGS (strong-Wolfe line search) after the mini-batch phase.

    Adam's mini-batch noise leaves the relative loss on a plateau (≈1e-4 for a power law over
    25 ε₀, i.e. ≈1 % stress error); a quasi-Newton method on the whole training set — at most
    ``POLISH_MAX_POINTS`` points, a fixed random subset beyond — goes on to the bottom of that
    basin. Runs ``iterations`` L-BFGS iterations in blocks of ``POLISH_BLOCK``; after each block
    the validation loss (training loss without a validation set) is checked: the best
    parameters are kept; a block that does not improve it clears the L-BFGS history, and the
    polish stops after ``POLISH_PATIENCE`` such blocks in a row or at a loss that is not finite. Returns losses before/after, iterations run, time [s].
    ``val_loss_fn``: the loss of the validation set when it differs from ``loss_fn`` (a loss
    with per-point weights, :func:`compliance_relative_mse`); default ``loss_fn``. A training
    set beyond ``POLISH_MAX_POINTS`` needs a loss without per-point weights.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    out: dict[str, Any] = {"method": "L-BFGS, full batch, strong-Wolfe line search", "iterations": 0,
                           "block": POLISH_BLOCK}
    if iterations < 1 or not params:
        return out
    n = x_train.shape[0]
    val_loss_fn = val_loss_fn or loss_fn
    idx = polish_subset(n, seed)
    if idx is not None:
        idx = idx.to(x_train.device)
        x_train, y_train = x_train[idx], y_train[idx]
    has_val = x_val is not None and x_val.shape[0] > 0

    def losses() -> tuple[float, float]:
        with torch.no_grad():
            tr = float(loss_fn(model(x_train), y_train))
            return tr, (float(val_loss_fn(model(x_val), y_val)) if has_val else tr)

    model.train()
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=POLISH_BLOCK, history_size=50,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-14, tolerance_change=1e-16)

    def closure() -> Tensor:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x_train), y_train)
        loss.backward()
        return loss

    t0 = time.perf_counter()
    out["train_loss_before"], out["val_loss_before"] = best_train, best = losses()
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    done = stale = restarts = 0
    blocks: list[list[float]] = []  # [iterations done, train loss, validation loss] after each block
    while done < iterations:
        opt.param_groups[0]["max_iter"] = min(POLISH_BLOCK, iterations - done)
        opt.step(closure)
        done += opt.param_groups[0]["max_iter"]
        train_loss, val_loss = losses()
        blocks.append([done, train_loss, val_loss])
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            break
        if val_loss < best:
            best, best_train, stale = val_loss, train_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            continue
        stale += 1
        if stale >= POLISH_PATIENCE:
            break
        opt.state.clear()  # a stalled quasi-Newton direction: start the history afresh
        restarts += 1
    model.load_state_dict(best_state)
    model.eval()
    out.update({"iterations": done, "restarts": restarts, "blocks": blocks, "train_loss_after": best_train, "val_loss_after": best,
                "time_s": time.perf_counter() - t0})
    return out


def scaled_mse(stress_scale: Tensor) -> Callable[[Tensor, Tensor], Tensor]:
    """L = mean(((pred − target) / s_σ)²)."""
    return lambda pred, target: (((pred - target) / stress_scale) ** 2).mean()


LOSSES = ("relative", "scaled_mse")
#: c0 = "auto" keeps the identified small-strain stiffness fixed below this fit residual
C0_FIXED_RESIDUAL = 1e-3
#: η² of the relative loss, relative to the mean squared scaled stress magnitude
RELATIVE_LOSS_FLOOR = 1e-10


def relative_mse(stress_scale: Tensor, mean_square: float) -> Callable[[Tensor, Tensor], Tensor]:
    """L = mean_n ‖(pred − target) ⊘ s_σ‖² / (‖target ⊘ s_σ‖² + η²), η² = 1e-10 · ``mean_square``."""
    eta2 = RELATIVE_LOSS_FLOOR * float(mean_square)

    def loss(pred: Tensor, target: Tensor) -> Tensor:
        t = target / stress_scale
        return ((((pred - target) / stress_scale) ** 2).sum(1) / ((t * t).sum(1) + eta2)).mean()

    return loss


#: polish norms of :func:`train`
POLISH_NORMS = ("compliance", "stress")
#: smallest eigenvalue of a tangent kept in the compliance metric, relative to its largest
COMPLIANCE_EIGEN_FLOOR = 1e-3


def compliance_metric(model: ConstitutiveModel, strain: Tensor) -> Tensor | None:
    """Per-point compliance M_n = C_n⁻¹ (N,3,3) [1/Pa] of the model's own tangent C_n = ∂σ/∂ε at
    strains (N,3), from the symmetric part's eigen-decomposition with eigenvalues floored at
    ``COMPLIANCE_EIGEN_FLOOR`` × the point's largest (a fit that is not convex at a point must
    not weigh it without bound). None when a tangent is not finite or has no positive eigenvalue."""
    with torch.no_grad():
        c = model.stress_and_tangent(strain)[1]
        c = 0.5 * (c + c.transpose(1, 2))
        if not bool(torch.isfinite(c).all()):
            return None
        lam, vec = torch.linalg.eigh(c)
        top = lam[:, -1:]
        if not bool((top > 0).all()):
            return None
        lam = torch.maximum(lam, COMPLIANCE_EIGEN_FLOOR * top)
        return (vec / lam[:, None, :]) @ vec.transpose(1, 2)


def compliance_relative_mse(metric: Tensor, strain_scale: Tensor) -> Callable[[Tensor, Tensor], Tensor]:
    """Relative error in the compliance norm — the strain error at the same stress:

        L = mean_n ‖M_n (σ̂_n − σ_n) ⊘ s_ε‖² / (‖M_n σ_n ⊘ s_ε‖² + η²),   η² = 1e-10 · mean_n ‖M_n σ_n ⊘ s_ε‖²

    with M_n = C_n⁻¹ (N,3,3) [1/Pa] (:func:`compliance_metric`) fixed for the points the loss
    is called on (their order). Under a prescribed load a stress error δσ moves the strain by
    δε = C⁻¹ δσ: where the material has softened (tangent ≪ secant: a power law with n = 0.3 at
    25 ε₀ has a shear tangent 0.3 × its secant) the same relative stress error gives a
    1/n-times larger strain — and displacement — error, and along the soft directions more
    than along the stiff (volumetric) ones. This loss weighs each point and direction so.
    """
    scale = strain_scale

    def loss(pred: Tensor, target: Tensor) -> Tensor:
        r = torch.einsum("nij,nj->ni", metric, pred - target) / scale
        t = torch.einsum("nij,nj->ni", metric, target) / scale
        t2 = (t * t).sum(1)
        return ((r * r).sum(1) / (t2 + RELATIVE_LOSS_FLOOR * t2.mean().detach())).mean()

    return loss


def compliance_polish(net: ConstitutiveModel, strain: np.ndarray, stress: np.ndarray, tr: np.ndarray,
                      va: np.ndarray, strain_scale: np.ndarray, as_t: Callable[[np.ndarray], Tensor],
                      iterations: int, seed: int) -> dict[str, Any]:
    """The second polish of :func:`train`: L-BFGS in the compliance norm
    (:func:`compliance_relative_mse`), the metric M_n = C_n⁻¹ from the tangent of the model the
    first (stress-norm) polish left, at the training points it uses and at the validation
    points. Returns :func:`polish`'s record with the loss text, or why it was skipped."""
    sub = polish_subset(len(tr), seed)
    tr = tr if sub is None else tr[sub.numpy()]
    m_tr = compliance_metric(net, as_t(strain[tr]))
    m_va = compliance_metric(net, as_t(strain[va])) if len(va) else None
    if m_tr is None or (len(va) and m_va is None):
        return {"iterations": 0, "skipped": "a tangent of the model is not finite or has no positive eigenvalue"}
    s_e = as_t(strain_scale)
    info = polish(net, as_t(strain[tr]), as_t(stress[tr]), as_t(strain[va]), as_t(stress[va]),
                  compliance_relative_mse(m_tr, s_e), iterations=iterations, seed=seed,
                  val_loss_fn=compliance_relative_mse(m_va, s_e) if m_va is not None else None)
    info["loss"] = ("mean(|M (sigma_pred - sigma)/s_eps|^2 / (|M sigma/s_eps|^2 + eta^2)), "
                    "M = inverse tangent of the model after the stress-norm polish")
    return info


def identify_small_strain_stiffness(strain: np.ndarray, stress: np.ndarray, fraction: float = 0.05,
                                    min_points: int = 24) -> tuple[np.ndarray, dict[str, Any]]:
    """C₀ (3,3) [Pa] with σ ≈ C₀ ε on the smallest-magnitude data, by least squares.

    Uses the ``fraction`` of points with the smallest |ε| (at least ``min_points``, at most
    all): C₀ = argmin Σ ‖C ε_n − σ_n‖², then symmetrised (hyperelastic). Returns C₀ and a
    description (points used, largest |ε| among them, relative residual of the fit).
    """
    from learned.dataset import strain_magnitude

    mag = strain_magnitude(strain)
    k = int(min(len(mag), max(min_points, round(fraction * len(mag)))))
    idx = np.argsort(mag)[:k]
    e, sg = strain[idx], stress[idx]
    # row-wise weights 1/|ε| so every point counts by its relative misfit
    w = 1.0 / np.maximum(mag[idx], 1e-300)
    sol, *_ = np.linalg.lstsq(e * w[:, None], sg * w[:, None], rcond=None)
    c0 = sol.T
    c0 = 0.5 * (c0 + c0.T)
    resid = float(np.linalg.norm((e @ c0.T - sg) * w[:, None]) / max(np.linalg.norm(sg * w[:, None]), 1e-300))
    return c0, {"points": k, "max_strain_magnitude": float(mag[idx].max()), "relative_residual": resid,
                "C0": c0.tolist()}


def data_region(strain: np.ndarray) -> dict[str, Any]:
    """The strain region a model was trained on: per-component [min, max] and |ε| range."""
    from learned.dataset import strain_magnitude

    mag = strain_magnitude(strain)
    return {"strain_min": strain.min(axis=0).tolist(), "strain_max": strain.max(axis=0).tolist(),
            "magnitude_min": float(mag.min()), "magnitude_max": float(mag.max()),
            "magnitude": "sqrt(exx^2 + eyy^2 + gxy^2)"}


def magnitude_bins(magnitude: np.ndarray, per_decade: int = 2) -> np.ndarray:
    """Log-spaced bin edges from the smallest non-zero to the largest |ε|, ``per_decade`` a decade."""
    m = magnitude[magnitude > 0]
    lo, hi = float(m.min()), float(m.max())
    n = max(1, int(math.ceil(per_decade * math.log10(hi / lo) - 1e-9)))
    edges = np.geomspace(lo, hi, n + 1)
    edges[0], edges[-1] = lo * (1 - 1e-12), hi * (1 + 1e-12)
    return edges


def magnitude_error_table(stress_and_tangent: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                          strain: np.ndarray, stress: np.ndarray, tangent: np.ndarray | None = None,
                          per_decade: int = 2, edges: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Error per strain-magnitude bin, relative to the local magnitude.

    For each log bin of |ε| (:func:`magnitude_bins`): n, stress error ‖σ̂ − σ‖/‖σ‖ over the
    bin's points (Frobenius norms), the largest pointwise |σ̂ − σ|/|σ|, and, if ``tangent``
    (N,3,3) is given, the same for the tangent (Frobenius norm of each 3×3 matrix).
    ``stress_and_tangent(strain)`` → (σ̂ (N,3), Ĉ (N,3,3)); ``edges``: given bin edges (to
    compare tables of several sets), else from ``strain``.
    """
    from learned.dataset import strain_magnitude

    mag = strain_magnitude(strain)
    edges = magnitude_bins(mag, per_decade) if edges is None else np.asarray(edges, dtype=float)
    s_hat, c_hat = stress_and_tangent(strain)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (mag >= lo) & (mag < hi)
        row: dict[str, Any] = {"strain_magnitude": [float(lo), float(hi)], "n": int(sel.sum())}
        if sel.any():
            ds, s = s_hat[sel] - stress[sel], stress[sel]
            row["stress_rel_error"] = float(np.linalg.norm(ds) / max(np.linalg.norm(s), 1e-300))
            row["stress_rel_error_max"] = float((np.linalg.norm(ds, axis=1)
                                                 / np.maximum(np.linalg.norm(s, axis=1), 1e-300)).max())
            if tangent is not None:
                dc, c = (c_hat[sel] - tangent[sel]).reshape(-1, 9), tangent[sel].reshape(-1, 9)
                row["tangent_rel_error"] = float(np.linalg.norm(dc) / max(np.linalg.norm(c), 1e-300))
                row["tangent_rel_error_max"] = float((np.linalg.norm(dc, axis=1)
                                                      / np.maximum(np.linalg.norm(c, axis=1), 1e-300)).max())
        rows.append(row)
    return rows


def model_stress_and_tangent(model: ConstitutiveModel, strain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """σ (N,3) and ∂σ/∂ε (N,3,3) with numpy in and out (float64)."""
    p = next(model.parameters())
    with torch.no_grad():
        s, c = model.stress_and_tangent(torch.as_tensor(strain, dtype=p.dtype, device=p.device))
    return s.double().cpu().numpy(), c.double().cpu().numpy()


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
    hidden: Sequence[int] | None = None,
    activation: str = "silu",
    val_fraction: float = 0.2,
    patience: int | None = 40,
    min_delta: float = 0.0,
    seed: int = 0,
    device: str = "auto",
    dtype: str = "float64",
    weight_decay: float = 0.0,
    threads: int | None = 1,
    loss: str = "relative",
    identify_c0: bool = True,
    c0: str = "auto",
    polish_iterations: int = DEFAULT_POLISH_ITERATIONS,
    polish_norm: str = "compliance",
    progress: Progress | None = None,
    **model_options: Any,
) -> tuple[Any, dict[str, Any]]:
    """Fit a network to a data set; returns ``(model, report)``.

    data   : HDF5 path (validated by :func:`load_dataset`), a data set, or (strain, stress)
    model  : "mlp" (σ = f_θ(ε)) or "icnn" (σ = ∂ψ_θ/∂ε, convex ψ); a joint data set trains a
             friction network instead (:func:`learned.neural_joint.train_joint`, model "mlp")
    hidden, activation (MLP only), **model_options (MLP: linear_part, default True; ICNN:
    quadratic, c0_floor): architecture; ``hidden`` None: :func:`default_hidden` (MLP on point
    data 48x48, ICNN and joint data 32x32; the same as ``deepmanifold train``)
    loss   : "relative" (default; relative to the local stress magnitude) | "scaled_mse"
    identify_c0: set the explicit linear part from the smallest-strain data before training
    c0     : "auto" (default) | "fixed" | "learnable" — whether training may move the MLP's
             identified linear part (ICNN: always learnable, its network adds curvature at 0).
             "auto" fixes it when the smallest-strain fit is linear to a relative residual
             ≤ C0_FIXED_RESIDUAL (clean data: the tangent at 0 then stays exact), else lets
             training refine it (noisy data)
    epochs, batch_size, lr, val_fraction, seed, weight_decay: optimisation (the ICNN, whose
    z-path weights are softplus-reparametrised, wants a larger lr, ≈ 1e-2–2e-2); early stopping after
    ``patience`` epochs without a relative validation-loss gain of ``min_delta``
    device : "auto" (CUDA if present) | "cpu" | "cuda";  dtype: "float64" (default: the
             relative loss resolves stresses 4+ decades below the largest) | "float32"
    threads: CPU threads while training (default 1, fastest for small batches; None = torch's)
    polish_iterations: full-batch L-BFGS iterations after Adam (:func:`polish`; 0: none)
    polish_norm: "compliance" (default: after the polish in the Adam phase's ``loss``, a second
             one of up to ``polish_iterations`` in the compliance norm — the relative strain
             error at the same stress, what a load-controlled solve sees —
             :func:`compliance_polish`) | "stress" (the first polish only)
    progress(info) is called after each epoch with epoch, epochs, train_loss, val_loss, ...

    The returned model is float64 on the CPU, ``model.meta`` holds plane and provenance; the
    report is JSON-serialisable (losses per epoch, best epoch, timings, device, metrics).
    """
    ds = as_dataset(data)
    if hidden is None:
        hidden = default_hidden(model, joint=isinstance(ds, JointDataset))
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
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if polish_norm not in POLISH_NORMS:
        raise ValueError(f"polish_norm must be one of {POLISH_NORMS}, got {polish_norm!r}")
    if c0 not in ("auto", "fixed", "learnable"):
        raise ValueError(f"c0 must be 'auto', 'fixed' or 'learnable', got {c0!r}")
    dev = resolve_device(device)
    tdtype = torch_dtype(dtype)
    tr, va = split_indices(len(ds), val_fraction, seed)
    strain_scale = ds.strain[tr].std(axis=0) + 1e-30
    stress_scale = ds.stress[tr].std(axis=0) + 1e-30
    config: dict[str, Any] = {"arch": model, "hidden": list(hidden), **model_options}
    if model == "mlp":
        config["activation"] = activation
        config.setdefault("linear_part", True)
    torch.manual_seed(seed)
    net = build_model(config, strain_scale, stress_scale).to(dtype=torch.float64)
    c0_info: dict[str, Any] | None = None
    if identify_c0 and (model == "mlp" and config["linear_part"] or
                        model == "icnn" and config.get("quadratic", "learnable") == "learnable"):
        c0_matrix, c0_info = identify_small_strain_stiffness(ds.strain[tr], ds.stress[tr])
        try:
            net.set_small_strain_stiffness(torch.as_tensor(c0_matrix))
            fixed = model == "mlp" and (c0 == "fixed" or c0 == "auto"
                                        and c0_info["relative_residual"] <= C0_FIXED_RESIDUAL)
            if fixed:
                net.linear.requires_grad_(False)
            c0_info["fixed"] = bool(fixed)
        except ValueError as exc:  # e.g. noisy data: C0 not SPD; keep the default initialisation
            c0_info["not_used"] = str(exc)
    net = net.to(device=dev, dtype=tdtype)
    region = data_region(ds.strain[tr])
    net.meta = {"plane": ds.plane, "provenance": ds.provenance, "data_region": region}
    as_t = lambda a: torch.as_tensor(a, dtype=tdtype, device=dev)  # noqa: E731
    if loss == "relative":
        loss_fn = relative_mse(as_t(stress_scale), float(((ds.stress[tr] / stress_scale) ** 2).sum(1).mean()))
        loss_text = "mean(|(sigma_pred - sigma)/s|^2 / (|sigma/s|^2 + eta^2)), eta^2 = 1e-10 mean(|sigma/s|^2)"
    else:
        loss_fn = scaled_mse(as_t(stress_scale))
        loss_text = "mean(((sigma_pred - sigma) / stress_scale)^2)"
    with cpu_threads(threads if dev.type == "cpu" else None):
        hist = fit(net, as_t(ds.strain[tr]), as_t(ds.stress[tr]), as_t(ds.strain[va]), as_t(ds.stress[va]),
                   loss_fn, epochs=epochs, batch_size=batch_size, lr=lr,
                   weight_decay=weight_decay, patience=patience, min_delta=min_delta, seed=seed,
                   progress=progress)
        polish_info = polish(net, as_t(ds.strain[tr]), as_t(ds.stress[tr]), as_t(ds.strain[va]),
                             as_t(ds.stress[va]), loss_fn, iterations=polish_iterations, seed=seed)
        if polish_norm == "compliance" and polish_iterations > 0:
            polish_info["compliance"] = compliance_polish(net, ds.strain, ds.stress, tr, va, strain_scale, as_t,
                                                          polish_iterations, seed)
    net = net.to(device="cpu", dtype=torch.float64).eval()
    metrics = {"train_rel_error": relative_error(lambda e: model_stress(net, e), ds.strain[tr], ds.stress[tr])}
    if len(va):
        metrics["val_rel_error"] = relative_error(lambda e: model_stress(net, e), ds.strain[va], ds.stress[va])
    evaluate = lambda e: model_stress_and_tangent(net, e)  # noqa: E731
    from learned.dataset import strain_magnitude

    tangent = ds.tangent
    edges = magnitude_bins(strain_magnitude(ds.strain))  # one set of bins for train and validation
    by_magnitude = {"train": magnitude_error_table(evaluate, ds.strain[tr], ds.stress[tr],
                                                   None if tangent is None else tangent[tr], edges=edges)}
    if len(va):
        by_magnitude["val"] = magnitude_error_table(evaluate, ds.strain[va], ds.stress[va],
                                                    None if tangent is None else tangent[va], edges=edges)
    for part, rows in by_magnitude.items():
        errs = [r["stress_rel_error"] for r in rows if "stress_rel_error" in r]
        metrics[f"{part}_worst_bin_stress_rel_error"] = max(errs)
        terrs = [r["tangent_rel_error"] for r in rows if "tangent_rel_error" in r]
        if terrs:
            metrics[f"{part}_worst_bin_tangent_rel_error"] = max(terrs)
    report = {
        "kind": "constitutive",
        "model": net.config,
        "plane": ds.plane,
        "n_train": int(len(tr)),
        "n_val": int(len(va)),
        "settings": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "patience": patience,
                     "min_delta": min_delta,
                     "val_fraction": val_fraction, "seed": seed, "weight_decay": weight_decay,
                     "dtype": dtype, "threads": threads, "loss_name": loss, "identify_c0": identify_c0, "c0": c0,
                     "polish_iterations": polish_iterations, "polish_norm": polish_norm, "loss": loss_text},
        "device": str(dev),
        "scaling": net.scaling(),
        **hist,
        "polish": polish_info,
        "metrics": metrics,
        "error_by_strain_magnitude": by_magnitude,
        "small_strain_stiffness": c0_info,
        "data_region": region,
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
