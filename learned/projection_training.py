"""Fixed-point projection training: an errors-in-variables fit for noise in strain *and* stress.

Plain regression treats the measured strain as exact; noise on ε then biases f_θ (the fit is
flattened: regression dilution). Here the manifold is fitted by minimising the sum of metric
distances of the observations z_n = (ε_n, σ_n) to M_θ = {(e, f_θ(e))}:

    J(θ, e) = Σ_n ½ ‖ε_n − e_n‖²_C + ½ ‖σ_n − f_θ(e_n)‖²_C⁻¹

by alternating (block coordinate descent, each step lowers J):

  (i)  projection: e_n* = argmin_e J (batched Gauss–Newton, :func:`learned.projection.project`)
  (ii) manifold update: θ ← argmin_θ Σ ½ ‖σ_n − f_θ(e_n*)‖²_C⁻¹ (a few Adam epochs)

until the projections stop moving, ‖e*_k − e*_{k−1}‖ / ‖e*_k‖ < tol. C is a fixed numerical
stiffness (default: the warm-start model's tangent at ε = 0); the warm start is plain
regression (:func:`learned.training.train`). C balances the two error terms: it is the
maximum-likelihood weighting when the stress noise ≈ C × strain noise.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Sequence

import numpy as np
import torch

from learned.models import ConstitutiveModel
from learned.neural_law import NeuralLaw
from learned.projection import project
from learned.training import (
    OTHER_HIDDEN,
    DataLike,
    Progress,
    as_dataset,
    cpu_threads,
    fit,
    model_stress,
    relative_error,
    resolve_device,
    split_indices,
    torch_dtype,
    train,
)


def train_projection(
    data: DataLike,
    model: str | ConstitutiveModel = "mlp",
    *,
    C: np.ndarray | None = None,
    outer_iterations: int = 8,
    epochs_per_iteration: int = 40,
    tol: float = 1e-3,
    epochs: int = 300,
    batch_size: int = 128,
    lr: float = 5e-3,
    refine_lr: float | None = None,
    hidden: Sequence[int] = OTHER_HIDDEN,
    activation: str = "silu",
    val_fraction: float = 0.2,
    patience: int | None = 40,
    seed: int = 0,
    device: str = "auto",
    dtype: str = "float32",
    threads: int | None = 1,
    progress: Progress | None = None,
    **model_options: Any,
) -> tuple[ConstitutiveModel, dict[str, Any]]:
    """Fit a manifold to noisy (ε, σ) data by alternating projection and regression.

    model : "mlp" | "icnn" (warm-started by plain regression with ``epochs``, ``lr``, ...)
            or an already trained model (its copy is refined).
    C     : metric stiffness (3,3) [Pa]; default the warm-start model's reference stiffness
    outer_iterations, tol : fixed-point iterations and the stop on the relative change of e*
    epochs_per_iteration, refine_lr (default lr/3) : the θ-update per outer iteration
    Returns ``(model, report)``; the report holds the warm-start report and, per outer
    iteration, the change of the projections and the mean objective (train and validation).
    """
    ds = as_dataset(data)
    dev = resolve_device(device)
    tdtype = torch_dtype(dtype)
    t0 = time.perf_counter()
    warm_report: dict[str, Any] | None = None
    if isinstance(model, ConstitutiveModel):
        net = copy.deepcopy(model)
    else:
        net, warm_report = train(ds, model, epochs=epochs, batch_size=batch_size, lr=lr, hidden=hidden,
                                 activation=activation, val_fraction=val_fraction, patience=patience,
                                 seed=seed, device=device, dtype=dtype, threads=threads, progress=progress,
                                 polish_iterations=0, **model_options)
    net = net.to(device=dev, dtype=tdtype)
    net.meta = {**net.meta, "plane": ds.plane, "provenance": ds.provenance}
    tr, va = split_indices(len(ds), val_fraction, seed)
    if C is None:
        C = NeuralLaw(net, ds.plane, device="cpu").reference_stiffness()
    C = np.asarray(C, dtype=float)
    C_inv = np.linalg.inv(C)
    # loss scale: mean σᵀC⁻¹σ of the observations, so the loss is a relative squared distance
    norm = float(np.mean(((ds.stress @ C_inv) * ds.stress).sum(1)))
    Ci_t = torch.as_tensor(C_inv / norm, dtype=tdtype, device=dev)

    def loss_fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        r = target - pred
        return 0.5 * ((r @ Ci_t) * r).sum(1).mean()

    def objective(idx: np.ndarray, e: np.ndarray, f: np.ndarray) -> float | None:
        if len(idx) == 0:
            return None
        de, ds_ = ds.strain[idx] - e[idx], ds.stress[idx] - f[idx]
        return float(0.5 * np.mean(((de @ C) * de).sum(1) + ((ds_ @ C_inv) * ds_).sum(1)) / norm)

    as_t = lambda a: torch.as_tensor(a, dtype=tdtype, device=dev)  # noqa: E731
    history: list[dict[str, Any]] = []
    e_prev = ds.strain
    converged = False
    for k in range(1, outer_iterations + 1):
        law = NeuralLaw(net, ds.plane, device=str(dev))
        with cpu_threads(threads if dev.type == "cpu" else None):
            proj = project(law, ds.strain, ds.stress, C)
        e_star = np.asarray(proj.strain)
        change = float(np.linalg.norm(e_star - e_prev) / max(np.linalg.norm(e_star), 1e-300))
        entry = {"iteration": k, "projection_change": change, "projection_iterations": proj.iterations,
                 "objective_train": objective(tr, e_star, np.asarray(proj.stress)),
                 "objective_val": objective(va, e_star, np.asarray(proj.stress))}
        e_prev = e_star
        if change < tol:
            converged = True
            history.append(entry)
            break
        with cpu_threads(threads if dev.type == "cpu" else None):
            hist = fit(net, as_t(e_star[tr]), as_t(ds.stress[tr]), as_t(e_star[va]) if len(va) else None,
                       as_t(ds.stress[va]) if len(va) else None, loss_fn, epochs=epochs_per_iteration,
                       batch_size=batch_size, lr=refine_lr or lr / 3, patience=patience, seed=seed + k)
        entry.update({"epochs_run": hist["epochs_run"], "fit_val_loss": hist["best_val_loss"]})
        history.append(entry)
        if progress is not None:
            progress({"phase": "projection", **entry})
    net = net.to(device="cpu", dtype=torch.float64).eval()
    report: dict[str, Any] = {
        "kind": "constitutive",
        "method": "fixed-point projection (errors-in-variables)",
        "model": net.config,
        "plane": ds.plane,
        "metric_C": C.tolist(),
        "converged": converged,
        "outer_iterations": len(history),
        "history": history,
        "settings": {"outer_iterations": outer_iterations, "epochs_per_iteration": epochs_per_iteration,
                     "tol": tol, "refine_lr": refine_lr or lr / 3, "batch_size": batch_size, "seed": seed,
                     "dtype": dtype},
        "device": str(dev),
        "scaling": net.scaling(),
        "warm_start": warm_report,
        "metrics": {"train_rel_error_vs_observations":
                    relative_error(lambda e: model_stress(net, e), ds.strain[tr], ds.stress[tr])},
        "time_s": time.perf_counter() - t0,
        "data": {"path": ds.path, "provenance": ds.provenance},
        "torch_version": str(torch.__version__),
    }
    if warm_report:
        report["train_loss"], report["val_loss"] = warm_report["train_loss"], warm_report["val_loss"]
        report["best_epoch"] = warm_report["best_epoch"]
    return net, report


def train_projection_paths(
    data: Any,
    *,
    C: np.ndarray | None = None,
    outer_iterations: int = 4,
    epochs_per_iteration: int = 20,
    lbfgs_per_iteration: int = 20,
    tol: float = 1e-3,
    epochs: int = 200,
    lr: float = 2e-2,
    refine_lr: float | None = None,
    lbfgs_iterations: int = 60,
    val_fraction: float = 0.2,
    patience: int = 50,
    seed: int = 0,
    threads: int | None = 1,
    isotropic: bool = False,
    yield_form: str = "additive",
    progress: Progress | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Fixed-point projection training on strain paths: a law with state fitted to noisy (ε, σ) histories.

    The path analogue of :func:`train_projection` for the learned return-mapping law
    (:class:`learned.plastic_model.ReturnMappingModel`, state q = (εᵖ, α)). The manifold of
    step k of path p depends on the state committed at step k − 1:
    M_θ(q_{p,k−1}) = {(e, σ_θ(e; q_{p,k−1}))}. With the fixed metric C [Pa] the objective is

        J(θ, e) = Σ_p Σ_k ½ ‖ε_pk − e_pk‖²_C + ½ ‖σ_pk − σ_θ(e_pk; q_{p,k−1}(θ, e_p,<k))‖²_C⁻¹

    and the training alternates

      (i)  projection along every path (:func:`learned.projection.project_paths`): at step k
           e_pk* = argmin_e J_pk with q_{p,k−1} held fixed; only after that step has converged
           is the state committed, q_pk = q_θ(e_pk*; q_{p,k−1}) — the method's fixed-point
           update, as in the data-driven solver with history;
      (ii) manifold update: θ ← argmin_θ Σ ½ ‖σ_pk − σ_θ(e_pk*; q_{p,k−1}(θ))‖²_C⁻¹, the
           model driven along the projected paths e* from the virgin state (back-propagation
           through the return mappings, :func:`learned.plastic_model.train_return_mapping`
           started from the current θ: ``epochs_per_iteration`` Adam epochs at ``refine_lr``
           (default lr/4) and ``lbfgs_per_iteration`` L-BFGS iterations, kept only where the
           validation paths improve),

    until ‖e*_k − e*_{k−1}‖ / ‖e*_k‖ < ``tol`` or ``outer_iterations``. The warm start is
    plain path regression (train_return_mapping on the measured strains with ``epochs``,
    ``lr``, ``lbfgs_iterations``); C defaults to its in-plane stiffness at ε = 0 (the
    maximum-likelihood weighting when the stress noise ≈ C × the strain noise). Measured
    strain noise enters plain regression as input noise, which the model's state integrates
    along the path; the projection replaces the measured strains by the closest admissible
    history. Losses are scaled by the mean σᵀC⁻¹σ of the data. Returns ``(model, report)``.
    """
    from learned.paths import PathDataset
    from learned.plastic_model import LearnedPlasticLaw, train_return_mapping
    from learned.projection import project_paths

    if not isinstance(data, PathDataset):
        raise ValueError("path projection training needs a path data set (learned.paths.PathDataset)")
    t0 = time.perf_counter()
    common = dict(val_fraction=val_fraction, seed=seed, patience=patience, threads=threads)
    net, warm = train_return_mapping(data, epochs=epochs, lr=lr, lbfgs_iterations=lbfgs_iterations,
                                     isotropic=isotropic, yield_form=yield_form, progress=progress, **common)
    if C is None:
        C = LearnedPlasticLaw(net, data.plane).reference_stiffness()
    C = 0.5 * (np.asarray(C, dtype=float) + np.asarray(C, dtype=float).T)
    C_inv = np.linalg.inv(C)
    eps, sig = np.asarray(data.strain, dtype=float), np.asarray(data.stress, dtype=float)
    norm = float(np.mean(np.einsum("pki,ij,pkj->pk", sig, C_inv, sig)))
    order = np.random.default_rng(seed).permutation(data.n_paths)  # the split of train_return_mapping
    n_val = int(round(val_fraction * data.n_paths)) if val_fraction > 0 else 0
    val, tr = order[:n_val], order[n_val:]

    def objective(idx: np.ndarray, e: np.ndarray, f: np.ndarray) -> float | None:
        if len(idx) == 0:
            return None
        de, ds_ = eps[idx] - e[idx], sig[idx] - f[idx]
        return float(0.5 * np.mean(np.einsum("pki,ij,pkj->pk", de, C, de)
                                   + np.einsum("pki,ij,pkj->pk", ds_, C_inv, ds_)) / norm)

    history: list[dict[str, Any]] = []
    e_prev, converged = eps, False
    with cpu_threads(threads):
        for k in range(1, outer_iterations + 1):
            with torch.no_grad():
                proj = project_paths(LearnedPlasticLaw(net, data.plane), eps, sig, C)
            change = float(np.linalg.norm(proj.strain - e_prev) / max(np.linalg.norm(proj.strain), 1e-300))
            entry: dict[str, Any] = {
                "iteration": k, "projection_change": change,
                "projection_iterations_max": int(proj.iterations.max()), "projection_converged": proj.converged,
                "objective_train": objective(tr, proj.strain, proj.stress),
                "objective_val": objective(val, proj.strain, proj.stress)}
            e_prev = proj.strain
            if change < tol:
                converged = True
                history.append(entry)
                break
            net, rep = train_return_mapping(data, epochs=epochs_per_iteration, lr=refine_lr or lr / 4,
                                            lbfgs_iterations=lbfgs_per_iteration, model=net,
                                            input_strain=proj.strain, stress_metric=C_inv / norm, **common)
            entry.update({"epochs_run": rep["epochs_run"], "lbfgs_evaluations": rep["lbfgs_evaluations"],
                          "fit_val_loss": rep["metrics"]["best_val_loss"]})
            history.append(entry)
            if progress is not None:
                progress({"phase": "projection", **entry})
    with torch.no_grad():
        pred = net.run_paths(torch.as_tensor(eps)).numpy()  # driven along the measured strains

    def rel(idx: np.ndarray) -> float:
        if len(idx) == 0:
            return float("nan")
        return float(np.linalg.norm(pred[idx] - sig[idx]) / np.linalg.norm(sig[idx]))

    report: dict[str, Any] = {
        "kind": "constitutive",
        "method": "fixed-point projection on paths (errors-in-variables, state committed at convergence)",
        "model": net.config,
        "plane": data.plane,
        "metric_C": C.tolist(),
        "converged": converged,
        "outer_iterations": len(history),
        "history": history,
        "settings": {"outer_iterations": outer_iterations, "epochs_per_iteration": epochs_per_iteration,
                     "lbfgs_per_iteration": lbfgs_per_iteration, "tol": tol, "refine_lr": refine_lr or lr / 4,
                     "seed": seed},
        "warm_start": {k: v for k, v in warm.items() if k not in ("history",)},
        "train_loss": warm["train_loss"], "val_loss": warm["val_loss"], "best_epoch": warm["best_epoch"],
        "metrics": {"train_rel_error_vs_observations": rel(tr), "val_rel_error_vs_observations": rel(val)},
        "parameters": {"stiffness": net.stiffness().detach().tolist(),
                       "hardening": float(net.hardening().detach()),
                       "yield_matrix": net.yield_matrix().detach().tolist(),
                       "yield_linear": net.yield_linear().detach().tolist(), "stress_scale": float(net.s)},
        "data": {"paths": data.n_paths, "steps": data.n_steps, "path": data.path, "provenance": data.provenance},
        "time_s": time.perf_counter() - t0,
    }
    return net, report
