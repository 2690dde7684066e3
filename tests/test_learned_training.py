"""Training on PowerLawElastic data: accuracy on a clean test set, reproducibility, reports.

Training is kept short for the 2-core CI machine (4,000 samples, 40–60 epochs, 32x32
networks). With the library defaults (300 epochs, early stopping) the errors are lower still;
the tolerances below are the short-run figures with a margin of about 2x.
"""

import json

import numpy as np
import pytest
import torch

from learned import (
    ICNN,
    MLP,
    DataError,
    NeuralLaw,
    PowerLawElastic,
    generate_dataset,
    load_law,
    save_dataset,
    train,
    train_to_checkpoint,
    write_training_report,
)

# |ε| ≤ 2e-3 with ε₀ = 1e-3: up to twice the knee of the power law (n = 0.4), clearly nonlinear
LAWS = {plane: PowerLawElastic(30e9, 0.25, 1e-3, 0.4, plane) for plane in ("strain", "stress")}


def rel_error(law, truth, n=2000):
    test = generate_dataset(truth, n, 2e-3, seed=12345)  # clean, independent of training data
    return float(np.linalg.norm(law.stress(test.strain) - test.stress) / np.linalg.norm(test.stress))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """MLP on plane strain (from an HDF5 file), ICNN on plane stress (from arrays)."""
    out = {}
    path = tmp_path_factory.mktemp("data") / "strain.h5"
    save_dataset(path, generate_dataset(LAWS["strain"], 4000, 2e-3, seed=1, sampler="sobol"))
    # 500 polish iterations (the default before session 7; 2000 now) and 32x32 (the API's default
    # before session 11; 48x48 now, learned.training_defaults): these checks' bounds were set with
    # them, and they keep `make test` fast; the default recipe runs in tests/test_learned_sweep.py
    out["mlp"] = train(path, "mlp", epochs=60, lr=1e-2, seed=0, device="cpu", polish_iterations=500, hidden=(32, 32))
    icnn_data = generate_dataset(LAWS["stress"], 4000, 2e-3, seed=2, sampler="sobol")
    out["icnn"] = train(icnn_data, "icnn", epochs=50, lr=2e-2, seed=0, device="cpu",  # ICNN: larger lr
                        polish_iterations=500)
    return out


def test_mlp_reproduces_plane_strain_power_law(trained):
    model, report = trained["mlp"]
    law = NeuralLaw(model)
    assert isinstance(model, MLP) and law.plane == "strain"
    err = rel_error(law, LAWS["strain"])
    assert err < 0.01, err  # measured ≈ 0.4–0.7 %
    assert report["metrics"]["val_rel_error"] < 0.01
    # the learned tangent is close to the analytic one, too (it was never trained on it)
    eps = generate_dataset(LAWS["strain"], 500, 1.5e-3, seed=5).strain
    Ct, Cn = LAWS["strain"].evaluate(eps).tangent, law.evaluate(eps).tangent
    assert np.linalg.norm(Cn - Ct) / np.linalg.norm(Ct) < 0.05


def test_icnn_reproduces_plane_stress_power_law(trained):
    model, _ = trained["icnn"]
    law = NeuralLaw(model)
    assert isinstance(model, ICNN) and law.plane == "stress"
    err = rel_error(law, LAWS["stress"])
    assert err < 0.015, err  # measured ≈ 0.4–0.8 %
    C = law.evaluate(generate_dataset(LAWS["stress"], 500, 4e-3, seed=6).strain).tangent
    assert np.linalg.eigvalsh(C).min() > 0
    C0 = law.reference_stiffness()
    assert np.linalg.norm(C0 - LAWS["stress"].reference_stiffness()) / np.linalg.norm(C0) < 0.05


def test_report_is_json_and_files_are_written(trained, tmp_path):
    _, report = trained["mlp"]
    text = json.dumps(report)  # serialisable as is
    back = json.loads(text)
    for key in ("epochs_run", "best_val_loss", "train_loss", "val_loss", "time_s", "device", "data", "scaling"):
        assert key in back, key
    assert back["epochs_run"] == len(back["train_loss"]) == len(back["val_loss"])
    assert back["data"]["provenance"]["law"]["kind"] == "power_law_elastic"
    assert back["data"]["path"].endswith("strain.h5") and back["device"] == "cpu"
    files = write_training_report(report, tmp_path / "r" / "report.json", tmp_path / "r" / "loss.png")
    assert json.loads(files[0].read_text())["best_epoch"] == report["best_epoch"]
    assert files[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_model_and_early_stopping():
    data = generate_dataset(LAWS["strain"], 400, 2e-3, seed=3)
    runs = [train(data, "mlp", epochs=4, hidden=(8,), seed=7, device="cpu")[0] for _ in range(2)]
    for (k, a), b in zip(runs[0].state_dict().items(), runs[1].state_dict().values()):
        assert torch.equal(a, b), k
    other = train(data, "mlp", epochs=4, hidden=(8,), seed=8, device="cpu")[0]
    assert not torch.equal(other.layers[0].weight, runs[0].layers[0].weight)
    seen = []
    _, rep = train(data, "mlp", epochs=500, lr=1e-7, hidden=(8,), patience=3, min_delta=1e-2, seed=0,
                   device="cpu", progress=seen.append)
    assert rep["stopped_early"] and rep["epochs_run"] < 500 and len(seen) == rep["epochs_run"]
    assert {"epoch", "train_loss", "val_loss"} <= set(seen[0])


def test_bad_arguments():
    data = generate_dataset(LAWS["strain"], 50)
    with pytest.raises(ValueError, match="model must be"):
        train(data, "transformer")
    with pytest.raises(ValueError, match="device"):
        train(data, device="tpu")
    with pytest.raises(ValueError, match="val_fraction"):
        train(data, val_fraction=1.5)


def test_cli_pipeline_writes_checkpoint_report_and_plot(tmp_path):
    data = save_dataset(tmp_path / "d.h5", generate_dataset(LAWS["stress"], 300, seed=1))
    out = train_to_checkpoint(data, tmp_path / "out" / "model.pt", model="icnn", epochs=3, hidden=(8,),
                              device="cpu")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.json", "model.png", "model.pt"]
    assert json.loads((tmp_path / "out" / "model.json").read_text())["model"]["arch"] == "icnn"
    assert load_law(out["checkpoint"]).plane == "stress"
    bad = tmp_path / "bad.h5"
    bad.write_text("x")
    with pytest.raises(DataError):
        train_to_checkpoint(bad, tmp_path / "none" / "m.pt")
    assert not (tmp_path / "none").exists()


def test_polish_lowers_the_validation_loss_and_never_keeps_a_worse_model():
    """Full-batch L-BFGS after a short Adam run: the validation loss goes down (measured
    1.1e-3 → 1.2e-6 on this set after 8 epochs; asserted ≥ 100x, a 10x margin) and the
    report says what was done."""
    data = generate_dataset(LAWS["stress"], 1000, 2e-3, seed=5, sampler="log")
    _, plain = train(data, "mlp", epochs=8, hidden=(16, 16), seed=0, device="cpu", polish_iterations=0)
    _, rep = train(data, "mlp", epochs=8, hidden=(16, 16), seed=0, device="cpu", polish_iterations=200)
    p = rep["polish"]
    assert plain["polish"]["iterations"] == 0 and 0 < p["iterations"] <= 200
    assert p["val_loss_before"] == pytest.approx(plain["best_val_loss"], rel=1e-9)
    assert p["val_loss_after"] <= 1e-2 * p["val_loss_before"], p
    assert rep["metrics"]["val_rel_error"] < plain["metrics"]["val_rel_error"]


def test_compliance_loss_is_the_relative_strain_error_at_the_same_stress():
    """compliance_relative_mse with M = C⁻¹ of a linear law: a prediction σ + C δ has loss
    mean ‖δ ⊘ s‖² / ‖ε ⊘ s‖² (η² is 1e-10 of the mean: below round-off here)."""
    import torch

    from learned import LinearElastic
    from learned.training import compliance_relative_mse

    law = LinearElastic(30e9, 0.25, "stress")
    rng = np.random.default_rng(0)
    eps, delta = rng.normal(size=(50, 3)) * 1e-3, rng.normal(size=(50, 3)) * 1e-5
    C = law.reference_stiffness()
    sig = eps @ C.T
    scale = np.array([1e-3, 2e-3, 3e-3])
    loss = compliance_relative_mse(torch.as_tensor(np.broadcast_to(np.linalg.inv(C), (50, 3, 3)).copy()),
                                   torch.as_tensor(scale))
    got = float(loss(torch.as_tensor(sig + delta @ C.T), torch.as_tensor(sig)))
    want = float(np.mean(((delta / scale) ** 2).sum(1) / ((eps / scale) ** 2).sum(1)))
    assert got == pytest.approx(want, rel=1e-8)


def test_default_training_polishes_in_the_compliance_norm_too():
    """The default recipe runs a second polish in the compliance norm after the stress-norm one:
    it starts from the first polish's model, and never ends above where it started (the best
    block is kept); polish_norm = "stress" runs the first only."""
    data = generate_dataset(LAWS["strain"], 600, 2e-3, seed=5, sampler="log")
    _, rep = train(data, "mlp", epochs=6, hidden=(16, 16), seed=0, device="cpu", polish_iterations=100)
    second = rep["polish"]["compliance"]
    assert rep["settings"]["polish_norm"] == "compliance" and 0 < second["iterations"] <= 100
    assert second["val_loss_after"] <= second["val_loss_before"], second
    assert "inverse tangent" in second["loss"]
    _, plain = train(data, "mlp", epochs=6, hidden=(16, 16), seed=0, device="cpu", polish_iterations=100,
                     polish_norm="stress")
    assert "compliance" not in plain["polish"]
    assert plain["polish"]["val_loss_after"] == pytest.approx(rep["polish"]["val_loss_after"], rel=1e-12)
    with pytest.raises(ValueError, match="polish_norm"):
        train(data, "mlp", epochs=1, polish_norm="energy", device="cpu")
