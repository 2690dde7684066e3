"""Learned constitutive manifolds coupled to the FEM: accuracy, noise, cost, acceleration.

    python benchmarks/learned_coupling.py [--sizes 1000 10000 100000] [--quick]

Measures, in one run, on the plate with a hole of cases/learned_plate.toml (power-law
material, plane stress; the reference is the FEM with the analytic law on the same mesh):

1. learned law vs the analytic law that made its data: relative L2 displacement error and
   Newton iterations (the shipped checkpoint of learned_plate.toml);
2. 2 % noise on strain and stress, n samples: displacement error of (a) plain regression in
   Newton, (b) projection-trained model in Newton, (c) the discrete KD-tree data-driven
   solver, (d) the data-driven projection solver on the projection-trained manifold;
3. ``cost``: time per Newton iteration with a learned law vs the analytic law at ~100,000
   quadrature points, alternating runs, for the default recipe's MLP and the shipped ICNN,
   with the split of one iteration into law evaluation, assembly and linear solve
   (CPU here; run on a GPU machine for the CUDA figure);
4. Anderson vs plain Picard iterations of the projection solver;
6. ``recipe_cost``: time per Adam epoch and per L-BFGS iteration of the recipe's MLP at 32x32
   and the recipe's (``MLP_HIDDEN``), alternating (:func:`recipe_cost`);
5. ``sweep``: the documented default recipe (``deepmanifold data generate`` + ``deepmanifold
   train`` with defaults) for materials that are not shipped, then the plate with a hole
   (cases/plate_hole.toml) and the cantilever (cases/cantilever.toml) at 10–100 % of a design
   load: relative L2 displacement error against the analytic law on the same mesh, Newton
   iterations of both, and the out-of-distribution count of the learned law.

JSON: benchmarks/out/learned_coupling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import coupling  # noqa: E402
from coupling.solvers.datadriven import DataDrivenProblem, LawProjector, NearestDataProjector  # noqa: E402
from coupling.runners.fem_model import build_boundary, build_mesh, build_problem  # noqa: E402
from coupling.solvers.fixed_point import Anderson, ConstantRelaxation  # noqa: E402
from learned import PowerLawElastic  # noqa: E402
from learned.dataset import generate_dataset  # noqa: E402

TRUTH = dict(E=70e9, nu=0.33, strain0=1e-3, exponent=0.5, plane="stress")
TRUTH_TABLE = {"law": "power_law_elastic", **TRUTH}
CASE = ROOT / "cases" / "learned_plate.toml"


def _solve(dd, *args, **kwargs):
    """dd.solve, keeping the last iterate of a solve that did not converge (it is a data point)."""
    from coupling.solvers.datadriven.errors import DataDrivenDivergence

    try:
        return dd.solve(*args, **kwargs)
    except DataDrivenDivergence as exc:
        return exc.result


def fem_solution(sets: list[str], material) -> tuple[np.ndarray, dict]:
    case = coupling.load_case(CASE, [*sets, "probes=[]"])
    problem, _ = build_problem(case)
    if material is not None:
        problem.law = material
    stats = problem.solve(load_steps=case.spec.fem.load_steps).stats
    return problem.u.x.array.copy(), stats.as_dict()


def rel(u: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(u - ref) / np.linalg.norm(ref))


def accuracy() -> dict:
    ref, s_ref = fem_solution(["material=" + _inline(TRUTH_TABLE)], None)
    u, s = fem_solution([], None)
    return {"relative_l2_displacement_error": rel(u, ref), "newton_iterations_learned": s["newton_iterations"],
            "newton_iterations_analytic": s_ref["newton_iterations"], "training_samples": 8000}


def _inline(d: dict) -> str:
    return "{" + ", ".join(f'{k}="{v}"' if isinstance(v, str) else f"{k}={v}" for k, v in d.items()) + "}"


def noise_study(sizes: list[int], epochs: int) -> list[dict]:
    from learned.neural_law import NeuralLaw
    from learned.projection_training import train_projection
    from learned.training import train

    sets = ["fem.degree=1", "mesh.element_size=0.15", "mesh.hole_element_size=0.015", "fem.load_steps=2"]
    truth = PowerLawElastic(**TRUTH)
    ref, _ = fem_solution(sets + ["material=" + _inline(TRUTH_TABLE)], None)
    case = coupling.load_case(CASE, sets + ["probes=[]"])
    bundle = build_mesh(case, coupling.runner.MPI.COMM_WORLD)
    dirichlet, tractions = build_boundary(case, bundle)
    C = truth.reference_stiffness()
    rows = []
    for n in sizes:
        ds = generate_dataset(truth, n, 6e-3, 0.02, 0.02, seed=3, sampler="sobol")
        ep = epochs  # the same epochs for every size (batches grow with n)
        row: dict = {"samples": n, "epochs": ep}
        t0 = time.perf_counter()
        reg, _ = train(ds, "icnn", epochs=ep, lr=2e-2, batch_size=max(128, n // 60), seed=0)
        row["time_train_regression_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        proj, _ = train_projection(ds, "icnn", epochs=ep, lr=2e-2, batch_size=max(128, n // 60), seed=0)
        row["time_train_projection_s"] = time.perf_counter() - t0
        for name, model in (("newton_regression", reg), ("newton_projection_trained", proj)):
            u, s = fem_solution(sets, NeuralLaw(model, "stress", device="cpu"))
            row[name] = rel(u, ref)
        dd = DataDrivenProblem(bundle.mesh, C, degree=1, dirichlet=dirichlet, tractions=tractions)
        r = _solve(dd, NearestDataProjector(ds.strain, ds.stress, C), ConstantRelaxation(1.0), rtol=1e-12, max_iterations=100)
        row["discrete_kdtree"] = rel(dd.u.x.array, ref)
        row["discrete_iterations"] = r.fixed_point.iterations
        dd = DataDrivenProblem(bundle.mesh, C, degree=1, dirichlet=dirichlet, tractions=tractions)
        r = _solve(dd, LawProjector(NeuralLaw(proj, "stress", device="cpu"), C), Anderson(5), rtol=1e-8, max_iterations=300)
        row["projection_solver"] = rel(dd.u.x.array, ref)
        row["projection_solver_iterations"] = r.fixed_point.iterations
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


#: the learned_plate data set and the default recipe on it (the model a user gets by default)
PLATE_DATA = ROOT / "cases" / "data" / "power_law_plate.h5"


def default_recipe_plate_model(retrain: bool = False) -> Path:
    """``deepmanifold train cases/data/power_law_plate.h5 -o M.pt`` with every default (an MLP)."""
    import subprocess

    model = HERE / "out" / "cost_models" / "power_law_plate_default.pt"
    if model.exists() and not retrain:
        return model
    model.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "coupling", "train", str(PLATE_DATA), "-o", str(model), "-q", "--force"],
                   check=True, cwd=ROOT)
    return model


def cost(repeats: int = 3, models: list[Path] | None = None, retrain: bool = False) -> dict:
    """Time per Newton iteration, learned vs analytic law, at ~1e5 quadrature points.

    ``repeats`` alternating rounds (analytic, then each learned model) on the same mesh, one
    load step each; per run the split of one iteration into law evaluation (strain at the
    quadrature points, the law itself, copying σ and C back), residual assembly, Jacobian
    assembly and linear solve (SolveStats). Per model: ratio = median over rounds of
    learned/analytic in the same round, with its min and max; beside it, the ratio of the
    process's CPU time over the whole solve (mesh, problem and law set-up included: on a
    loaded machine the wall time also counts waiting) and the 1-min load average. Default models: the recipe's
    default (an MLP trained on the learned_plate data with every default) and the shipped ICNN
    of cases/learned_plate.toml.
    """
    from learned.checkpoint import load_law

    sets = ["mesh.element_size=0.022", "mesh.hole_element_size=0.005", "fem.load_steps=1"]
    if not models:
        models = [default_recipe_plate_model(retrain), ROOT / "cases" / "models" / "power_law_plate_icnn.pt"]
    names = ["analytic", *[m.stem for m in models]]
    keys = ("time_per_newton_iteration_s", "time_law_per_call_s", "newton_iterations", "law_calls",
            "time_law_s", "time_residual_s", "time_jacobian_s", "time_solve_s")
    runs: dict = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:
            law = PowerLawElastic(**TRUTH) if name == "analytic" else load_law(models[names.index(name) - 1],
                                                                                device="cpu")
            cpu0 = time.process_time()
            _, st = fem_solution(sets, law)
            cpu = time.process_time() - cpu0
            calls, its = st["law_calls"], sum(st["newton_iterations"])
            split = {"law_eval_s": st["time_law_s"] / calls, "residual_assembly_s": st["time_residual_s"] / calls,
                     "jacobian_assembly_s": st["time_jacobian_s"] / its, "linear_solve_s": st["time_solve_s"] / its}
            runs[name].append({**{k: st[k] for k in keys}, "per_iteration_split": split,
                               "cpu_time_whole_solve_s": cpu, "load_average_1min": os.getloadavg()[0]})
            print(name, json.dumps(runs[name][-1]["per_iteration_split"]), flush=True)
    case = coupling.load_case(CASE, sets)
    problem, _ = build_problem(case)
    out: dict = {"quadrature_points": problem.num_quadrature_points, "models": [str(m) for m in models],
                 "cpu_count": os.cpu_count(), "runs": runs, "by_model": {}}
    for name in names[1:]:
        ratios = [b["time_per_newton_iteration_s"] / a["time_per_newton_iteration_s"]
                  for a, b in zip(runs["analytic"], runs[name])]
        out["by_model"][name] = {"ratios_time_per_newton_iteration": ratios,
                                 "ratio_time_per_newton_iteration": float(np.median(ratios)),
                                 "ratio_min": min(ratios), "ratio_max": max(ratios),
                                 "ratio_cpu_time_whole_solve_median": float(np.median(
                                     [b["cpu_time_whole_solve_s"] / a["cpu_time_whole_solve_s"]
                                      for a, b in zip(runs["analytic"], runs[name])]))}
    out["median_split_s"] = {name: {k: float(np.median([r["per_iteration_split"][k] for r in runs[name]]))
                                    for k in runs[name][0]["per_iteration_split"]} for name in names}
    out["time_split_fraction"] = {name: {k: v / sum(split.values()) for k, v in split.items()}
                                  for name, split in out["median_split_s"].items()}
    print(json.dumps({k: out[k] for k in ("quadrature_points", "by_model", "median_split_s")}), flush=True)
    return out


def acceleration() -> dict:
    sets = ["fem.degree=1", "mesh.element_size=0.15", "mesh.hole_element_size=0.015"]
    case = coupling.load_case(CASE, sets)
    bundle = build_mesh(case, coupling.runner.MPI.COMM_WORLD)
    dirichlet, tractions = build_boundary(case, bundle)
    truth = PowerLawElastic(**TRUTH)
    C = truth.reference_stiffness()
    out = {}
    for name, acc in (("picard", ConstantRelaxation(1.0)), ("aitken", coupling.solvers.fixed_point.Aitken()), ("anderson", Anderson(5))):
        dd = DataDrivenProblem(bundle.mesh, C, degree=1, dirichlet=dirichlet, tractions=tractions)
        t0 = time.perf_counter()
        r = _solve(dd, LawProjector(truth, C), acc, rtol=1e-8, max_iterations=2000)
        out[name] = {"iterations": r.fixed_point.iterations, "converged": r.fixed_point.converged,
                     "wall_s": time.perf_counter() - t0}
    print(json.dumps(out), flush=True)
    return out


# ---------------------------------------------------------------------------- sweep
#: materials that are not shipped: power law over the issue's range (n 0.3–1, plane stress and
#: strain, E 10–200 GPa). B, D–J are its 8 corners (E ∈ {10, 200} GPa × n ∈ {0.3, 1} × plane;
#: ε₀ = 2e-4 at E = 10 GPa, so the data box reaches 25 ε₀, and 1e-3 at 200 GPa; n = 1 is
#: linear, ε₀ plays no role there); A and C lie inside it.
SWEEP_MATERIALS = {
    "A_E30_n0.7_strain": dict(E=30e9, nu=0.25, strain0=5e-4, exponent=0.7, plane="strain"),
    "B_E200_n0.3_stress": dict(E=200e9, nu=0.3, strain0=1e-3, exponent=0.3, plane="stress"),
    "C_E10_n0.5_stress": dict(E=10e9, nu=0.2, strain0=2e-4, exponent=0.5, plane="stress"),
    "D_E10_n0.3_strain": dict(E=10e9, nu=0.3, strain0=2e-4, exponent=0.3, plane="strain"),
    "E_E10_n0.3_stress": dict(E=10e9, nu=0.3, strain0=2e-4, exponent=0.3, plane="stress"),
    "F_E200_n0.3_strain": dict(E=200e9, nu=0.3, strain0=1e-3, exponent=0.3, plane="strain"),
    "G_E10_n1_stress": dict(E=10e9, nu=0.3, strain0=2e-4, exponent=1.0, plane="stress"),
    "H_E10_n1_strain": dict(E=10e9, nu=0.3, strain0=2e-4, exponent=1.0, plane="strain"),
    "I_E200_n1_stress": dict(E=200e9, nu=0.3, strain0=1e-3, exponent=1.0, plane="stress"),
    "J_E200_n1_strain": dict(E=200e9, nu=0.3, strain0=1e-3, exponent=1.0, plane="strain"),
}
#: the eight corners of the issue's material range
SWEEP_CORNERS = ["B_E200_n0.3_stress", "D_E10_n0.3_strain", "E_E10_n0.3_stress", "F_E200_n0.3_strain",
                 "G_E10_n1_stress", "H_E10_n1_strain", "I_E200_n1_stress", "J_E200_n1_strain"]
#: data strain box half-width of the recipe (--strain-range) [-]
SWEEP_STRAIN_RANGE = 5e-3
#: design loads: plate remote tension S [Pa] and cantilever end force P [N/m] per material,
#: chosen so the largest strain at 100 % stays inside the data (the OOD count checks it; on the
#: fine meshes the largest |ε| at 100 % is 1.8e-3–3.6e-3 of the data's 5e-3)
SWEEP_DESIGN = {
    "A_E30_n0.7_strain": {"plate": 30e6, "cantilever": 1.0e6},
    "B_E200_n0.3_stress": {"plate": 150e6, "cantilever": 5.0e6},
    # C: 8 MPa / 0.3 MN/m left 400 / 367 points beyond the 5e-3 box at 100 % (strain grows like
    # load^(1/n) = load^2 past ε₀): the design loads are those whose strains stay inside the data
    "C_E10_n0.5_stress": {"plate": 5e6, "cantilever": 0.2e6},
    "D_E10_n0.3_strain": {"plate": 2.5e6, "cantilever": 0.1e6},
    "E_E10_n0.3_stress": {"plate": 2.5e6, "cantilever": 0.1e6},
    "F_E200_n0.3_strain": {"plate": 150e6, "cantilever": 5.0e6},
    "G_E10_n1_stress": {"plate": 8e6, "cantilever": 0.5e6},
    "H_E10_n1_strain": {"plate": 8e6, "cantilever": 0.5e6},
    "I_E200_n1_stress": {"plate": 160e6, "cantilever": 10e6},
    "J_E200_n1_strain": {"plate": 160e6, "cantilever": 10e6},
}
SWEEP_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 1.0)
SWEEP_MESH = {  # fine (benchmark) and coarse (test) discretisations
    "fine": {"plate": ["mesh.element_size=0.08", "mesh.hole_element_size=0.008"], "cantilever": ["mesh.cells=[80, 8]"]},
    "coarse": {"plate": ["mesh.element_size=0.2", "mesh.hole_element_size=0.02"], "cantilever": ["mesh.cells=[40, 4]"]},
}


def train_default_recipe(name: str, material: dict, folder: Path, retrain: bool = False) -> Path:
    """``deepmanifold data generate`` + ``deepmanifold train`` with their defaults (CLI, subprocess)."""
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    data, model = folder / f"{name}.h5", folder / f"{name}.pt"
    if model.exists() and not retrain:
        return model
    table = _inline({"law": "power_law_elastic", **material})[1:-1]
    py = [sys.executable, "-m", "coupling"]
    subprocess.run([*py, "data", "generate", "-o", str(data), "--material", table,
                    "--strain-range", str(SWEEP_STRAIN_RANGE)], check=True, cwd=ROOT)
    subprocess.run([*py, "train", str(data), "-o", str(model), "-q"], check=True, cwd=ROOT)
    return model


def solve_case(case_file: Path, sets: list[str], law=None) -> tuple[np.ndarray, dict]:
    """Displacement dofs and solver statistics of a FEM case (``law`` replaces its material)."""
    case = coupling.load_case(case_file, [*sets, "probes=[]"])
    problem, _ = build_problem(case)
    if law is not None:
        problem.law = law
    stats = problem.solve(load_steps=case.spec.fem.load_steps).stats
    return problem.u.x.array.copy(), stats.as_dict()


def sweep_row(case_name: str, material: dict, model: Path, load: float, mesh_sets: list[str]) -> dict:
    """One (case, material, load) point: learned vs analytic on the same mesh."""
    from learned.checkpoint import load_law

    case_file = ROOT / "cases" / f"{'plate_hole' if case_name == 'plate' else 'cantilever'}.toml"
    load_set = (f"boundary.traction[0].traction=[0.0, {load}]" if case_name == "plate"
                else f"boundary.traction[0].force=[0.0, {-load}]")
    truth = "material=" + _inline({"law": "power_law_elastic", **material})
    ref, s_ref = solve_case(case_file, [*mesh_sets, load_set, truth])
    law = load_law(model, device="cpu")
    u, s = solve_case(case_file, [*mesh_sets, load_set, truth], law)
    ood = law.out_of_distribution_report()
    return {"case": case_name, "load": load, "relative_l2_displacement_error": rel(u, ref),
            "newton_iterations_learned": s["newton_iterations_total"],
            "newton_iterations_analytic": s_ref["newton_iterations_total"],
            "ood_points_outside": ood.get("outside_last"), "ood_points": ood.get("points_last"),
            "ood_worst_excursion": ood.get("worst_excursion")}


def sweep(mesh: str = "fine", materials: list[str] | None = None, retrain: bool = False,
          save=None) -> dict:
    """Per material (trained first with the default recipe, the models kept in
    out/sweep_models): both cases at every load fraction. ``save(partial)`` is called after
    each material, so the JSON grows as the sweep runs."""
    folder = HERE / "out" / "sweep_models"
    out: dict = {"recipe": ["deepmanifold data generate -o NAME.h5 --material TABLE --strain-range "
                            f"{SWEEP_STRAIN_RANGE}", "deepmanifold train NAME.h5 -o NAME.pt"],
                 "fractions": list(SWEEP_FRACTIONS), "mesh": mesh, "rows": []}
    for name in materials or list(SWEEP_MATERIALS):
        material = SWEEP_MATERIALS[name]
        model = train_default_recipe(name, material, folder, retrain)
        report = json.loads(model.with_suffix(".json").read_text())
        out.setdefault("training", {})[name] = {
            "settings": report.get("settings"), "time_s": report.get("time_s"),
            "polish": report.get("polish"), "metrics": report.get("metrics"),
            "error_by_strain_magnitude_val": report.get("error_by_strain_magnitude", {}).get("val")}
        for case_name in ("plate", "cantilever"):
            for f in SWEEP_FRACTIONS:
                row = {"material": name, **material,
                       **sweep_row(case_name, material, model, f * SWEEP_DESIGN[name][case_name],
                                   SWEEP_MESH[mesh][case_name]), "fraction": f}
                print(json.dumps(row), flush=True)
                out["rows"].append(row)
        _sweep_summary(out)
        if save is not None:
            save(out)
    return out


def _sweep_summary(out: dict) -> None:
    """Worst error and Newton excess, worst per material and case, margin to the 1 % bound."""
    errs = [r["relative_l2_displacement_error"] for r in out["rows"]]
    out["worst_relative_l2_displacement_error"] = max(errs)
    out["worst_by_material"] = {
        name: {case: max(r["relative_l2_displacement_error"] for r in out["rows"]
                         if r["material"] == name and r["case"] == case) for case in ("plate", "cantilever")}
        for name in dict.fromkeys(r["material"] for r in out["rows"])}
    out["margin_to_1_percent"] = 0.01 / max(errs)
    out["worst_newton_iteration_excess"] = max(r["newton_iterations_learned"] - r["newton_iterations_analytic"]
                                               for r in out["rows"])


def recipe_cost(material: str = "E_E10_n0.3_stress", rounds: int = 3, epochs: int = 10,
                lbfgs_iterations: int = 50) -> dict:
    """Training cost of the recipe's MLP at its former (32x32) and present widths (``MLP_HIDDEN``).

    On one sweep material's default data (5000 log samples, ``SWEEP_STRAIN_RANGE``), alternating
    widths in each of ``rounds`` rounds (a loaded machine's drift then hits both alike): the wall
    and CPU time of ``epochs`` Adam epochs and of ``lbfgs_iterations`` full-batch L-BFGS
    iterations (stress loss), from the same seed. Per width the medians; the ratio recipe/former per
    round and its median; and, when the sweep trained the material (out/sweep_models), the
    iterations its training ran, which times the per-iteration cost estimate a full training.
    """
    import torch

    from learned.dataset import generate_dataset
    from learned.training import cpu_threads, fit, polish, relative_mse, split_indices
    from learned.models import build_model

    law = PowerLawElastic(**SWEEP_MATERIALS[material])
    ds = generate_dataset(law, 5000, SWEEP_STRAIN_RANGE, 0.0, 0.0, 0, "log")
    tr, va = split_indices(len(ds), 0.2, 0)
    s_e, s_s = ds.strain[tr].std(0), ds.stress[tr].std(0)
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    loss = relative_mse(t(s_s), float(((ds.stress[tr] / s_s) ** 2).sum(1).mean()))
    from learned.training_defaults import MLP_HIDDEN

    recipe = "x".join(str(w) for w in MLP_HIDDEN)
    widths = {"32x32": (32, 32), recipe: tuple(MLP_HIDDEN)}
    runs: dict = {k: [] for k in widths}
    with cpu_threads(1):
        warm = build_model({"arch": "mlp", "hidden": [32, 32], "activation": "silu", "linear_part": True}, s_e, s_s)
        fit(warm.double(), t(ds.strain[tr]), t(ds.stress[tr]), None, None, loss, epochs=1, patience=None)  # untimed
        for _ in range(rounds):
            for name, hidden in widths.items():
                torch.manual_seed(0)
                net = build_model({"arch": "mlp", "hidden": list(hidden), "activation": "silu", "linear_part": True},
                                  s_e, s_s).double()
                w0, c0 = time.perf_counter(), time.process_time()
                fit(net, t(ds.strain[tr]), t(ds.stress[tr]), t(ds.strain[va]), t(ds.stress[va]), loss,
                    epochs=epochs, lr=5e-3, patience=None)
                w1, c1 = time.perf_counter(), time.process_time()
                info = polish(net, t(ds.strain[tr]), t(ds.stress[tr]), t(ds.strain[va]), t(ds.stress[va]), loss,
                              iterations=lbfgs_iterations)
                w2, c2 = time.perf_counter(), time.process_time()
                runs[name].append({"adam_epoch_s": (w1 - w0) / epochs, "adam_epoch_cpu_s": (c1 - c0) / epochs,
                                   "lbfgs_iteration_s": (w2 - w1) / max(info["iterations"], 1),
                                   "lbfgs_iteration_cpu_s": (c2 - c1) / max(info["iterations"], 1)})
                print(name, json.dumps(runs[name][-1]), flush=True)
    med = {name: {k: float(np.median([r[k] for r in rs])) for k in rs[0]} for name, rs in runs.items()}
    out: dict = {"material": material, "epochs": epochs, "lbfgs_iterations": lbfgs_iterations, "runs": runs,
                 "median": med, "load_average_1min": os.getloadavg()[0],
                 "recipe": recipe,
                 "ratio_recipe_over_32x32": {k: float(np.median([b[k] / a[k] for a, b in zip(runs["32x32"], runs[recipe])]))
                                      for k in runs["32x32"][0]}}
    print(json.dumps({k: out[k] for k in ("median", "ratio_recipe_over_32x32")}), flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--epochs", type=int, default=240)
    p.add_argument("--only", choices=["accuracy", "noise", "cost", "acceleration", "sweep", "recipe_cost"], nargs="+")
    p.add_argument("--sweep-mesh", choices=["fine", "coarse"], default="fine")
    p.add_argument("--sweep-materials", nargs="+", choices=list(SWEEP_MATERIALS))
    p.add_argument("--retrain", action="store_true", help="sweep, cost: retrain even if a model exists")
    p.add_argument("--repeats", type=int, default=3, help="cost: alternating analytic/learned pairs")
    p.add_argument("--cost-models", type=Path, nargs="+",
                   help="cost: checkpoints (default: the default-recipe MLP and the shipped ICNN)")
    p.add_argument("--out", default=str(HERE / "out" / "learned_coupling.json"))
    a = p.parse_args()
    parts = a.only or ["accuracy", "acceleration", "cost", "sweep", "noise"]
    out_path = Path(a.out)
    result = json.loads(out_path.read_text()) if out_path.exists() else {}
    result.update({"benchmark": "learned_coupling", "machine": {"platform": platform.platform()}})
    def _save_partial(partial: dict) -> None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps({**result, "sweep": partial}, indent=2) + "\n")

    for part in parts:
        result[part] = {"accuracy": accuracy, "acceleration": acceleration, "cost": lambda: cost(a.repeats, a.cost_models, a.retrain),
                        "noise": lambda: noise_study(a.sizes, a.epochs), "recipe_cost": recipe_cost,
                        "sweep": lambda: sweep(a.sweep_mesh, a.sweep_materials, a.retrain, save=_save_partial)}[part]()
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
