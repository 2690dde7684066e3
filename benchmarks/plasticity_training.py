"""Accuracy of the learned return-mapping law trained on strain paths (issue 16, item 3).

    python benchmarks/plasticity_training.py [--cases j2_n4 j2_n3 dp_n4 dp_n4_iso] [--paths 40] [--steps 25]
                                             [--epochs 30] [--noise 0.0] [--lbfgs 0]
                                             [--method regression|projection|both] [--outer-iterations 4]

For each case: generate mixed paths (monotonic, load–unload–reload, cyclic, random walk)
from the reference law (seed 1), train the model (learned.plastic_model.train_return_mapping,
20 % of the paths for validation, 1 CPU thread), then run the learned law on 40 new paths
(seed 99) and report the relative stress error ‖σ_learned − σ_ref‖ / ‖σ_ref‖ on training,
validation and new paths, the hardening modulus found, the epochs and the wall time.

Cases: ``j2_n4`` / ``j2_n3`` — J2 (E 200 GPa, ν 0.3, σ_y 250 MPa, H 10 GPa), strain
half-width 4e-3, model with 4 components (σ_zz) or 3; ``dp_n4`` — Drucker–Prager (E 1 GPa,
ν 0.25, c 1 MPa, φ 30°, H 0.1 GPa), half-width 8e-3.

``--method projection`` trains by fixed-point projection on the paths
(learned.projection_training.train_projection_paths: the same warm start, then
``--outer-iterations`` projections with history and refits; docs/plasticity.md); ``both`` runs
regression and projection on the same data. Keys get a ``_projection`` suffix.

Adds its entries (keyed by case, noise, data size, epochs) to
benchmarks/out/plasticity_training.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASES = {
    "j2_n4": ("j2", 4, 4e-3),
    "j2_n3": ("j2", 3, 4e-3),
    "dp_n4": ("dp", 4, 8e-3),
    "dp_n4_iso": ("dp", 4, 8e-3),  # isotropic yield surface (q, p only)
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", nargs="+", default=["j2_n4"], choices=list(CASES))
    ap.add_argument("--paths", type=int, default=40)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=2e-2)
    ap.add_argument("--noise", type=float, default=0.0, help="relative noise on strain and stress")
    ap.add_argument("--lbfgs", type=int, default=0, help="L-BFGS iterations after Adam (0: Adam only, as first measured)")
    ap.add_argument("--method", choices=["regression", "projection", "both"], default="regression")
    ap.add_argument("--outer-iterations", type=int, default=4, help="--method projection: outer iterations")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from learned.paths import generate_path_dataset, run_paths
    from learned.plastic_model import LearnedPlasticLaw, train_return_mapping
    from learned.plasticity import DruckerPrager, J2Plasticity
    from learned.projection_training import train_projection_paths

    methods = ["regression", "projection"] if args.method == "both" else [args.method]
    results = {}
    for name, method in ((n, m) for n in args.cases for m in methods):
        kind, n, half = CASES[name]
        law = J2Plasticity(200e9, 0.3, 250e6, 10e9) if kind == "j2" else DruckerPrager(1e9, 0.25, 1e6, 30.0, hardening=1e8)
        data = generate_path_dataset(law, args.paths, args.steps, "mixed", half, args.noise, args.noise, seed=1)
        t0 = time.perf_counter()
        if method == "projection":
            if n != 4:
                raise SystemExit("--method projection: the 4-component cases only")
            model, report = train_projection_paths(data, epochs=args.epochs, lr=args.lr, lbfgs_iterations=args.lbfgs,
                                                   isotropic=name.endswith("_iso"),
                                                   outer_iterations=args.outer_iterations)
            report["metrics"] = {"train_rel_error": report["metrics"]["train_rel_error_vs_observations"],
                                 "val_rel_error": report["metrics"]["val_rel_error_vs_observations"]}
            report["epochs_run"] = report["warm_start"]["epochs_run"]
        else:
            model, report = train_return_mapping(data, epochs=args.epochs, lr=args.lr, components=n,
                                                 lbfgs_iterations=args.lbfgs, isotropic=name.endswith("_iso"))
        wall = time.perf_counter() - t0
        new = generate_path_dataset(law, 40, args.steps, "mixed", half, seed=99)
        stress, _ = run_paths(LearnedPlasticLaw(model), new.strain)
        key = f"{name}_noise{args.noise:g}_paths{args.paths}x{args.steps}_epochs{args.epochs}"
        if args.lbfgs:
            key += f"_lbfgs{args.lbfgs}"
        if method == "projection":
            key += "_projection"
        results[key] = {
            "train_rel_error": report["metrics"]["train_rel_error"],
            "val_rel_error": report["metrics"]["val_rel_error"],
            "new_paths_rel_error": float(np.linalg.norm(stress - new.stress) / np.linalg.norm(new.stress)),
            "hardening_found_Pa": report["parameters"]["hardening"],
            "hardening_true_Pa": law.H,
            "epochs_run": report["epochs_run"],
            "train_time_s": wall,
            "samples": int(args.paths * args.steps),
            "method": method,
        }
        if method == "projection":
            results[key]["projection_history"] = report["history"]
        print(key, json.dumps(results[key]))
    path = Path(__file__).resolve().parent / "out" / "plasticity_training.json"
    path.parent.mkdir(exist_ok=True)
    old = json.loads(path.read_text()) if path.is_file() else {}
    old.update(results)  # one entry per case / noise / data size / epochs, kept across runs
    path.write_text(json.dumps(old, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
