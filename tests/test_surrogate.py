"""Surrogates (learned/surrogate.py) and calibration (coupling/ensemble/calibration.py) on
functions with known answers; the CLI on a tiny DDA ensemble; synthetic-truth recoveries (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import CASES, run_cli

THETA = np.radians(30.0)


def travel(phi_deg, t=1.0):
    """Block on a 30° incline: d(t) = ½ g (sin θ − cos θ tan φ) t² [m] (design.md §5)."""
    return 0.5 * 9.81 * (np.sin(THETA) - np.cos(THETA) * np.tan(np.radians(phi_deg))) * t ** 2


def test_surrogate_learns_a_smooth_response_and_reports_held_out_error(tmp_path):
    from learned.surrogate import load_surrogate, save_surrogate, train_surrogate

    phi = np.linspace(15.0, 28.0, 10)[:, None]
    E = np.geomspace(1e9, 1e11, 10)[:, None]
    x = np.hstack([phi, E[::-1]])  # two inputs, one on a log scale
    y = np.c_[travel(phi[:, 0]), 1e6 / x[:, 1]]
    net, report = train_surrogate(x, y, lo=[15, 1e9], hi=[28, 1e11], log=[False, True], parameter_keys=["phi", "E"],
                                  output_names=["travel", "u"], members=3, iterations=300, seed=1)
    assert report["validation_points"] == 2
    for name in ("travel", "u"):
        r = report["outputs"][name]
        assert np.isfinite(r["validation_rmse"]) and r["validation_mean_spread"] > 0
    mean, spread = net.predict(x)
    assert mean.shape == spread.shape == (10, 2)
    # the training points are fitted to well under 1 % of each output's spread over the data
    # (measured ~1e-4 of it; the factor 10+ margin keeps L-BFGS round-off far away)
    assert np.all(np.abs(mean - y) < 0.01 * y.std(0))
    path = save_surrogate(tmp_path / "s.pt", net, report)
    again, rep2 = load_surrogate(path)
    np.testing.assert_array_equal(again.predict(x)[0], mean)
    assert again.parameter_keys == ["phi", "E"] and again.output_names == ["travel", "u"]
    assert rep2["outputs"]["u"] == pytest.approx(report["outputs"]["u"])


def test_surrogate_loader_refuses_foreign_files(tmp_path):
    from learned.errors import CheckpointError
    from learned.surrogate import load_surrogate

    bad = tmp_path / "x.pt"
    bad.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable or corrupt"):
        load_surrogate(bad)
    with pytest.raises(CheckpointError, match="kind: found 'constitutive'"):
        load_surrogate(CASES / "models" / "power_law_plate_icnn.pt")


class _Linear:
    """A stand-in surrogate y = a x + b with a constant spread (the calibration's interface)."""

    parameter_keys = ["x"]
    output_names = ["y"]

    def __init__(self, a, b, spread):
        self.a, self.b, self.spread = a, b, spread

    def predict(self, x):
        x = np.atleast_2d(x)
        return self.a * x + self.b, np.full_like(x, self.spread, dtype=float)


def test_metropolis_matches_the_gaussian_posterior_of_a_linear_model():
    from coupling.ensemble.calibration import Observation, metropolis, summarise
    from coupling.ensemble.design import Parameter

    # y = 2 x + 1 observed as 7 ± 0.3 with surrogate spread 0.4: posterior x ~ N(3, 0.5/2 = 0.25) (flat prior on [0, 6])
    net = _Linear(2.0, 1.0, 0.4)
    params = [Parameter("x", 0.0, 6.0)]
    mc = metropolis(net, params, [Observation("y", 7.0, 0.3)], chains=16, steps=3000, burn_in=1000, seed=0)
    post = summarise(mc["samples"], params)["x"]
    # Monte Carlo error of the mean ~ 0.25 / sqrt(effective samples ~ 2000) ≈ 0.006; allow 5x
    assert post["mean"] == pytest.approx(3.0, abs=0.03)
    assert post["std"] == pytest.approx(0.25, rel=0.1)
    assert 0.15 < mc["acceptance"] < 0.6


def test_cli_surrogate_and_calibrate_on_a_tiny_ensemble(tmp_path):
    from coupling.ensemble.design import Parameter
    from coupling.ensemble.engine import run_ensemble

    fast = {"dda.duration": 0.02, "output.plots": False, "output.fields": False}
    params = [Parameter("joints.default.law.phi", 15.0, 28.0)]
    run_ensemble(CASES / "dda_incline.toml", params, np.array([[15.5], [19.0], [23.0], [27.5]]), tmp_path / "ens",
                 overrides=fast, progress=None)
    table = tmp_path / "ens" / "ensemble.h5"
    from coupling.ensemble.table import read_table

    units = read_table(table)["output_units"]  # summary.json's units (session 19: the table had none)
    assert units["runout"] == "m" and units["peak_velocity"] == "m/s" and units["solver.steps"] == ""
    r = run_cli("surrogate", "train", str(table), "-o", str(tmp_path / "s.pt"), "--outputs", "runout",
                "--members", "3", "--iterations", "100")
    assert r.returncode == 0, r.stderr
    assert "runout: validation RMSE" in r.stdout and " m (" in r.stdout, r.stdout
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["validation_points"] == 1 and report["points"] == 4 and report["outputs"]["runout"]["unit"] == "m"
    r = run_cli("surrogate", "predict", str(tmp_path / "s.pt"), "--at", "joints.default.law.phi=20", "--json")
    assert r.returncode == 0, r.stderr
    assert set(json.loads(r.stdout)["outputs"]) == {"runout"}
    assert json.loads(r.stdout)["outputs"]["runout"]["unit"] == "m"
    r = run_cli("surrogate", "predict", str(tmp_path / "s.pt"), "--at", "joints.default.law.phi=20")
    assert r.returncode == 0 and r.stdout.startswith("runout = ") and r.stdout.rstrip().endswith(" m"), r.stdout
    for bad, expected in ((["--observe", "nope=1±0.1"], "--observe: found 'nope'"),
                          (["--observe", "runout=1"], "--observe: found 'runout=1'"),
                          (["--observe", "runout=-1e-4±1e-5", "--free", "joints.default.law.phi=10:20"],
                           "outside the surrogate's range")):
        r = run_cli("calibrate", "dda_incline", "--surrogate", str(tmp_path / "s.pt"), *bad, "-o", str(tmp_path / "cal"))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and expected in r.stderr, r.stderr
        assert not (tmp_path / "cal").exists()
    foreign = tmp_path / "foreign"  # a user's folder: refused, left as it was
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    r = run_cli("calibrate", "dda_incline", "--surrogate", str(tmp_path / "s.pt"), "--observe", "runout=-3e-4±1e-4",
                "-o", str(foreign))
    assert r.returncode == 2 and "is an existing folder that is not a calibration" in r.stderr, r.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"] and (foreign / "notes.txt").read_text() == "mine"
    r = run_cli("calibrate", "dda_incline", "--surrogate", str(tmp_path / "s.pt"), "--observe", "runout=-3e-4±1e-4",
                "--steps", "300", "--confirm-samples", "1", "-o", str(tmp_path / "cal"), "-q")
    assert r.returncode == 0, r.stderr
    assert "runout: observed -0.0003 ± 0.0001 m | surrogate" in r.stdout, r.stdout
    cal = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    row = cal["comparison"][0]
    assert row["unit"] == "m"
    assert row["observed"] == -3e-4 and row["solver"] is not None and len(row["solver_samples"]) == 1
    assert cal["confirmation"]["status"] == ["ok", "ok"]
    check = cal["consistency"]  # the posterior-predictive check and the contraction, in the report
    assert check["observations"][0]["name"] == "runout" and set(check["parameters"]) == {"joints.default.law.phi"}
    assert (tmp_path / "cal" / "calibration.png").stat().st_size > 0
    assert (tmp_path / "cal" / "corner.png").stat().st_size > 0
    # the closing line names every file of the folder (posterior_samples.npy was left out)
    wrote = r.stdout.strip().splitlines()[-1]
    assert wrote.startswith("wrote ")
    named = [n.strip() for n in wrote[len("wrote "):].split(",")]
    named = {Path(named[0]).name, *named[1:]}
    assert named == {p.name + ("/" if p.is_dir() else "") for p in (tmp_path / "cal").iterdir()}


def _cli_ok(*args):
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.slow
def test_dda_incline_friction_angle_recovered_from_an_observed_travel(tmp_path):
    """Synthetic truth: φ = 21.7° hidden; its solver travel observed; the calibrated φ within 0.5°."""
    fast = ["--set", "dda.duration=0.5", "--set", "output.plots=false", "--set", "output.fields=false"]
    truth = tmp_path / "truth"
    _cli_ok("run", "dda_incline", *fast, "--set", "joints.default.law.phi=21.7", "-o", str(truth), "-q")
    observed = json.loads((truth / "summary.json").read_text())["results"]["runout"]
    _cli_ok("ensemble", "dda_incline", "--vary", "joints.default.law.phi=15:28", "--samples", "8", *fast,
            "-o", str(tmp_path / "ens"), "-q")
    _cli_ok("surrogate", "train", str(tmp_path / "ens" / "ensemble.h5"), "-o", str(tmp_path / "s.pt"), "--outputs", "runout")
    sigma = 0.002 * abs(observed)  # a 0.2 % measurement
    _cli_ok("calibrate", "dda_incline", "--surrogate", str(tmp_path / "s.pt"), "--observe", f"runout={observed}±{sigma}",
            "--confirm-samples", "1", "-o", str(tmp_path / "cal"), "-q")
    cal = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    phi = cal["posterior"]["joints.default.law.phi"]["mean"]
    assert abs(phi - 21.7) < 0.5, cal["posterior"]
    row = cal["comparison"][0]
    assert abs(row["solver"] - observed) < 3 * sigma + abs(row["surrogate"] - observed)
    check = cal["consistency"]  # the observation is reached and pins φ down
    assert check["observations"][0]["reached"] and check["parameters"]["joints.default.law.phi"]["constrained"], check


@pytest.mark.slow
def test_fem_plate_youngs_modulus_recovered_from_one_displacement(tmp_path):
    """Synthetic truth: E = 37 GPa hidden in the plane-stress cantilever plate; its tip
    deflection observed; the calibrated E within 2 %."""
    coarse = ["--set", "mesh.cells=[20, 2]", "--set", "output.plots=false", "--set", "output.fields=false"]
    truth = tmp_path / "truth"
    _cli_ok("run", "cantilever", *coarse, "--set", "material.E=37e9", "-o", str(truth), "-q")
    observed = json.loads((truth / "summary.json").read_text())["results"]["probes"]["tip_deflection"]["value"]
    _cli_ok("ensemble", "cantilever", "--vary", "material.E=10e9:60e9:log", "--samples", "8", *coarse,
            "-o", str(tmp_path / "ens"), "-q")
    _cli_ok("surrogate", "train", str(tmp_path / "ens" / "ensemble.h5"), "-o", str(tmp_path / "s.pt"),
            "--outputs", "probes.tip_deflection")
    sigma = 0.002 * abs(observed)
    _cli_ok("calibrate", "cantilever", "--surrogate", str(tmp_path / "s.pt"),
            "--observe", f"probes.tip_deflection={observed}±{sigma}", "--confirm-samples", "1", "-o", str(tmp_path / "cal"), "-q")
    cal = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    E = cal["posterior"]["material.E"]["mean"]
    assert abs(E / 37e9 - 1) < 0.02, cal["posterior"]
    check = cal["consistency"]  # the observation is reached and pins E down
    assert check["observations"][0]["reached"] and check["parameters"]["material.E"]["constrained"], check


def test_consistency_flags_an_unreached_observation_and_an_unconstrained_parameter():
    """The calibration report's check (coupling.ensemble.calibration.consistency): an
    observation inside the model's reach gives |z| < 3 and constrains the parameter it
    depends on; one beyond the model's range (y = 2x + 1 ≤ 13 on [0, 6], observed 20 ± 0.3)
    is flagged; a parameter the output does not depend on keeps the prior's variance."""
    from coupling.ensemble.calibration import Observation, consistency, consistency_lines, metropolis
    from coupling.ensemble.design import Parameter

    class _TwoInputs:  # y = 2 x + 1, independent of w
        output_names = ["y"]

        def predict(self, x):
            x = np.atleast_2d(x)
            return 2.0 * x[:, :1] + 1.0, np.full((len(x), 1), 0.1)

    net = _TwoInputs()
    params = [Parameter("x", 0.0, 6.0), Parameter("w", 1e-3, 1e-1, log=True)]
    for observed, reached in ((7.0, True), (20.0, False)):
        obs = [Observation("y", observed, 0.3)]
        mc = metropolis(net, params, obs, chains=16, steps=2000, burn_in=700, seed=1)
        check = consistency(net, params, obs, mc["samples"], seed=1)
        row = check["observations"][0]
        assert row["reached"] is reached, row
        assert row["prior_q05"] == pytest.approx(1.0 + 2 * 0.3, abs=0.2) and row["prior_q95"] == pytest.approx(12.4, abs=0.2)
        # w never enters y: its posterior keeps the uniform prior's variance in the unit cube (Monte Carlo: ±10 %)
        assert check["parameters"]["w"]["variance_ratio"] == pytest.approx(1.0, abs=0.2)
        assert not check["parameters"]["w"]["constrained"]
        lines = consistency_lines(check)
        assert any(line.startswith("w: not constrained") for line in lines)
        assert any(line.startswith("y: not reached") for line in lines) is (not reached)
        if reached:  # x ~ N(3, 0.16): variance ratio 12 (0.16 / 6)^2 ≈ 0.009
            assert abs(row["z"]) < 1.0
            assert check["parameters"]["x"]["variance_ratio"] < 0.05 and check["parameters"]["x"]["constrained"]
        else:  # the best the model does is y = 13 at x = 6: z ≈ (13 − 20) / 0.32
            assert row["z"] < -10 and row["posterior_mean"] == pytest.approx(13.0, abs=0.2)
