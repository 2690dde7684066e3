"""Law-evaluation throughput of learned constitutive laws: points per second, stress + tangent.

    python benchmarks/learned_throughput.py [--sizes 1e4 1e5 1e6 1e7] [--device auto|cpu|cuda] [--threads N]

For each model (the shipped ICNN of cases/learned_plate.toml, an MLP with the default
architecture of ``deepmanifold train`` (``MLP_HIDDEN``, 48x48) and one with its former default, 32x32) and each batch size N: the median over ``--repeats``
calls of the wall time of one batched ``stress_and_tangent`` (σ (N,3) and C (N,3,3)) in
float64 (the :class:`learned.NeuralLaw` path a solver uses) and in float32 (the same model
cast), on the device asked for. Points/s = N / median time. The process's CPU time is
recorded beside the wall time (on a shared, loaded machine the wall time also counts waiting).

Memory stays bounded: a size above ``--block`` points (default 1e6) is streamed as
consecutive calls on blocks of ``--block`` points (one block of strains drawn once and
evaluated again for every block; σ and C of a block dropped before the next), so 1e7 points
hold ~1e6 points' arrays at a time; such a size is timed
``--repeats-large`` times (default 1) after the smaller sizes have warmed up. A block whose
arrays would not fit in ``--max-memory-gb`` is skipped and recorded as such. The analytic
power-law law on numpy is measured alongside as the reference, up to ``--block`` points.

JSON: benchmarks/out/learned_throughput.json (device name, torch version, threads recorded).
"""

from __future__ import annotations

import argparse
import json
import os
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
from learned.training import cpu_threads, resolve_device  # noqa: E402

TRUTH = dict(E=70e9, nu=0.33, strain0=1e-3, exponent=0.5, plane="stress")
#: bytes per point held at once: strain (3) + stress (3) + tangent (9) doubles, twice (in + copy)
BYTES_PER_POINT = 2 * 15 * 8


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, repeats: int, device: torch.device, warm_up: bool = True) -> tuple[float, float]:
    """Median wall time [s] and median process CPU time [s] of ``repeats`` calls of ``fn``."""
    if warm_up:
        fn()  # allocations, kernels
        _sync(device)
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        _sync(device)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (platform.processor() says only the architecture)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=float, nargs="+", default=[1e4, 1e5, 1e6, 1e7])
    p.add_argument("--device", default="cpu", help="auto | cpu | cuda")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--block", type=float, default=1e6, help="points held at once; larger sizes are streamed")
    p.add_argument("--repeats-large", type=int, default=1, help="timed calls of a streamed size")
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
    from learned.training_defaults import MLP_HIDDEN, OTHER_HIDDEN

    def mlp_law(hidden) -> NeuralLaw:
        torch.manual_seed(0)
        model = MLP(hidden=hidden, linear_part=True, strain_scale=2e-3, stress_scale=1e8).double()
        return NeuralLaw(model, "stress", device=str(device), threads=None)

    # "mlp": the architecture of ``deepmanifold train`` with its defaults; "mlp_32x32": the
    # former default (still that of --model icnn, joint data and --projection)
    models = {"icnn": icnn, "mlp": mlp_law(MLP_HIDDEN), "mlp_32x32": mlp_law(OTHER_HIDDEN)}
    truth = PowerLawElastic(**TRUTH)
    block = int(a.block)
    result = {"benchmark": "learned_throughput", "device": str(device),
              "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
              "cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg(),
              "cuda_available": torch.cuda.is_available(),
              "gpu_note": "no GPU was lent to this task: CPU figures only" if device.type != "cuda" else None,
              "threads": torch.get_num_threads(), "torch_version": torch.__version__,
              "models": {name: law.model.config for name, law in models.items()},
              "platform": platform.platform(), "repeats": a.repeats, "block_points": block,
              "repeats_large": a.repeats_large, "rows": []}
    seconds_per_point = 0.0
    for n_float in a.sizes:
        n = int(n_float)
        held = min(n, block)
        if held * BYTES_PER_POINT > a.max_memory_gb * 2**30:
            result["rows"].append({"points": n, "skipped": f"needs > {a.max_memory_gb} GB"})
            continue
        streamed = n > block
        repeats = a.repeats_large if streamed else a.repeats
        predicted = seconds_per_point * n * (repeats + (0 if streamed else 1))
        if predicted > a.max_seconds:
            result["rows"].append({"points": n, "skipped": f"predicted {predicted:.0f} s > --max-seconds {a.max_seconds:.0f}"})
            print(json.dumps(result["rows"][-1]), flush=True)
            continue
        t_start = time.perf_counter()
        row: dict = {"points": n, "points_held": held, "repeats": repeats}
        sizes = [min(block, n - s) for s in range(0, n, block)]
        strain = rng.uniform(-4e-3, 4e-3, (held, 3))
        x64 = torch.as_tensor(strain, device=device)
        for name, law in models.items():
            for dtype in (torch.float64, torch.float32):
                model = law.model.to(dtype)
                chunk = law.chunk_size or (1 << 18 if device.type == "cuda" else 4096)

                def run(x: torch.Tensor) -> None:
                    if dtype == torch.float64:  # the NeuralLaw path a solver uses
                        law.stress_and_tangent(x)
                        return
                    with torch.no_grad(), cpu_threads(law.threads if x.device.type == "cpu" else None):
                        for s in range(0, x.shape[0], chunk):
                            model.stress_and_tangent(x[s:s + chunk])

                x = x64.to(dtype)
                if streamed:
                    def call() -> None:
                        for m in sizes:  # block after block; σ and C of each dropped after use
                            run(x[:m])
                else:
                    call = lambda: run(x)  # noqa: E731
                wall, cpu = timed(call, repeats, device, warm_up=not streamed)
                tag = "float64" if dtype == torch.float64 else "float32"
                row.setdefault(name, {}).update({f"{tag}_s": wall, f"{tag}_points_per_s": n / wall,
                                                 f"{tag}_cpu_s": cpu, f"{tag}_points_per_cpu_s": n / cpu})
            law.model.double()
        if not streamed:
            wall, cpu = timed(lambda: truth.evaluate(strain), repeats, torch.device("cpu"))
            row["analytic_numpy"] = {"float64_s": wall, "float64_points_per_s": n / wall,
                                     "float64_cpu_s": cpu, "float64_points_per_cpu_s": n / cpu}
        seconds_per_point = (time.perf_counter() - t_start) / (n * (repeats + (0 if streamed else 1)))
        print(json.dumps(row), flush=True)
        result["rows"].append(row)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
