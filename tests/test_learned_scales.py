"""Learned laws at every strain scale: log sampling, the explicit small-strain stiffness,
per-magnitude error reports, out-of-distribution counts and the device errors."""

import json

import numpy as np
import pytest
import torch

from conftest import CASES, run_cli
from learned import NeuralJointLaw, NeuralLaw, PowerLawElastic, generate_dataset
from learned.data_region import RegionMonitor
from learned.dataset import strain_magnitude
from learned.models import ICNN, MLP, func_stress_and_tangent
from learned.training import identify_small_strain_stiffness, magnitude_error_table, train

LAW = PowerLawElastic(30e9, 0.25, 5e-4, 0.7, "strain")
MATERIAL = 'law="power_law_elastic", E=30e9, nu=0.25, strain0=5e-4, exponent=0.7, plane="stress"'


def test_log_sampler_puts_as_many_points_in_every_decade():
    ds = generate_dataset(LAW, 4000, 5e-3, sampler="log", seed=0)
    mag = strain_magnitude(ds.strain)
    assert mag.max() <= 5e-3 * (1 + 1e-12) and mag.min() >= 5e-7 * (1 - 1e-12)
    counts = np.histogram(np.log10(mag), bins=np.log10([5e-7, 5e-6, 5e-5, 5e-4, 5e-3]))[0]
    # 1000 expected per decade; binomial std ≈ 27, so ±150 is > 5 std
    assert np.all(np.abs(counts - 1000) < 150), counts
    assert ds.tangent.shape == (4000, 3, 3)  # the exact tangent travels with synthetic data


def test_small_strain_stiffness_is_identified_from_the_smallest_strains():
    ds = generate_dataset(LAW, 4000, 5e-3, sampler="log", seed=1)
    c0, info = identify_small_strain_stiffness(ds.strain, ds.stress)
    exact = LAW.reference_stiffness()
    # measured 6e-8 (the smallest 5 % lie below |ε| = 1e-6 = ε0/500, where the law is linear
    # to (|ε|/ε0)² ≈ 4e-6); bound 10x above the law's own deviation from linearity there
    assert np.linalg.norm(c0 - exact) / np.linalg.norm(exact) < 10 * (info["max_strain_magnitude"] / 5e-4) ** 2


@pytest.mark.parametrize("arch", ["mlp", "icnn"])
def test_explicit_linear_part_sets_the_tangent_at_zero(arch):
    ds = generate_dataset(LAW, 500, 5e-3, sampler="log", seed=2)
    scales = dict(strain_scale=ds.strain.std(0), stress_scale=ds.stress.std(0))
    model = (MLP(linear_part=True, **scales) if arch == "mlp" else ICNN(**scales)).double()
    c0 = LAW.reference_stiffness()
    model.set_small_strain_stiffness(torch.tensor(c0))
    stress, tangent = model.stress_and_tangent(torch.zeros(1, 3, dtype=torch.float64))
    np.testing.assert_allclose(tangent[0].detach().numpy(), c0, rtol=0, atol=1e-12 * np.abs(c0).max())
    assert float(stress.abs().max()) <= 1e-12 * np.abs(c0).max()
    x = torch.as_tensor(ds.strain[:64])
    s1, c1 = model.stress_and_tangent(x)
    s2, c2 = func_stress_and_tangent(model, x)  # torch.func reference
    torch.testing.assert_close(s1, s2, rtol=1e-10, atol=1e-10 * float(s2.abs().max()))
    torch.testing.assert_close(c1, c2, rtol=1e-10, atol=1e-10 * float(c2.abs().max()))
    torch.testing.assert_close(model(x), s1, rtol=1e-12, atol=1e-12 * float(s1.abs().max()))


def test_magnitude_table_is_exact_for_the_law_itself_and_sees_a_bias():
    ds = generate_dataset(LAW, 2000, 5e-3, sampler="log", seed=3)
    exact = lambda e: (LAW.evaluate(e).stress, LAW.evaluate(e).tangent)  # noqa: E731
    rows = magnitude_error_table(exact, ds.strain, ds.stress, ds.tangent)
    assert len(rows) == 8 and sum(r["n"] for r in rows) == 2000  # 4 decades, 2 bins a decade
    assert max(r["stress_rel_error"] for r in rows) < 1e-12
    biased = lambda e: (LAW.evaluate(e).stress * 1.01, LAW.evaluate(e).tangent * 0.97)  # noqa: E731
    rows = magnitude_error_table(biased, ds.strain, ds.stress, ds.tangent)
    for r in rows:
        assert r["stress_rel_error"] == pytest.approx(0.01, rel=1e-9)
        assert r["tangent_rel_error"] == pytest.approx(0.03, rel=1e-9)


def test_training_report_has_per_magnitude_errors_and_the_data_region():
    ds = generate_dataset(LAW, 600, 5e-3, sampler="log", seed=4)
    net, report = train(ds, "mlp", epochs=20, device="cpu", polish_iterations=0)
    table = report["error_by_strain_magnitude"]["val"]
    assert [r["strain_magnitude"][0] for r in table] == sorted(r["strain_magnitude"][0] for r in table)
    assert all("tangent_rel_error" in r for r in table if r["n"])
    # the table is what the law evaluates: recompute the smallest bin independently
    lo, hi = table[0]["strain_magnitude"]
    law = NeuralLaw(net, device="cpu")
    mag = strain_magnitude(ds.strain)
    sel = (mag >= lo) & (mag < hi)
    c_hat = law.evaluate(ds.strain[sel]).tangent
    whole = np.linalg.norm(c_hat - ds.tangent[sel]) / np.linalg.norm(ds.tangent[sel])
    train_rows = report["error_by_strain_magnitude"]["train"]
    n_tr, n_va = train_rows[0]["n"], table[0]["n"]
    assert n_tr + n_va == sel.sum()
    # train and validation errors of the bin bracket the error over all its points
    lo_err, hi_err = sorted([train_rows[0]["tangent_rel_error"], table[0]["tangent_rel_error"]])
    assert lo_err * (1 - 1e-9) <= whole <= hi_err * (1 + 1e-9)
    region = net.meta["data_region"]
    assert region["magnitude_max"] == pytest.approx(strain_magnitude(ds.strain).max(), rel=0.05)


# ---------------------------------------------------------------------------- out of distribution
def test_monitor_counts_points_and_the_worst_excursion():
    mon = RegionMonitor([-1e-3, -1e-3, -2e-3], [1e-3, 1e-3, 2e-3], ["exx", "eyy", "gxy"], magnitude_max=1.5e-3)
    x = np.array([[0.5e-3, 0.0, 0.0],        # inside
                  [1.5e-3, 0.0, 0.0],        # exx 0.5e-3 beyond a 2e-3 range: 0.25; |ε| 1.5e-3: 0
                  [0.0, 0.0, 1.8e-3],        # inside the box, |ε| 1.8e-3 > 1.5e-3: 0.2
                  [1e-4, 1e-4, 1e-4]])       # inside
    for batch in (x, torch.as_tensor(x)):
        mon.reset()
        mon.observe(batch)
        r = mon.report()
        assert (r["outside_last"], r["points_last"]) == (2, 4)
        assert r["worst_excursion"] == pytest.approx(0.25)
        assert r["worst_quantity"] == "exx"


def test_neural_law_records_excursions_beyond_its_data():
    ds = generate_dataset(LAW, 300, 2e-3, sampler="log", seed=5)
    net, _ = train(ds, "mlp", epochs=2, device="cpu", polish_iterations=0)
    law = NeuralLaw(net, device="cpu")
    law.evaluate(ds.strain[:50])
    assert law.out_of_distribution_report()["outside_last"] == 0
    far = np.array([[4e-3, 0.0, 0.0], [0.0, 0.0, 0.0]])
    law.evaluate(far)  # fewer points than the first batch: counted in outside_max only
    r = law.out_of_distribution_report()
    assert (r["outside_last"], r["points_last"], r["outside_max"]) == (0, 50, 1)
    assert r["worst_excursion"] > 0.5 and r["worst_quantity"] in ("exx", "magnitude")


def test_joint_law_records_slip_rates_beyond_its_data():
    from learned import VelocityWeakeningFriction, generate_joint_dataset, train_joint

    data = generate_joint_dataset(VelocityWeakeningFriction(22.0, 10.0, 0.1), 400, slip_max=1.0,
                                  rate_range=(1e-3, 1.0), seed=0)
    net, _ = train_joint(data, epochs=2, device="cpu")
    law = NeuralJointLaw(net, device="cpu")
    law.evaluate(np.full(3, 1e6), np.array([0.5, 0.5, 0.5]), np.array([0.1, 3.0, 1e-4]))
    r = law.out_of_distribution_report()
    # 3 m/s is above the data's rates; 1e-4 m/s is below them but counts as at rest (inside):
    # the data start near rest, 1e-3 ≤ 1 % of 1 m/s (learned.data_region.joint_rest_included)
    assert r["outside_last"] == 1, r
    assert r["worst_quantity"] == "slip_rate"


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A model trained (briefly) on strains up to 1e-3: the plate at 100 MPa goes beyond."""
    folder = tmp_path_factory.mktemp("ood")
    data, model = folder / "d.h5", folder / "m.pt"
    assert run_cli("data", "generate", "-o", str(data), "-n", "400", "--strain-range", "1e-3",
                   "--material", MATERIAL).returncode == 0
    r = run_cli("train", str(data), "-o", str(model), "--epochs", "3", "--polish-iterations", "0", "-q")
    assert r.returncode == 0, r.stderr
    return model


def _ood_case(tmp_path, model, policy):
    text = (CASES / "learned_plate.toml").read_text()
    text = text.replace('path = "models/power_law_plate_icnn.pt"', f'path = "{model}"\nout_of_distribution = "{policy}"')
    text = text.replace("element_size = 0.1", "element_size = 0.4").replace("hole_element_size = 0.01", "hole_element_size = 0.05")
    case = tmp_path / "case.toml"
    case.write_text(text.replace("degree = 2", "degree = 1"))
    return case


def test_case_beyond_its_data_warns_once_and_reports(tmp_path, small_model):
    r = run_cli("run", str(_ood_case(tmp_path, small_model, "warn")), "-o", str(tmp_path / "out"), "-q")
    assert r.returncode == 0, r.stderr
    warnings = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith("warning: material")]
    assert len(warnings) == 1, r.stdout + r.stderr
    ood = json.loads((tmp_path / "out" / "summary.json").read_text())["out_of_distribution"]["material"]
    assert ood["policy"] == "warn" and 0 < ood["outside_last"] <= ood["points_last"]
    assert ood["worst_excursion"] > 0


def test_case_beyond_its_data_fails_when_strict(tmp_path, small_model):
    case = _ood_case(tmp_path, small_model, "error")
    r = run_cli("run", str(case), "-o", str(tmp_path / "out"), "-q")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    line = r.stderr.strip().splitlines()
    assert len(line) == 1 and "material.out_of_distribution" in line[0] and str(case) in line[0]
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------- devices
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_one_line(tmp_path):
    data = tmp_path / "d.h5"
    assert run_cli("data", "generate", "-o", str(data), "-n", "50", "--material", MATERIAL).returncode == 0
    r = run_cli("train", str(data), "-o", str(tmp_path / "m.pt"), "--device", "cuda")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "--device" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "m.pt").exists()
    text = (CASES / "learned_plate.toml").read_text().replace('device = "auto"', 'device = "cuda"')
    text = text.replace("models/power_law_plate_icnn.pt", str(CASES / "models" / "power_law_plate_icnn.pt"))
    (tmp_path / "case.toml").write_text(text)
    r = run_cli("run", str(tmp_path / "case.toml"), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "material.device" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_checkpoint_without_a_data_region_still_runs_and_says_so(tmp_path):
    """Backward compatibility: a checkpoint written before the data region was kept (the
    shipped model of the first release, from git) loads, runs, and reports 'available: false'."""
    import subprocess

    import coupling

    old = tmp_path / "old.pt"
    blob = subprocess.run(["git", "show", "c82aa42:cases/models/power_law_plate_icnn.pt"], cwd=CASES.parent,
                          capture_output=True)
    if blob.returncode != 0:
        pytest.skip("git history not available")
    old.write_bytes(blob.stdout)
    sets = [f'material={{law="checkpoint", path="{old}", device="cpu"}}', "mesh.element_size=0.4",
            "mesh.hole_element_size=0.05", "fem.degree=1"]
    result = coupling.run(coupling.load_case(CASES / "learned_plate.toml", sets))
    ood = result.summary["out_of_distribution"]["material"]
    assert ood["available"] is False and ood["policy"] == "warn"


def test_a_probe_on_one_point_does_not_replace_the_field_count():
    mon = RegionMonitor([-1.0], [1.0], ["x"])
    mon.observe(np.array([[0.0], [2.0], [3.0]]))  # the field: 2 of 3 outside
    mon.observe(np.array([[0.5]]))                 # a probe afterwards
    r = mon.report()
    assert (r["outside_last"], r["points_last"], r["outside_max"]) == (2, 3, 2)


def test_polish_iterations_with_projection_training_is_refused(small_model, tmp_path):
    """--polish-iterations names the L-BFGS phase of regression and return-mapping training;
    projection training has none, so giving both is one line, exit 2, and nothing written."""
    data = small_model.parent / "d.h5"
    out = tmp_path / "p.pt"
    r = run_cli("train", str(data), "-o", str(out), "--projection", "--polish-iterations", "5", "-q")
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "--polish-iterations" in r.stderr
    assert not out.exists()


def test_train_default_widths_are_the_recipe_for_the_mlp_only(small_model, tmp_path):
    """``deepmanifold train`` without --hidden: the MLP gets the measured recipe's widths
    (learned.training_defaults.MLP_HIDDEN, 48x48), the ICNN keeps the former 32x32."""
    from learned.training_defaults import MLP_HIDDEN, OTHER_HIDDEN

    report = json.loads(small_model.with_suffix(".json").read_text())
    assert report["model"]["hidden"] == list(MLP_HIDDEN) == [48, 48]
    data = small_model.parent / "d.h5"
    r = run_cli("train", str(data), "-o", str(tmp_path / "i.pt"), "--model", "icnn", "--epochs", "1",
                "--polish-iterations", "0", "-q")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "i.json").read_text())["model"]["hidden"] == list(OTHER_HIDDEN) == [32, 32]


def test_cli_and_api_train_with_the_same_default_widths(small_model, tmp_path):
    """One default: the network ``deepmanifold train`` builds without --hidden is the one
    ``learned.training.train`` builds without ``hidden``, for the MLP and the ICNN on the same
    data (the widths recorded in each report); the CLI holds no widths of its own."""
    import inspect

    import coupling.learning_cli as cli
    from learned.neural_joint import train_joint
    from learned.training_defaults import MLP_HIDDEN, OTHER_HIDDEN, default_hidden

    data = small_model.parent / "d.h5"
    cli_width = {"mlp": json.loads(small_model.with_suffix(".json").read_text())["model"]["hidden"]}
    r = run_cli("train", str(data), "-o", str(tmp_path / "i.pt"), "--model", "icnn", "--epochs", "1",
                "--polish-iterations", "0", "-q")
    assert r.returncode == 0, r.stderr
    cli_width["icnn"] = json.loads((tmp_path / "i.json").read_text())["model"]["hidden"]
    for model in ("mlp", "icnn"):
        _, report = train(str(data), model, epochs=1, polish_iterations=0, device="cpu")
        assert report["model"]["hidden"] == cli_width[model] == list(default_hidden(model)), model
    assert inspect.signature(train).parameters["hidden"].default is None  # resolved by default_hidden
    assert inspect.signature(train_joint).parameters["hidden"].default == default_hidden("mlp", joint=True)
    assert cli.RECIPE_HIDDEN is MLP_HIDDEN and cli.OTHER_HIDDEN is OTHER_HIDDEN  # the former names, the same objects


def test_return_mapping_checkpoint_reports_no_data_region(tmp_path):
    """A return-mapping (plasticity) checkpoint keeps no data region: summary.json says so
    (``available: false`` with the reason), as docs/cases.md promises for a checkpoint without
    one. Before session 18 its entry was {"policy": "warn"} alone, which read like a clean check."""
    import coupling

    sets = ["mesh.element_size=0.4", "mesh.hole_element_size=0.1", "fem.degree=1", "fem.load_path=[1.0]",
            "output.plots=false", "output.fields=false"]
    result = coupling.run(coupling.load_case(CASES / "learned_plasticity_plate.toml", sets))
    ood = result.summary["out_of_distribution"]["material"]
    assert ood["available"] is False and ood["policy"] == "warn", ood
    assert "return-mapping" in ood["reason"], ood
