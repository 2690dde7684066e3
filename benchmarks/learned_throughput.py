"""Law-evaluation throughput of learned constitutive laws: points per second, stress + tangent.

    python benchmarks/learned_throughput.py [--sizes 1e4 1e5 1e6 1e7] [--device auto|cpu|cuda] [--threads N]

For each model (the shipped ICNN of cases/learned_plate.toml and an MLP with the default
architecture of ``deepmanifold train``) and each batch size N: the median over ``--repeats``
calls of the wall time of one batched ``stress_and_tangent`` (σ (N,3) and C (N,3,3)) in
float64 (the :class:`learned.NeuralLaw` path a solver uses) and in float32 (the same model
cast), on the device asked for. Points/s = N / median time. A size whose inputs and outputs
would not fit in ``--max-memory-gb`` is skipped and recorded as such. The analytic power-law
law on numpy is measured alongside as the reference.

JSON: benchmarks/out/learned_throughput.json (device name, torch version, threads recorded).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from learned import PowerLawElastic  # noqa: E402
from learned.checkpoint import load_law  # noqa: E402
from learned.models import MLP  # noqa: E402
from learned.neural_law import NeuralLaw  # noqa: E402
from learned.training import resolve_device  # noqa: E402

TRUTH = dict(E=70e9, nu=0.33, strain0=1e-3, exponent=0.5, plane="stress")
#: bytes per point held at once: strain (3) + stress (3) + tangent (9) doubles, twice (in + copy)
BYTES_PER_POINT = 2 * 15 * 8


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, repeats: int, device: torch.device) -> float:
    fn()  # warm-up (allocations, kernels)
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=float, nargs="+", default=[1e4, 1e5, 1e6, 1e7])
    p.add_argument("--device", default="cpu", help="auto | cpu | cuda")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--max-memory-gb", type=float, default=4.0)
    p.add_argument("--max-seconds", type=float, default=600.0,
                   help="skip a size whose predicted time (from the previous size) exceeds this")
    p.add_argument("--out", default=str(HERE / "out" / "learned_throughput.json"))
    a = p.parse_args()
    device = resolve_device(a.device)
    if a.threads:
        torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    icnn = load_law(ROOT / "cases" / "models" / "power_law_plate_icnn.pt", device=str(device), threads=None)
    torch.manual_seed(0)
    mlp_model = MLP(hidden=(32, 32), linear_part=True, strain_scale=2e-3, stress_scale=1e8).double()
    mlp = NeuralLaw(mlp_model, "stress", device=str(device), threads=None)
    truth = PowerLawElastic(**TRUTH)
    result = {"benchmark": "learned_throughput", "device": str(device),
              "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
              "threads": torch.get_num_threads(), "torch_version": torch.__version__,
              "platform": platform.platform(), "repeats": a.repeats, "rows": []}
    seconds_per_point = 0.0
    for n_float in a.sizes:
        n = int(n_float)
        if n * BYTES_PER_POINT > a.max_memory_gb * 2**30:
            result["rows"].append({"points": n, "skipped": f"needs > {a.max_memory_gb} GB"})
            continue
        predicted = seconds_per_point * n * (a.repeats + 1)
        if predicted > a.max_seconds:
            result["rows"].append({"points": n, "skipped": f"predicted {predicted:.0f} s > --max-seconds {a.max_seconds:.0f}"})
            print(json.dumps(result["rows"][-1]), flush=True)
            continue
        t_start = time.perf_counter()
        strain = rng.uniform(-4e-3, 4e-3, (n, 3))
        x64 = torch.as_tensor(strain, device=device)
        row: dict = {"points": n}
        for name, law in (("icnn", icnn), ("mlp", mlp)):
            t64 = timed(lambda: law.stress_and_tangent(x64), a.repeats, device)
            model32 = law.model.float()
            x32 = x64.float()

            def f32() -> None:
                chunk = law.chunk_size or (1 << 18 if device.type == "cuda" else 4096)
                with torch.no_grad():
                    for s in range(0, n, chunk):
                        model32.stress_and_tangent(x32[s:s + chunk])

            t32 = timed(f32, a.repeats, device)
            law.model.double()
            row[name] = {"float64_s": t64, "float64_points_per_s": n / t64,
                         "float32_s": t32, "float32_points_per_s": n / t32}
        if n <= 1_000_000:
            ta = timed(lambda: truth.evaluate(strain), a.repeats, torch.device("cpu"))
            row["analytic_numpy"] = {"float64_s": ta, "float64_points_per_s": n / ta}
        seconds_per_point = (time.perf_counter() - t_start) / (n * (a.repeats + 1))
        print(json.dumps(row), flush=True)
        result["rows"].append(row)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
