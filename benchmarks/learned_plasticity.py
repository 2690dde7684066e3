"""Issue 16, item 5: the learned return-mapping law in the plate-with-hole and strip-footing cases.

    python benchmarks/learned_plasticity.py table [--cases plate footing] [--sizes 1000 10000 100000]
                                                  [--noise 0 0.02] [--epochs 10] [--lbfgs 60]
    python benchmarks/learned_plasticity.py timing [--repeats 3] [--element-size 0.03] [--hole-element-size 0.006]

``table`` — error vs data size and noise. For each case (law = the analytic J2 law of the case
file), data size S (S/25 mixed strain paths of 25 steps, seed 1) and noise level (relative, on
strain and stress, learned/dataset.py): generate the paths, train the learned law
(learned.plastic_model.train_return_mapping: Adam epochs then L-BFGS, 1 thread), run the case
coarse (the meshes of tests/test_learned_plasticity_cases.py) with it and with the analytic law,
and record: the load–displacement curve error (max over steps / max |u|), the residual
displacement error after unloading (relative to the analytic residual), the Newton iterations of
both runs, the stress error on 40 new clean paths, and the smallest dissipation per step over
those paths (D = σ·Δεᵖ − Hα Δα, law.dissipation; relative to σ_y ε_y). The per-step minimum
dissipation of every model is plotted in benchmarks/out/learned_plasticity_dissipation.png.

``timing`` — the plate case on a fine mesh (~1e5 quadrature points, degree 2), analytic J2 and
the shipped learned checkpoint run alternately ``repeats`` times in one process each
(subprocess, 1 rank); the median of the solver's time per Newton iteration (law call +
residual + Jacobian assembly + linear solve, summary.json) and its ratio learned / analytic.

Writes (merging entries) benchmarks/out/learned_plasticity.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"
JSON = OUT / "learned_plasticity.json"
STEPS = 25

CASES = {
    "plate": {
        "file": "learned_plasticity_plate",
        "law": dict(E=70e9, nu=0.3, yield_stress=200e6, hardening=5e9),
        "strain_range": 8e-3,
        "coarse": ["mesh.element_size=0.2", "mesh.hole_element_size=0.05"],
        "residual_probes": ["hole_top_displacement"],
    },
    "footing": {
        "file": "footing",
        "law": dict(E=20e6, nu=0.3, yield_stress=86.6e3, hardening=2e6),
        "strain_range": 3e-2,
        "coarse": ["fem.degree=1"],
        "residual_probes": ["footing_centre_settlement"],
    },
}


def _material(law: dict) -> str:
    return "material={law=\"j2_plasticity\", " + ", ".join(f"{k}={v!r}" for k, v in law.items()) + "}"


def run_case(case: str, sets: list[str], out: Path) -> dict:
    """``python -m coupling run`` (1 rank); its summary.json."""
    cmd = [sys.executable, "-m", "coupling", "run", str(ROOT / "cases" / f"{case}.toml"), "-o", str(out), "-q", "--force"]
    for s in sets:
        cmd += ["--set", s]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if r.returncode != 0:
        return {"failed": r.stderr.strip().splitlines()[-1:] or ["?"]}
    return json.loads((out / "summary.json").read_text())


def curve_errors(learned: dict, analytic: dict, residual_probes: list[str]) -> dict:
    """Curve error max|Δu|/max|u| per probe, residual error |Δu(λ=0)|/|u(λ=0)| (the test's measure)."""
    ld_l, ld_a = learned["results"]["load_displacement"], analytic["results"]["load_displacement"]
    zero = ld_a["load_factor"].index(0.0)
    out = {"curve": {}, "residual": {}}
    for name, ua in ld_a["probes"].items():
        ua, ul = np.asarray(ua), np.asarray(ld_l["probes"][name])
        out["curve"][name] = float(np.abs(ul - ua).max() / np.abs(ua).max())
        if name in residual_probes:
            out["residual"][name] = float(abs(ul[zero] - ua[zero]) / abs(ua[zero]))
    return out


def _merge(entries: dict) -> None:
    OUT.mkdir(exist_ok=True)
    old = json.loads(JSON.read_text()) if JSON.is_file() else {}
    for section, items in entries.items():
        old.setdefault(section, {}).update(items)
    old["machine"] = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    JSON.write_text(json.dumps(old, indent=2, sort_keys=True))


def table(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(1)
    from learned.checkpoint import save_checkpoint
    from learned.paths import generate_path_dataset, run_paths
    from learned.plastic_model import LearnedPlasticLaw, train_return_mapping
    from learned.plasticity import J2Plasticity

    entries, curves = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in args.cases:
            spec = CASES[name]
            law = J2Plasticity(**spec["law"])
            analytic = run_case(spec["file"], spec["coarse"] + [_material(spec["law"])], tmp / f"{name}-analytic")
            new = generate_path_dataset(law, 40, STEPS, "mixed", spec["strain_range"], seed=99)
            energy = spec["law"]["yield_stress"] ** 2 / spec["law"]["E"]  # σ_y ε_y [J/m³]
            for noise in args.noise:
                for size in args.sizes:
                    key = f"{name}_j2_noise{noise:g}_samples{size}"
                    data = generate_path_dataset(law, max(size // STEPS, 2), STEPS, "mixed", spec["strain_range"],
                                                 noise, noise, seed=1)
                    t0 = time.perf_counter()
                    model, report = train_return_mapping(data, epochs=args.epochs, lr=2e-2, lbfgs_iterations=args.lbfgs)
                    wall = time.perf_counter() - t0
                    ckpt = tmp / f"{key}.pt"
                    save_checkpoint(ckpt, model, report)
                    learned_law = LearnedPlasticLaw(model)
                    stress, _ = run_paths(learned_law, new.strain)
                    # dissipation of every step of the new paths, from the learned law's own states
                    state = learned_law.initial_state(new.n_paths)
                    d_min = []
                    for k in range(new.n_steps):
                        d_min.append(float(learned_law.dissipation(new.strain[:, k], state).min()) / energy)
                        state = np.asarray(learned_law.evaluate(new.strain[:, k], state).state)
                    curves[key] = d_min
                    learned = run_case(spec["file"], spec["coarse"] + [f'material={{law="checkpoint", path="{ckpt}"}}'],
                                       tmp / f"{key}-run")
                    entry = {
                        "samples": int(data.strain.shape[0] * STEPS), "noise": noise,
                        "train_time_s": wall, "epochs": report["epochs_run"], "lbfgs_evaluations": report["lbfgs_evaluations"],
                        "new_paths_stress_rel_error": float(np.linalg.norm(stress - new.stress) / np.linalg.norm(new.stress)),
                        "min_dissipation_per_step_over_sigma_y_eps_y": min(d_min),
                        "newton_iterations_analytic": analytic["solver"]["newton_iterations"],
                    }
                    if "failed" in learned:
                        entry["fem_run_failed"] = learned["failed"]
                    else:
                        entry.update(curve_errors(learned, analytic, spec["residual_probes"]))
                        entry["newton_iterations_learned"] = learned["solver"]["newton_iterations"]
                    entries[key] = entry
                    print(key, json.dumps(entry), flush=True)
                    _merge({"table": {key: entry}})
    _plot_dissipation(curves)


def _plot_dissipation(curves: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120, layout="constrained")
    for key, d in curves.items():
        ax.plot(np.arange(1, len(d) + 1), d, ".-", ms=3, lw=0.8, label=key)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel("step along the 40 new test paths")
    ax.set_ylabel("min over paths of the step dissipation D / (σ_y ε_y)")
    ax.set_title("learned return-mapping law: dissipation per step ≥ 0 (D = σ·Δεᵖ − Hα Δα)", fontsize=9)
    ax.legend(fontsize=6)
    fig.savefig(OUT / "learned_plasticity_dissipation.png")
    plt.close(fig)


def timing(args: argparse.Namespace) -> None:
    spec = CASES["plate"]
    mesh = [f"mesh.element_size={args.element_size}", f"mesh.hole_element_size={args.hole_element_size}",
            "output.fields=false", "output.plots=false"]
    runs = {"analytic": [_material(spec["law"])], "learned": []}
    per_it = {k: [] for k in runs}
    info = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for kind, extra in runs.items():  # alternating, one run each per repeat
                s = run_case(spec["file"], mesh + extra, Path(tmp) / f"{kind}{r}")
                if "failed" in s:
                    raise SystemExit(f"{kind}: {s['failed']}")
                per_it[kind].append(s["solver"]["time_per_newton_iteration_s"])
                info[kind] = {"quadrature_points": s["solver"]["quadrature_points"],
                              "newton_iterations": s["solver"]["newton_iterations"],
                              "time_law_per_call_s": s["solver"]["time_law_per_call_s"]}
                print(kind, r, per_it[kind][-1], flush=True)
    med = {k: float(np.median(v)) for k, v in per_it.items()}
    entry = {"repeats": args.repeats, "per_newton_iteration_s": per_it, "median_s": med,
             "ratio_learned_over_analytic": med["learned"] / med["analytic"], "runs": info,
             "mesh": mesh[:2]}
    print(json.dumps(entry, indent=1))
    _merge({"timing": {f"plate_qp{info['analytic']['quadrature_points']}": entry}})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("table")
    t.add_argument("--cases", nargs="+", default=["plate", "footing"], choices=list(CASES))
    t.add_argument("--sizes", nargs="+", type=int, default=[1000, 10000, 100000])
    t.add_argument("--noise", nargs="+", type=float, default=[0.0, 0.02])
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--lbfgs", type=int, default=60)
    m = sub.add_parser("timing")
    m.add_argument("--repeats", type=int, default=3)
    m.add_argument("--element-size", type=float, default=0.03)
    m.add_argument("--hole-element-size", type=float, default=0.006)
    args = ap.parse_args()
    table(args) if args.command == "table" else timing(args)


if __name__ == "__main__":
    main()
