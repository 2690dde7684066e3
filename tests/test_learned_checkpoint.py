"""Checkpoints (weights_only round trip, one-line errors) and the learned joint law."""

import pickle

import numpy as np
import pytest
import torch

from learned import (
    ICNN,
    MLP,
    CheckpointError,
    NeuralJointLaw,
    NeuralLaw,
    VelocityWeakeningFriction,
    generate_joint_dataset,
    load_checkpoint,
    load_law,
    save_checkpoint,
    save_dataset,
    train,
)
from learned.checkpoint import FORMAT
from learned.training import cpu_threads

EPS = np.random.default_rng(0).uniform(-2e-3, 2e-3, (200, 3))


@pytest.fixture(autouse=True)
def one_thread():
    """Small batches: one CPU thread (OpenMP waits dominate on a loaded 2-core machine)."""
    with cpu_threads(1):
        yield


def model(arch):
    torch.manual_seed(1)
    m = MLP(strain_scale=1e-3, stress_scale=3e7) if arch == "mlp" else ICNN(strain_scale=1e-3, stress_scale=2e7)
    m.meta = {"plane": "stress", "provenance": {"generator": "test"}}
    return m


@pytest.mark.parametrize("arch", ["mlp", "icnn"])
def test_round_trip_gives_identical_outputs(tmp_path, arch):
    law = NeuralLaw(model(arch), device="cpu")
    report = {"epochs_run": 3, "train_loss": [1.0, 0.5, 0.25], "device": "cpu", "note": None}
    path = save_checkpoint(tmp_path / "m.pt", law, report)
    back = load_law(path, device="cpu")
    assert isinstance(back, NeuralLaw) and back.plane == "stress" and back.kind == "neural"
    a, b = law.evaluate(EPS), back.evaluate(EPS)
    assert np.array_equal(a.stress, b.stress) and np.array_equal(a.tangent, b.tangent)
    ck = load_checkpoint(path)
    assert ck["format"] == FORMAT and ck["format_version"] == 1 and ck["kind"] == "constitutive"
    assert ck["report"] == report and ck["architecture"]["arch"] == arch
    assert back.describe()["checkpoint"] == str(path)
    assert back.describe()["data_provenance"] == {"generator": "test"}


def test_plain_model_can_be_saved_too(tmp_path):
    m = model("mlp")
    back = load_law(save_checkpoint(tmp_path / "m.pt", m))
    assert np.array_equal(back.stress(EPS), NeuralLaw(m).stress(EPS))


def errors_for(path):
    with pytest.raises(CheckpointError) as exc:
        load_law(path)
    text = str(exc.value)
    assert "\n" not in text and str(path) in text and exc.value.exit_code == 2
    return text


def test_missing_corrupt_and_foreign_files(tmp_path):
    assert "file not found" in errors_for(tmp_path / "nope.pt")
    good = save_checkpoint(tmp_path / "good.pt", model("mlp"))
    raw = good.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(raw[: len(raw) // 2])
    assert "corrupt" in errors_for(tmp_path / "trunc.pt")
    (tmp_path / "text.pt").write_text("hello")
    assert "corrupt" in errors_for(tmp_path / "text.pt")
    # a pickle with an arbitrary object is refused, never executed (weights_only)
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(ValueError("boom")))
    assert "corrupt" in errors_for(tmp_path / "evil.pt")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")  # a whole module: not allowed
    assert "corrupt" in errors_for(tmp_path / "module.pt")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    assert "format: None" in errors_for(tmp_path / "other.pt")


@pytest.mark.parametrize("key,value,expected", [
    ("format_version", 2, "format_version: 2; allowed: 1"),
    ("format_version", "1", "format_version: '1'"),
    ("kind", "plastic", "kind: 'plastic'; allowed: constitutive | joint"),
    ("architecture", {"arch": "transformer"}, "architecture.arch: 'transformer'"),
    ("state_dict", {"layers.0.weight": torch.zeros(2, 2)}, "state_dict: does not fit the architecture"),
])
def test_wrong_version_kind_or_weights(tmp_path, key, value, expected):
    path = save_checkpoint(tmp_path / "m.pt", model("mlp"))
    ck = torch.load(path, weights_only=True)
    ck[key] = value
    torch.save(ck, path)
    assert expected in errors_for(path)


@pytest.fixture(scope="module")
def joint_run(tmp_path_factory):
    """Synthetic rotary-shear tests: velocity weakening, 5 % noise on the measured strength."""
    truth = VelocityWeakeningFriction(phi_peak=26.0, phi_residual=10.0, v_c=0.1)
    data = generate_joint_dataset(truth, 3000, slip_max=2.0, rate_range=(0.0, 1.0),
                                  normal_stress_range=(1e6, 5e6), noise=0.05, seed=3)
    path = save_dataset(tmp_path_factory.mktemp("joint") / "rotary.h5", data)
    net, report = train(path, epochs=150, lr=1e-2, batch_size=256, seed=0, device="cpu")
    return truth, net, report


def test_learned_joint_law_reproduces_velocity_weakening(joint_run):
    truth, net, report = joint_run
    law = NeuralJointLaw(net, device="cpu")
    v = np.linspace(0.0, 1.0, 101)
    slip = np.full_like(v, 0.7)
    mu, mu_true = law.friction(slip, v), truth.friction(slip, v)
    rel = np.abs(mu / mu_true - 1)
    assert rel.max() < 0.04 and np.sqrt(np.mean(rel**2)) < 0.015, (rel.max(), np.sqrt(np.mean(rel**2)))
    # the JointLaw interface: strength = c + μ σ_n, numpy and torch
    sn = np.full_like(v, 2e6)
    r = law.evaluate(sn, slip, v)
    assert np.allclose(r.strength, mu * sn) and r.state.shape == (101, 0)
    rt = law.evaluate(torch.tensor(sn), torch.tensor(slip), torch.tensor(v))
    assert isinstance(rt.strength, torch.Tensor) and np.allclose(rt.friction.numpy(), mu, rtol=1e-12)
    assert report["kind"] == "joint" and report["data"]["provenance"]["law"]["kind"] == "velocity_weakening"


def test_joint_checkpoint_round_trip(joint_run, tmp_path):
    _, net, report = joint_run
    law = NeuralJointLaw(net, cohesion=1e4, device="cpu")
    back = load_law(save_checkpoint(tmp_path / "j.pt", law, report), device="cpu")
    assert isinstance(back, NeuralJointLaw) and back.cohesion == 1e4
    v = np.linspace(0, 2, 50)
    assert np.array_equal(back.friction(v, v), law.friction(v, v))
    assert load_checkpoint(tmp_path / "j.pt")["kind"] == "joint"
