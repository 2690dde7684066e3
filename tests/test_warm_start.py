"""Explicit coupling: a field surrogate (POD + interpolant of an ensemble's FEM displacements)
proposes the initial guess, Newton corrects (``run --initial-guess``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import CASES, cli_inprocess, run_cli

# a power-law material (nonlinear: Newton takes 6 iterations cold) on a coarse cantilever, one load step
MATERIAL = 'material={law="power_law_elastic", E=30e9, nu=0.25, strain0=1e-5, exponent=0.5, plane="stress"}'
SMALL = {"mesh.cells": [20, 2], "fem.load_steps": 1, "output.plots": False, "output.fields": False}
SETS = ["--set", MATERIAL, "--set", "mesh.cells=[20,2]", "--set", "fem.load_steps=1",
        "--set", "output.plots=false", "--set", "output.fields=false"]


@pytest.fixture(scope="module")
def surrogate(tmp_path_factory):
    """A 5-member ensemble over E (grid 22..38 GPa) and its displacement field surrogate."""
    from coupling.case.loader import parse_overrides
    from coupling.ensemble.design import Parameter
    from coupling.ensemble.engine import run_ensemble
    from coupling.ensemble.warm_start import train_field

    tmp = tmp_path_factory.mktemp("warm")
    params = [Parameter("material.E", 20e9, 40e9)]
    points = np.array([[22e9], [26e9], [30e9], [34e9], [38e9]])
    overrides = {**parse_overrides([MATERIAL]), **SMALL, "output.displacement": True}
    res = run_ensemble(CASES / "cantilever.toml", params, points, tmp / "ens", overrides=overrides, progress=None)
    assert [m["status"] for m in res.members] == ["ok"] * 5
    path, report = train_field(tmp / "ens" / "ensemble.h5", tmp / "S.pt")
    return tmp, path, report


def test_field_surrogate_reproduces_members_and_reports_its_error(surrogate):
    from learned.field_surrogate import load_field_surrogate

    tmp, path, report = surrogate
    sur = load_field_surrogate(path)
    assert sur.parameter_keys == ["material.E"] and report["modes"] >= 1 and len(report["leave_one_out"]) == 5
    with np.load(tmp / "ens" / "members" / "0002" / "displacement.npz") as z:
        u = z["displacement"].reshape(-1)
        assert z["coordinates"].shape == (sur.num_nodes, 2)
    # an interpolant: exact at a member up to the discarded POD energy (1e-6 of Σσ²)
    err = np.linalg.norm(sur.predict(np.array([[30e9]]))[0] - u) / np.linalg.norm(u)
    assert err < 1e-3, err
    json.loads(path.with_suffix(".json").read_text())  # the report beside the checkpoint
    # the CLI names the field's points as the solver does: FEM nodes
    assert report["solver"] == "fem"
    code, out, err = cli_inprocess("surrogate", "field", str(tmp / "ens" / "ensemble.h5"), "-o", str(tmp / "S_cli.pt"))
    assert code == 0 and err == "", err
    assert f"5 members, {sur.num_nodes} nodes," in out, out


def test_warm_start_converges_to_the_cold_answer_in_fewer_iterations(surrogate):
    tmp, path, _ = surrogate
    at = ["--set", "material.E=31e9", "--set", "output.displacement=true"]  # not a member
    cold = run_cli("run", "cases/cantilever.toml", *SETS, *at, "-q", "-o", str(tmp / "cold"))
    assert cold.returncode == 0, cold.stderr
    # the warm run on 2 ranks: the guess is matched to the nodes by coordinates on any partition
    warm = run_cli("run", "cases/cantilever.toml", *SETS, *at, "-q", "-o", str(tmp / "warm"),
                   "--initial-guess", str(path), nproc=2)
    assert warm.returncode == 0, warm.stderr
    c = json.loads((tmp / "cold" / "summary.json").read_text())
    w = json.loads((tmp / "warm" / "summary.json").read_text())
    guess = w["solver"]["initial_guess"]
    assert guess["surrogate"] == str(path) and guess["parameters"] == {"material.E": 31e9}
    # the reference of the warm test is the cold start's R0 (one residual of u = 0)
    r0 = c["solver"]["residual_history"][0][0]
    assert guess["cold_initial_residual"] == pytest.approx(r0, rel=1e-12)
    assert 0 < guess["predicted_residual"] < 1  # the proposal is closer to equilibrium than u = 0
    assert guess["predicted_residual"] == pytest.approx(w["solver"]["residual_history"][0][0] / r0, rel=1e-12)
    n_cold, n_warm = c["solver"]["newton_iterations"][0], w["solver"]["newton_iterations"][0]
    assert n_cold >= 4 and guess["iterations"] == n_warm < n_cold
    # both stop at the same absolute accuracy: ‖R‖ ≤ rtol ‖R0,cold‖
    rtol = c["case"]["input"]["fem"]["newton"]["rtol"]
    assert w["solver"]["residual_history"][0][-1] <= rtol * r0
    # same converged field (partition-independent files; 1 rank vs 2 ranks). The residual test
    # bounds the difference by ~cond · rtol; measured 6e-14 of max|u|, asserted 1e-12 (16x)
    with np.load(tmp / "cold" / "displacement.npz") as zc, np.load(tmp / "warm" / "displacement.npz") as zw:
        # same node order; coordinates equal to round-off (measured 9e-16 m on this 10 m beam)
        np.testing.assert_allclose(zc["coordinates"], zw["coordinates"], rtol=0, atol=1e-12)
        diff = np.abs(zc["displacement"] - zw["displacement"]).max() / np.abs(zc["displacement"]).max()
    assert diff < 1e-12, diff
    for name, p in c["results"]["probes"].items():
        assert w["results"]["probes"][name]["value"] == pytest.approx(p["value"], rel=1e-12)


def test_warm_start_over_several_load_steps_predicts_each_step(surrogate):
    """Step k starts from u_{k-1} + (λ_k − λ_{k-1}) u_pred and stops at the cold step's accuracy."""
    tmp, path, _ = surrogate
    at = ["--set", "material.E=31e9", "--set", "output.displacement=true", "--set", "fem.load_steps=3"]
    runs = {}
    for kind, extra in (("cold3", []), ("warm3", ["--initial-guess", str(path)])):
        r = run_cli("run", "cases/cantilever.toml", *SETS, *at, "-q", "-o", str(tmp / kind), *extra)
        assert r.returncode == 0, r.stderr
        runs[kind] = json.loads((tmp / kind / "summary.json").read_text())
    c, w = runs["cold3"]["solver"], runs["warm3"]["solver"]
    guess = w["initial_guess"]
    assert len(guess["iterations_per_step"]) == 3 and guess["iterations_per_step"] == w["newton_iterations"]
    # every step's reference is the residual where the cold step starts (the previous converged
    # state, equal in both runs to the tolerance): the cold run's own first residuals
    for ref, hist in zip(guess["cold_initial_residual_per_step"], c["residual_history"]):
        assert ref == pytest.approx(hist[0], rel=1e-6)
    # the scaled prediction is not closer in residual on this strongly nonlinear law (ε ~ σ²:
    # measured 9.2, 1.17, 2.96 x the cold start's), but its shape is: Newton needs fewer
    # iterations in total (measured 15 -> 12)
    assert all(np.isfinite(p) and p > 0 for p in guess["predicted_residual_per_step"])
    assert sum(w["newton_iterations"]) < sum(c["newton_iterations"])
    rtol = runs["cold3"]["case"]["input"]["fem"]["newton"]["rtol"]
    for ref, hist in zip(guess["cold_initial_residual_per_step"], w["residual_history"]):
        assert hist[-1] <= rtol * ref
    # same converged field: each step stops somewhere below rtol ‖R0‖ and the error carries over
    # the steps; measured 1.6e-12 of max|u| (rtol 1e-8 of the residual); asserted 2e-11 (12x)
    with np.load(tmp / "cold3" / "displacement.npz") as zc, np.load(tmp / "warm3" / "displacement.npz") as zw:
        diff = np.abs(zc["displacement"] - zw["displacement"]).max() / np.abs(zc["displacement"]).max()
    assert diff < 2e-11, diff


def test_initial_guess_refuses_what_it_cannot_warm_start(surrogate, tmp_path):
    import torch

    _, path, _ = surrogate
    scalar = tmp_path / "scalar.pt"  # a surrogate of scalar results (no field)
    torch.save({"format": "deepmanifold.checkpoint", "format_version": 1, "kind": "surrogate"}, scalar)
    cases = [
        (["cases/dda_incline.toml", "--initial-guess", str(path)], "--initial-guess: a 'dda' case"),
        (["cases/cantilever.toml", *SETS, "--set", "mesh.cells=[10,2]", "--initial-guess", str(path)],
         "a field on 205 nodes for this mesh of 105"),
        (["cases/cantilever.toml", *SETS, "--initial-guess", str(scalar)], "without a field"),
    ]
    for i, (args, expected) in enumerate(cases):
        out = tmp_path / f"out{i}"
        r = run_cli("run", *args, "-q", "-o", str(out))
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), r.stderr
        assert expected in lines[0], lines[0]
        assert not out.exists()


# NMM: the same power-law cantilever on order-1 covers (Newton takes 6 iterations cold)
NMM_SETS = ["--set", MATERIAL, "--set", "cover.cells=[20,2]", "--set", "output.plots=false",
            "--set", "output.fields=false", "--set", "output.displacement=true"]


def test_nmm_warm_start_converges_to_the_cold_answer_in_fewer_iterations(tmp_path):
    from coupling.case.loader import parse_overrides
    from coupling.ensemble.design import Parameter
    from coupling.ensemble.engine import run_ensemble
    from coupling.ensemble.warm_start import train_field

    params = [Parameter("material.E", 20e9, 40e9)]
    overrides = parse_overrides(NMM_SETS[1::2])
    res = run_ensemble(CASES / "nmm_cantilever.toml", params, np.array([[22e9], [28e9], [34e9], [38e9]]),
                       tmp_path / "ens", overrides=overrides, progress=None)
    assert [m["status"] for m in res.members] == ["ok"] * 4
    path, report = train_field(tmp_path / "ens" / "ensemble.h5", tmp_path / "S.pt")
    with np.load(tmp_path / "ens" / "members" / "0000" / "displacement.npz") as z:
        assert z["displacement"].shape == (report["nodes"], 6)  # order-1 covers: 3 functions x 2 components
    # the CLI names the field's points as the NMM code does: physical covers, not nodes
    assert report["solver"] == "nmm"
    code, out, err = cli_inprocess("surrogate", "field", str(tmp_path / "ens" / "ensemble.h5"), "-o",
                                   str(tmp_path / "S_cli.pt"))
    assert code == 0 and err == "", err
    assert f"4 members, {report['nodes']} physical covers," in out and "nodes" not in out, out
    at = ["--set", "material.E=31e9"]  # not a member
    cold = run_cli("run", "cases/nmm_cantilever.toml", *NMM_SETS, *at, "-q", "-o", str(tmp_path / "cold"))
    assert cold.returncode == 0, cold.stderr
    warm = run_cli("run", "cases/nmm_cantilever.toml", *NMM_SETS, *at, "-q", "-o", str(tmp_path / "warm"),
                   "--initial-guess", str(path), nproc=2)
    assert warm.returncode == 0, warm.stderr
    c = json.loads((tmp_path / "cold" / "summary.json").read_text())
    w = json.loads((tmp_path / "warm" / "summary.json").read_text())
    guess = w["solver"]["initial_guess"]
    assert guess["parameters"] == {"material.E": 31e9} and guess["outside_range"] == []
    assert 0 < guess["predicted_residual"] < 1  # the proposal is closer to equilibrium than u = 0
    n_cold, n_warm = c["solver"]["newton_iterations"], w["solver"]["newton_iterations"]
    assert n_cold >= 4 and guess["iterations"] == n_warm < n_cold
    rtol = c["case"]["input"]["nmm"]["newton"]["rtol"]
    # both stop on ‖R‖ ≤ rtol ‖R0,cold‖: residual_history holds ‖R‖/‖R0,cold‖ for both
    assert c["solver"]["residual_history"][-1] <= rtol and w["solver"]["residual_history"][-1] <= rtol
    # same converged DOFs (2 ranks warm vs 1 rank cold) to the solver tolerance: measured 1.6e-11
    # of max|u| with rtol = 1e-9; asserted rtol itself (60x the measured)
    with np.load(tmp_path / "cold" / "displacement.npz") as zc, np.load(tmp_path / "warm" / "displacement.npz") as zw:
        np.testing.assert_array_equal(zc["coordinates"], zw["coordinates"])
        diff = np.abs(zc["displacement"] - zw["displacement"]).max() / np.abs(zc["displacement"]).max()
    assert diff < rtol, diff
    # an NMM surrogate on a FEM case, a FEM-sized cover mismatch: refused with one line
    for args, expected in ((["cases/nmm_cantilever.toml", *NMM_SETS, "--set", "cover.cells=[10,2]"], "covers"),
                           (["cases/nmm_cantilever.toml", *NMM_SETS, "--set", "nmm.load_steps=2"],
                            "nmm.load_steps: found 2 load steps")):
        out = tmp_path / "bad"
        r = run_cli("run", *args, "--initial-guess", str(path), "-q", "-o", str(out))
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and expected in lines[0], r.stderr
        assert not out.exists()


# data-driven: the plate with a hole on a coarse mesh, projected onto an analytic power law
# (the Anderson fixed point takes ~50 iterations cold)
DD_SETS = ["--set", 'data.law={law="power_law_elastic", E=30e9, nu=0.25, strain0=1e-4, exponent=0.7, plane="stress"}',
           "--set", "mesh.element_size=0.4", "--set", "mesh.hole_element_size=0.05", "--set", "output.plots=false",
           "--set", "output.fields=false", "--set", "output.displacement=true"]


def test_data_driven_warm_start_reaches_the_cold_fixed_point(tmp_path):
    from coupling.case.loader import parse_overrides
    from coupling.ensemble.design import Parameter
    from coupling.ensemble.engine import run_ensemble
    from coupling.ensemble.warm_start import train_field

    params = [Parameter("data.law.E", 20e9, 40e9)]
    res = run_ensemble(CASES / "data_driven_plate.toml", params, np.array([[22.5e9], [27.5e9], [32.5e9], [37.5e9]]),
                       tmp_path / "ens", overrides=parse_overrides(DD_SETS[1::2]), progress=None)
    assert [m["status"] for m in res.members] == ["ok"] * 4
    path, _ = train_field(tmp_path / "ens" / "ensemble.h5", tmp_path / "S.pt")
    at = ["--set", "data.law.E=31e9"]
    cold = run_cli("run", "cases/data_driven_plate.toml", *DD_SETS, *at, "-q", "-o", str(tmp_path / "cold"))
    assert cold.returncode == 0, cold.stderr
    warm = run_cli("run", "cases/data_driven_plate.toml", *DD_SETS, *at, "-q", "-o", str(tmp_path / "warm"),
                   "--initial-guess", str(path))
    assert warm.returncode == 0, warm.stderr
    c = json.loads((tmp_path / "cold" / "summary.json").read_text())
    w = json.loads((tmp_path / "warm" / "summary.json").read_text())
    guess = w["solver"]["initial_guess"]
    # the proposal's first fixed-point change is far below the cold start's (1.0: from the origin)
    assert guess["predicted_residual"] == w["solver"]["residual_history"][0] < 0.1 * c["solver"]["residual_history"][0]
    assert guess["iterations"] == w["solver"]["iterations"] < c["solver"]["iterations"]
    # both stop on ‖G(x) − x‖ ≤ rtol ‖G(x)‖; the distance to the fixed point is ~ rtol / (1 − ρ), ρ the
    # contraction rate (slow here: ~50 iterations): measured 4.7e-8 of max|u| with rtol 1e-8; asserted 1e-6
    rtol = c["case"]["input"]["fixed_point"]["rtol"]
    with np.load(tmp_path / "cold" / "displacement.npz") as zc, np.load(tmp_path / "warm" / "displacement.npz") as zw:
        diff = np.abs(zc["displacement"] - zw["displacement"]).max() / np.abs(zc["displacement"]).max()
    assert diff < 100 * rtol, diff


@pytest.mark.parametrize("kind, points, allowed", [("nmm", "physical covers", "one cover system"),
                                                   ("fem", "nodes", "one mesh")])
def test_member_fields_names_the_field_points_as_the_solver_does(tmp_path, kind, points, allowed):
    """Members on different meshes / cover systems are refused with the solver's word for the
    points of the field (no solve: two hand-written member folders)."""
    from coupling.ensemble.table import write_table
    from coupling.ensemble.warm_start import member_fields
    from coupling.errors import CaseError

    write_table(tmp_path / "ensemble.h5", [{"key": "material.E", "lo": 1.0, "hi": 2.0, "log": False}],
                np.array([[1.0], [2.0]]), [{"status": "ok", "scalars": {}}] * 2, {"case": "x"})
    rng = np.random.default_rng(0)
    for i, n in ((0, 5), (1, 6)):
        folder = tmp_path / "members" / f"{i:04d}"
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps({"solver": {"kind": kind}}))
        np.savez(folder / "displacement.npz", coordinates=rng.random((n, 2)), displacement=np.zeros((n, 2)))
    with pytest.raises(CaseError) as exc:
        member_fields(tmp_path / "ensemble.h5")
    line = exc.value.line()
    assert f"6 {points} unlike member 0000's 5" in line and allowed in line, line
