"""Timing of a NeuralLaw against the analytic law it learns (for benchmarks/, not a test).

``benchmark_evaluate()`` returns a JSON-ready dict of best-of-``repeats`` wall times [s] for
``law.evaluate(strain)`` (stress and tangent) at ``n`` points, numpy in/out and torch CPU
tensors, plus the ratios to PowerLawElastic in plane strain and plane stress. Untrained
networks of the given sizes suffice: the cost does not depend on the weights.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np
import torch

from learned.elastic import PowerLawElastic
from learned.models import ICNN, MLP
from learned.neural_law import NeuralLaw


def _best(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def benchmark_evaluate(n: int = 100_000, repeats: int = 5, hidden: Sequence[int] = (32, 32),
                       threads: int | None = 1, device: str = "cpu") -> dict[str, Any]:
    """Best-of-``repeats`` evaluate() times at ``n`` points; see the module docstring."""
    eps = np.random.default_rng(0).uniform(-2e-3, 2e-3, (n, 3))
    out: dict[str, Any] = {"n": n, "repeats": repeats, "hidden": list(hidden), "device": device,
                           "torch_threads": threads or torch.get_num_threads(), "times_s": {}}
    t = out["times_s"]
    for plane in ("strain", "stress"):
        law = PowerLawElastic(30e9, 0.25, 1e-3, 0.4, plane)
        t[f"power_law_plane_{plane}"] = _best(lambda: law.evaluate(eps), repeats)
    torch.manual_seed(0)
    for name, model in (("mlp", MLP(hidden, strain_scale=1e-3, stress_scale=3e7)),
                        ("icnn", ICNN(hidden, strain_scale=1e-3, stress_scale=3e7))):
        nl = NeuralLaw(model, device=device, threads=threads)
        x = torch.as_tensor(eps, device=nl.device)
        t[f"neural_{name}_numpy"] = _best(lambda: nl.evaluate(eps), repeats)
        t[f"neural_{name}_torch"] = _best(lambda: nl.evaluate(x), repeats)
    out["ratio_to_plane_strain"] = {k: v / t["power_law_plane_strain"] for k, v in t.items() if k.startswith("neural")}
    out["ratio_to_plane_stress"] = {k: v / t["power_law_plane_stress"] for k, v in t.items() if k.startswith("neural")}
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(benchmark_evaluate(), indent=2))
