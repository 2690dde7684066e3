"""Cost of one batched law call (σ, consistent tangent, state) for the elastoplastic laws.

    python benchmarks/plasticity_laws.py [--points 100000] [--repeats 5]

What a Newton iteration of the FEM pays per quadrature point for the law (issue 16,
acceptance: learned law ≤ 1.5 × the analytic law at ~1e5 points). The points are a
realistic mix: strains of a few yield strains and states from a random walk, so that about
half of the points return to the yield surface. Laws: linear elastic (reference floor),
J2 (closed-form radial return), Drucker–Prager (closest-point Newton, line search) and the
learned return-mapping law (torch, float64, CPU, 1 thread). Each repeat times every law
once, alternating; the result is the median time per call and the ratios to J2 measured in
the same run (design.md §7).

Writes benchmarks/out/plasticity_laws.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from learned import LinearElastic  # noqa: E402
from learned.plasticity import DruckerPrager, J2Plasticity  # noqa: E402


def _walk_state(law, n: int, scale: float, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    strain = np.zeros((n, 3))
    state = law.initial_state(n)
    for _ in range(steps):
        strain = strain + rng.normal(size=(n, 3)) * scale
        state = np.asarray(law.evaluate(strain, state).state)
    return strain + rng.normal(size=(n, 3)) * scale, state


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from learned.plastic_model import LearnedPlasticLaw, ReturnMappingModel

    n = args.points
    j2 = J2Plasticity(200e9, 0.3, 250e6, 10e9)
    D = np.array([[2 / 3, -1 / 3, -1 / 3, 0], [-1 / 3, 2 / 3, -1 / 3, 0], [-1 / 3, -1 / 3, 2 / 3, 0], [0, 0, 0, 2.0]])
    m = ReturnMappingModel(j2._C4, 250e6, hardening=10e9, yield_matrix=1.5 * D)  # n = 4, plane strain
    laws = {
        "linear_elastic": (LinearElastic(200e9, 0.3), 250e6 / 200e9),
        "j2_plasticity": (j2, 250e6 / 200e9),
        "drucker_prager": (DruckerPrager(1e9, 0.25, 1e6, 30.0, hardening=1e8), 1e6 / 1e9),
        "learned_return_mapping": (LearnedPlasticLaw(m), 250e6 / 200e9),
    }
    inputs = {}
    for name, (law, s) in laws.items():
        if law.n_state:
            inputs[name] = _walk_state(law, n, 0.7 * s, 4, seed=1)
        else:
            inputs[name] = (np.random.default_rng(1).normal(size=(n, 3)) * s, None)
    times: dict[str, list[float]] = {k: [] for k in laws}
    plastic = {}
    for _ in range(args.repeats):
        for name, (law, _) in laws.items():
            strain, state = inputs[name]
            t0 = time.perf_counter()
            r = law.evaluate(strain, state)
            times[name].append(time.perf_counter() - t0)
            if state is not None:
                plastic[name] = float((np.abs(np.asarray(r.state) - state).max(1) > 0).mean())
    med = {k: float(np.median(v)) for k, v in times.items()}
    out = {
        "points": n,
        "repeats": args.repeats,
        "median_time_per_call_s": med,
        "time_per_point_us": {k: 1e6 * v / n for k, v in med.items()},
        "ratio_to_j2": {k: v / med["j2_plasticity"] for k, v in med.items()},
        "plastic_fraction": plastic,
        "machine": {"python": platform.python_version(), "processor": platform.processor(), "torch_threads": 1},
    }
    path = Path(__file__).resolve().parent / "out" / "plasticity_laws.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
