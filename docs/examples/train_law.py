"""Training: learn a constitutive law σ = f_θ(ε) from generated data, save it, use it as a law.

Data: 3000 samples of the power-law elastic material of `cases/learned_plate.toml`
(E = 70 GPa, ν = 0.33, ε₀ = 1e-3, n = 0.5, plane stress), log-uniform in strain magnitude
up to 6e-3 (noise-free; `deepmanifold data generate --noise-stress` adds noise). Model: the default MLP (48×48, SiLU; `learned.training_defaults`) with the small-strain
stiffness C₀ identified from the data as its exact linear part, relative loss, a short
training (60 epochs, then the default full-batch L-BFGS polish). The checkpoint is loaded back as a `ConstitutiveLaw` — usable in any
solver — and compared with the true law along the strain path ε = t (1, −0.33, 0) (uniaxial
stress for the linear law; the figure plots σ_xx against ε_xx).

    python docs/examples/train_law.py [--figures DIR]          (~20 s)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from learned import PowerLawElastic
from learned.checkpoint import load_law, save_checkpoint
from learned.dataset import generate_dataset
from learned.training import train


def figure_dir() -> Path:
    """--figures DIR, else $DEEPMANIFOLD_FIGURES, else docs/examples/figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--figures", default=os.environ.get("DEEPMANIFOLD_FIGURES", Path(__file__).parent / "figures"))
    d = Path(p.parse_args().figures)
    d.mkdir(parents=True, exist_ok=True)
    return d


def main() -> None:
    out = figure_dir()
    truth = PowerLawElastic(E=70e9, nu=0.33, strain0=1e-3, exponent=0.5, plane="stress")
    data = generate_dataset(truth, 3000, strain_range=6e-3, seed=3, sampler="log")
    model, report = train(data, "mlp", epochs=60, batch_size=256, lr=1e-2, seed=0)
    path = save_checkpoint(out / "runs" / "power_law_mlp.pt", model, report)
    law = load_law(path, device="cpu")                        # a ConstitutiveLaw

    t = np.linspace(0.0, 5e-3, 101)[:, None]
    path_strain = t * np.array([[1.0, -0.33, 0.0]])           # (101, 3): εxx, εyy, γxy
    s_true = np.asarray(truth.evaluate(path_strain).stress)   # (101, 3) Pa
    s_net = np.asarray(law.evaluate(path_strain).stress)
    err = float(np.abs(s_net - s_true).max() / np.abs(s_true).max())
    print(f"result epochs_run = {len(report['train_loss']) if 'train_loss' in report else report.get('epochs', 0)}")
    print(f"result path_stress_error = {err:.3e}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.4), dpi=100)
    a1.plot(1e3 * t[:, 0], s_true[:, 0] / 1e6, "k-", lw=3, alpha=0.3, label="true power law")
    a1.plot(1e3 * t[:, 0], s_net[:, 0] / 1e6, "C0--", label="learned (MLP)")
    a1.plot(1e3 * t[:, 0], 70e9 / (1 - 0.33**2) * (t[:, 0] - 0.33 * 0.33 * t[:, 0]) / 1e6, "C7:", label="linear, E = 70 GPa")
    a1.set(xlabel="ε_xx [1e-3]", ylabel="σ_xx [MPa]", title=f"path ε = t (1, −0.33, 0): max error {100 * err:.1f} %")
    a1.legend(fontsize=8)
    losses = report.get("train_loss") or report.get("losses", {}).get("train", [])
    val = report.get("val_loss") or report.get("losses", {}).get("val", [])
    if losses:
        a2.semilogy(losses, label="training")
    if val:
        a2.semilogy(val, label="validation")
    a2.set(xlabel="epoch", ylabel="relative loss", title="training history")
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "train_law.png")
    print(f"figure {out / 'train_law.png'}")


if __name__ == "__main__":
    main()
