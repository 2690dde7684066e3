"""Issue 16, item 5: the learned return-mapping law in the plate-with-hole and strip-footing cases.

    python benchmarks/learned_plasticity.py table [--cases plate footing footing_dp] [--sizes 1000 10000 100000]
                                                  [--noise 0 0.02] [--epochs 10] [--lbfgs 60]
                                                  [--yield-form scaled|additive]
                                                  [--method regression|projection] [--outer-iterations 4]
                                                  [--strain-range H [H ...]] [--keep-checkpoints DIR]
    python benchmarks/learned_plasticity.py timing [--repeats 3] [--element-size 0.03] [--hole-element-size 0.006]
    python benchmarks/learned_plasticity.py dissipation

``table`` — error vs data size and noise. For each case (law = the analytic law of the entry in
CASES: J2 for ``plate`` and ``footing``; associative Drucker–Prager for ``footing_dp``, the
footing on a frictional soil, learned with the isotropic yield surface), data size S (S/25
mixed strain paths of 25 steps, seed 1; ``--strain-range``: the paths split over several
half-widths, Drucker–Prager only) and noise level (relative, on
strain and stress, learned/dataset.py): generate the paths, train the learned law
(learned.plastic_model.train_return_mapping: Adam epochs then L-BFGS, 1 thread), run the case
coarse (the meshes of tests/test_learned_plasticity_cases.py) with it and with the analytic law,
and record: the load–displacement curve error (max over steps / max |u|), the residual
displacement error after unloading (relative to the analytic residual), the Newton iterations of
both runs, the stress error on 40 new clean paths, and the smallest dissipation per step over
those paths (D = σ·Δεᵖ − Hα Δα, law.dissipation; relative to σ_y ε_y = σ_y²/E, or c²/E for
Drucker–Prager). JSON keys: ``<case>_j2…`` (J2), ``footing_dp_strain<H>…_lbfgs<n>`` (Drucker–Prager).
The per-step minimum
dissipation of every model is plotted in benchmarks/out/learned_plasticity_dissipation.png.

``dissipation`` — the same per-step minimum dissipation for the shipped checkpoints of the two
cases (cases/models/j2_*_return_mapping.pt), added to the figure.

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
        "coarse": ["fem.degree=1", 'mesh.path="meshes/footing_coarse.msh"'],  # the pre-session-13 footing mesh
        "residual_probes": ["footing_centre_settlement"],
    },
    # the footing on a frictional soil: associative Drucker–Prager (c 20 kPa, φ 20°, H 2 MPa; the
    # 200 kPa footing pressure is 0.68 of the Prandtl capacity c N_c = 296 kPa of a weightless soil);
    # the learned model has the isotropic yield surface (train_return_mapping(isotropic=True))
    "footing_dp": {
        "file": "footing",
        "law_name": "drucker_prager",
        "law": dict(E=20e6, nu=0.3, cohesion=20e3, friction_angle=20.0, hardening=2e6),
        "strain_range": 3e-2,
        "coarse": ["fem.degree=1", 'mesh.path="meshes/footing_coarse.msh"'],  # the pre-session-13 footing mesh
        "residual_probes": ["footing_centre_settlement"],
        "isotropic": True,
    },
}


def reference_law(spec: dict):
    """The analytic law of a case entry: J2 (default) or Drucker–Prager (``law_name``)."""
    from learned.plasticity import DruckerPrager, J2Plasticity

    if spec.get("law_name") == "drucker_prager":
        return DruckerPrager(**spec["law"])
    return J2Plasticity(**spec["law"])


def dissipation_scale(spec: dict) -> float:
    """Dissipation scale [J/m³]: σ_y ε_y = σ_y²/E (J2) or c²/E (Drucker–Prager, c the cohesion)."""
    law = spec["law"]
    return law.get("yield_stress", law.get("cohesion")) ** 2 / law["E"]


def key_prefix(name: str, spec: dict) -> str:
    """JSON key prefix: "<case>_j2" for the J2 entries (unchanged keys), "footing_dp_strain<half-width>"
    for Drucker–Prager (whose entries were measured at several strain half-widths of the data)."""
    if spec.get("law_name") == "drucker_prager":
        return f"{name}_strain" + "+".join(f"{r:g}" for r in np.atleast_1d(spec["strain_range"]))
    return f"{name}_j2"


def training_paths(law, size: int, strain_ranges, noise: float):
    """size/STEPS mixed paths (seed 1), split evenly over the strain half-widths ``strain_ranges`` (one
    value, or several: a multi-amplitude programme, seeds 1, 2, …), concatenated into one PathDataset."""
    import dataclasses

    from learned.paths import generate_path_dataset

    ranges = [float(r) for r in np.atleast_1d(strain_ranges)]
    n_paths = max(size // STEPS, 2)
    parts = [generate_path_dataset(law, max(n_paths // len(ranges), 2), STEPS, "mixed", r, noise, noise, seed=1 + i)
             for i, r in enumerate(ranges)]
    if len(parts) == 1:
        return parts[0]
    return dataclasses.replace(
        parts[0], strain=np.concatenate([d.strain for d in parts]), stress=np.concatenate([d.stress for d in parts]),
        state=None if parts[0].state is None else np.concatenate([d.state for d in parts]),
        provenance={**parts[0].provenance, "strain_ranges": ranges})


def _material(law: dict, law_name: str = "j2_plasticity") -> str:
    return f"material={{law=\"{law_name}\", " + ", ".join(f"{k}={v!r}" for k, v in law.items()) + "}"


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
    """Merge entries into the JSON (under a lock: several table runs may share it)."""
    import fcntl

    OUT.mkdir(exist_ok=True)
    with open(OUT / ".learned_plasticity.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
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
    from learned.projection_training import train_projection_paths

    entries = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in args.cases:
            spec = CASES[name]
            if args.strain_range is not None:
                if spec.get("law_name") != "drucker_prager":
                    raise SystemExit("--strain-range: Drucker–Prager cases only (the J2 keys carry no half-width)")
                spec = {**spec, "strain_range": args.strain_range if len(args.strain_range) > 1 else args.strain_range[0]}
            law = reference_law(spec)
            isotropic = spec.get("isotropic", False)
            analytic = run_case(spec["file"], spec["coarse"] + [_material(spec["law"], spec.get("law_name", "j2_plasticity"))],
                                tmp / f"{name}-analytic")
            if "failed" in analytic:
                raise SystemExit(f"{name}: analytic run failed: {analytic['failed']}")
            new = generate_path_dataset(law, 40, STEPS, "mixed", float(np.max(spec["strain_range"])), seed=99)
            energy = dissipation_scale(spec)  # σ_y ε_y (J2) or c²/E (Drucker–Prager) [J/m³]
            for size in args.sizes:
                for noise in args.noise:
                    # entries without a form suffix were trained with the "additive" yield form
                    form = "" if args.yield_form == "additive" else f"_{args.yield_form}"
                    method = "" if args.method == "regression" else f"_{args.method}"
                    lbfgs = f"_lbfgs{args.lbfgs}" if spec.get("law_name") == "drucker_prager" else ""
                    key = f"{key_prefix(name, spec)}{form}{method}_noise{noise:g}_samples{size}{lbfgs}"
                    data = training_paths(law, size, spec["strain_range"], noise)
                    t0 = time.perf_counter()
                    def show(h, key=key):
                        print(key, h.get("epoch", h), f"{time.perf_counter() - t0:.0f} s", flush=True)

                    if args.method == "projection":  # errors-in-variables along paths (docs/plasticity.md)
                        model, report = train_projection_paths(
                            data, epochs=args.epochs, lr=2e-2, lbfgs_iterations=args.lbfgs, yield_form=args.yield_form,
                            outer_iterations=args.outer_iterations, progress=show, isotropic=isotropic)
                        report["epochs_run"] = report["warm_start"]["epochs_run"]
                        report["lbfgs_evaluations"] = report["warm_start"]["lbfgs_evaluations"]
                    else:
                        model, report = train_return_mapping(
                            data, epochs=args.epochs, lr=2e-2, lbfgs_iterations=args.lbfgs, yield_form=args.yield_form,
                            progress=show, isotropic=isotropic)
                    wall = time.perf_counter() - t0
                    ckpt = tmp / f"{key}.pt"
                    save_checkpoint(ckpt, model, report)
                    if args.keep_checkpoints:  # e.g. to ship one as a case's model (cases/models/)
                        Path(args.keep_checkpoints).mkdir(parents=True, exist_ok=True)
                        save_checkpoint(Path(args.keep_checkpoints) / ckpt.name, model, report)
                    learned_law = LearnedPlasticLaw(model)
                    stress, _ = run_paths(learned_law, new.strain)
                    d_min = step_dissipation(learned_law, new.strain, energy)
                    learned = run_case(spec["file"], spec["coarse"] + [f'material={{law="checkpoint", path="{ckpt}"}}'],
                                       tmp / f"{key}-run")
                    entry = {
                        "samples": int(data.strain.shape[0] * STEPS), "noise": noise, "yield_form": args.yield_form,
                        "train_time_s": wall, "epochs": report["epochs_run"], "lbfgs_evaluations": report["lbfgs_evaluations"],
                        "method": args.method, "law": spec.get("law_name", "j2_plasticity"), "isotropic": isotropic,
                        "strain_range": spec["strain_range"],
                        **({"projection_history": report["history"]} if args.method == "projection" else {}),
                        "new_paths_stress_rel_error": float(np.linalg.norm(stress - new.stress) / np.linalg.norm(new.stress)),
                        "min_dissipation_per_step_over_sigma_y_eps_y": min(d_min),
                        "min_dissipation_each_step_over_sigma_y_eps_y": d_min,
                        "newton_iterations_analytic": analytic["solver"]["newton_iterations"],
                        "dissipation_scale_J_per_m3": energy,
                    }
                    if "failed" in learned:
                        entry["fem_run_failed"] = learned["failed"]
                    else:
                        entry.update(curve_errors(learned, analytic, spec["residual_probes"]))
                        entry["newton_iterations_learned"] = learned["solver"]["newton_iterations"]
                    entries[key] = entry
                    print(key, json.dumps(entry), flush=True)
                    _merge({"table": {key: entry}})
    _plot_dissipation()


def step_dissipation(law, strain: np.ndarray, energy: float) -> list[float]:
    """Smallest dissipation over the paths of every step, D / energy, along strain paths (P,M,3),
    from the law's own states (D = σ·Δεᵖ − Hα Δα, law.dissipation)."""
    return step_dissipation_parts(law, strain, energy)[0]


def step_dissipation_parts(law, strain: np.ndarray, energy: float) -> tuple[list[float], list[float]]:
    """(min D over all points, min D over the yielding points Δα > 0 — NaN when none) per step, / energy."""
    state = np.asarray(law.initial_state(strain.shape[0]))
    out, plastic = [], []
    for k in range(strain.shape[1]):
        D = np.asarray(law.dissipation(strain[:, k], state)) / energy
        new = np.asarray(law.evaluate(strain[:, k], state).state)
        yielding = new[:, -1] > state[:, -1]
        out.append(float(D.min()))
        plastic.append(float(D[yielding].min()) if yielding.any() else float("nan"))
        state = new
    return out, plastic


def dissipation(args: argparse.Namespace) -> None:
    """The shipped checkpoints of the two cases on 40 new clean mixed paths (seed 99)."""
    import torch

    torch.set_num_threads(1)
    from learned.checkpoint import load_law
    from learned.paths import generate_path_dataset
    from learned.plasticity import J2Plasticity

    items = {}
    for name, spec in CASES.items():
        if spec.get("law_name") == "drucker_prager":  # no shipped checkpoint: its table entries carry the figures
            continue
        law = load_law(ROOT / "cases" / "models" / f"j2_{name}_return_mapping.pt")
        new = generate_path_dataset(J2Plasticity(**spec["law"]), 40, STEPS, "mixed", spec["strain_range"], seed=99)
        d, dp = step_dissipation_parts(law, new.strain, spec["law"]["yield_stress"] ** 2 / spec["law"]["E"])
        items[f"{name}_shipped_checkpoint"] = {"min_dissipation_each_step_over_sigma_y_eps_y": d, "min": min(d),
                                               "min_dissipation_yielding_points_each_step": dp,
                                               "min_yielding": float(np.nanmin(dp))}
        print(name, "min dissipation / (σ_y ε_y) over all steps:", min(d), "over the yielding points:", np.nanmin(dp))
    _merge({"dissipation": items})
    _plot_dissipation()


def _plot_dissipation() -> None:
    """Plot the per-step minimum dissipation of every table and dissipation entry stored in the JSON."""
    stored = json.loads(JSON.read_text()) if JSON.is_file() else {}
    entries = {**stored.get("dissipation", {}), **stored.get("table", {})}
    curves = {k: v["min_dissipation_each_step_over_sigma_y_eps_y"] for k, v in sorted(entries.items())
              if "min_dissipation_each_step_over_sigma_y_eps_y" in v}
    if not curves:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yielding = {k: v["min_dissipation_yielding_points_each_step"] for k, v in sorted(entries.items())
                if "min_dissipation_yielding_points_each_step" in v}
    fig, axes = plt.subplots(1, 2 if yielding else 1, figsize=(12 if yielding else 7, 4.5), dpi=120,
                             layout="constrained", squeeze=False)
    ax = axes[0][0]
    for key, d in curves.items():
        ax.plot(np.arange(1, len(d) + 1), d, ".-", ms=3, lw=0.8, label=key)
    ax.axhline(0.0, color="k", lw=0.8)
    if yielding:
        ax2 = axes[0][1]
        for key, d in yielding.items():
            ax2.semilogy(np.arange(1, len(d) + 1), d, ".-", ms=3, lw=0.8, label=key)
        ax2.set_xlabel("step along the 40 new test paths")
        ax2.set_ylabel("min over the yielding points (Δα > 0) of D / (σ_y ε_y)")
        ax2.set_title("steps with yielding: strictly positive (log scale)", fontsize=9)
        ax2.legend(fontsize=6)
    ax.set_xlabel("step along the 40 new test paths (mixed: monotonic, load–unload–reload, cyclic, random walk)")
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
    law_call = {k: [] for k in runs}
    load = []  # 1-minute load average of the machine before each run (2 cores shared)
    info = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for kind, extra in runs.items():  # alternating, one run each per repeat
                load.append(os.getloadavg()[0])
                s = run_case(spec["file"], mesh + extra, Path(tmp) / f"{kind}{r}")
                if "failed" in s:
                    raise SystemExit(f"{kind}: {s['failed']}")
                per_it[kind].append(s["solver"]["time_per_newton_iteration_s"])
                law_call[kind].append(s["solver"]["time_law_per_call_s"])
                info[kind] = {"quadrature_points": s["solver"]["quadrature_points"],
                              "newton_iterations": s["solver"]["newton_iterations"],
                              "time_law_per_call_s": s["solver"]["time_law_per_call_s"]}
                print(kind, r, per_it[kind][-1], flush=True)
    load.append(os.getloadavg()[0])
    med = {k: float(np.median(v)) for k, v in per_it.items()}
    pairs = [lv / av for lv, av in zip(per_it["learned"], per_it["analytic"])]  # run r of each, back to back
    call_pairs = [lv / av for lv, av in zip(law_call["learned"], law_call["analytic"])]
    entry = {"repeats": args.repeats, "per_newton_iteration_s": per_it, "median_s": med,
             "ratio_learned_over_analytic": med["learned"] / med["analytic"],
             "pair_ratios": pairs, "pair_ratio_median": float(np.median(pairs)),
             "pair_ratio_min_max": [float(min(pairs)), float(max(pairs))],
             "law_call_s": law_call, "law_call_pair_ratios": call_pairs,
             "law_call_ratio_median": float(np.median(call_pairs)),
             "load_average_1min_before_each_run": load, "cpus": os.cpu_count(),
             "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": info,
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
    t.add_argument("--yield-form", choices=["scaled", "additive"], default="additive",
                   help="yield form of the learned model (learned/plastic_model.py); keys get a _scaled suffix")
    t.add_argument("--method", choices=["regression", "projection"], default="regression",
                   help="projection: fixed-point projection training on the paths (train_projection_paths); "
                        "keys get a _projection suffix")
    t.add_argument("--outer-iterations", type=int, default=4, help="--method projection: outer iterations")
    t.add_argument("--strain-range", type=float, nargs="+", help="half-width(s) of the data's strain paths "
                   "(default: the case entry's; several: the paths split evenly over them, the 40 new test paths "
                   "at the largest); Drucker–Prager cases only, keys carry it")
    t.add_argument("--keep-checkpoints", metavar="DIR", help="also save each trained model as DIR/<key>.pt")
    m = sub.add_parser("timing")
    m.add_argument("--repeats", type=int, default=3)
    m.add_argument("--element-size", type=float, default=0.03)
    m.add_argument("--hole-element-size", type=float, default=0.006)
    sub.add_parser("dissipation")
    args = ap.parse_args()
    {"table": table, "timing": timing, "dissipation": dissipation}[args.command](args)


if __name__ == "__main__":
    main()
