"""Learned laws in the solvers through case files and the CLI (data generate, train)."""

import json

import numpy as np
import pytest

import coupling
from conftest import CASES, run_cli, summaries_on_ranks

TRUTH = 'material={law="power_law_elastic", E=70e9, nu=0.33, strain0=1e-3, exponent=0.5, plane="stress"}'
COARSE = ["mesh.element_size=0.15", "mesh.hole_element_size=0.02"]


def displacement(case):
    from coupling.runners.fem_model import build_problem

    problem, _ = build_problem(case)
    stats = problem.solve(load_steps=case.spec.fem.load_steps).stats
    return problem.u.x.array.copy(), stats.newton_iterations


def test_learned_plate_matches_the_law_that_made_its_data():
    u_nn, it_nn = displacement(coupling.load_case(CASES / "learned_plate.toml", COARSE))
    u_ref, it_ref = displacement(coupling.load_case(CASES / "learned_plate.toml", COARSE + [TRUTH]))
    assert np.linalg.norm(u_nn - u_ref) / np.linalg.norm(u_ref) <= 0.01
    assert all(a <= b + 1 for a, b in zip(it_nn, it_ref)), (it_nn, it_ref)


@pytest.mark.slow
@pytest.mark.parametrize("load", [10e6, 30e6, 50e6, 70e6])
def test_learned_plate_holds_below_its_design_load(load):
    """The shipped model from 10 % to 70 % of the case's 100 MPa (issue 12: it was 5.8–8.9 %
    off at 10–50 MPa before log sampling and the explicit small-strain stiffness; measured
    now 0.03–0.17 % on this coarse mesh, 0.31 % at 100 MPa), inside its data."""
    from learned.checkpoint import load_law

    sets = COARSE + [f"boundary.traction[0].traction=[0.0, {load}]"]
    law = load_law(CASES / "models" / "power_law_plate_icnn.pt", device="cpu")
    case = coupling.load_case(CASES / "learned_plate.toml", sets)
    from coupling.runners.fem_model import build_problem

    problem, _ = build_problem(case)
    problem.law = law
    it_nn = problem.solve(load_steps=case.spec.fem.load_steps).stats.newton_iterations
    u_nn = problem.u.x.array.copy()
    u_ref, it_ref = displacement(coupling.load_case(CASES / "learned_plate.toml", sets + [TRUTH]))
    assert np.linalg.norm(u_nn - u_ref) / np.linalg.norm(u_ref) <= 0.01
    assert all(a <= b + 1 for a, b in zip(it_nn, it_ref)), (it_nn, it_ref)
    assert law.out_of_distribution_report()["outside_last"] == 0


def test_data_driven_plate_converges_close_to_the_truth():
    """Projection solver on a manifold learned from 2 %-noisy data vs Newton with the true law."""
    result = coupling.run(coupling.load_case(CASES / "data_driven_plate.toml"))
    assert result.summary["solver"]["converged"]
    same_mesh = [TRUTH, "fem.degree=1", "mesh.element_size=0.15", "mesh.hole_element_size=0.015"]
    truth = coupling.run(coupling.load_case(CASES / "learned_plate.toml", same_mesh))
    value = result.results["probes"]["top_displacement"]["value"]
    expected = truth.results["probes"]["top_displacement"]["value"]
    assert abs(value - expected) / abs(expected) < 0.02


def test_case_naming_a_missing_model(tmp_path):
    text = (CASES / "learned_plate.toml").read_text().replace("models/power_law_plate_icnn.pt", "models/nothing.pt")
    (tmp_path / "case.toml").write_text(text)
    r = run_cli("run", str(tmp_path / "case.toml"), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "material.path" in r.stderr and "not found" in r.stderr
    assert not (tmp_path / "out").exists()


def test_checkpoint_of_another_format_version(tmp_path):
    import torch

    ck = torch.load(CASES / "models" / "power_law_plate_icnn.pt", weights_only=True)
    ck["format_version"] = 999
    torch.save(ck, tmp_path / "old.pt")
    text = (CASES / "learned_plate.toml").read_text().replace("models/power_law_plate_icnn.pt", str(tmp_path / "old.pt"))
    (tmp_path / "case.toml").write_text(text)
    r = run_cli("run", str(tmp_path / "case.toml"), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "format_version" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_generate_and_train(tmp_path):
    data, model = tmp_path / "d.h5", tmp_path / "m.pt"
    r = run_cli("data", "generate", "-o", str(data), "-n", "500", "--material",
                'law="power_law_elastic", E=70e9, nu=0.33, strain0=1e-3, exponent=0.5, plane="stress"')
    assert r.returncode == 0, r.stderr
    r = run_cli("train", str(data), "-o", str(model), "--epochs", "5", "--polish-iterations", "0", "-q")
    assert r.returncode == 0, r.stderr
    report = json.loads(model.with_suffix(".json").read_text())
    assert report["n_train"] == 400
    assert model.with_suffix(".png").stat().st_size > 0
    from learned.checkpoint import load_law

    assert load_law(model, device="cpu").plane == "stress"


def test_train_rejects_a_data_set_with_nan(tmp_path):
    import h5py

    data = tmp_path / "d.h5"
    assert run_cli("data", "generate", "-o", str(data), "-n", "50", "--material",
                   'law="linear_elastic", E=1e9, nu=0.3').returncode == 0
    with h5py.File(data, "r+") as f:
        f["stress"][3, 1] = np.nan
    r = run_cli("train", str(data), "-o", str(tmp_path / "m.pt"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "stress" in r.stderr
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.mpi
@pytest.mark.parametrize("case,sets", [
    ("learned_plate", COARSE + ["fem.degree=1"]),
    ("data_driven_plate", ["mesh.element_size=0.3", "mesh.hole_element_size=0.05"]),
])
def test_learned_solvers_on_two_ranks_match_one(tmp_path, case, sets):
    out = summaries_on_ranks(tmp_path, case, sets)
    for name, p in out[1]["results"]["probes"].items():
        assert out[2]["results"]["probes"][name]["value"] == pytest.approx(p["value"], rel=1e-7)


def test_vajont_with_the_learned_friction_law_follows_the_analytic_one():
    """First seconds of the slide: the learned μ(v) gives the motion of the analytic law."""
    short = ["dda.duration=3.0", "dda.output_interval=3.0", "dda.settle_time=0"]  # no static settling: it slides at once
    learned = coupling.run(coupling.load_case(CASES / "vajont_learned_friction.toml", short)).results
    analytic = coupling.run(coupling.load_case(CASES / "vajont_velocity_weakening.toml", short)).results
    assert learned["runout"] == pytest.approx(analytic["runout"], rel=0.05)
    assert learned["runout"] > 0.1  # it does slide


def test_vajont_learned_friction_data_cover_the_event():
    """The learned friction is evaluated inside its data over the whole slide: the data's largest slip
    and slip rate exceed the run-out [m] and twice the peak velocity [m/s] of the analytic law's
    whole run (the committed report of benchmarks/case_resolution.py). With data to 5 m of slip the
    network, unconstrained beyond, gave the slide a peak 13 % above the analytic law's."""
    from learned.checkpoint import load_law

    report = json.loads((CASES.parent / "benchmarks" / "out" / "case_resolution.json").read_text(encoding="utf-8"))
    event = report["cases"]["vajont_velocity_weakening"]["shipped"]
    region = load_law(CASES / "models" / "vajont_clay_friction.pt", device="cpu").model.meta["data_region"]
    assert region["slip_max"] > event["runout"] > 100.0
    assert region["slip_rate_max"] > 2.0 * event["peak_velocity"] > 20.0
