"""NeuralLaw behind the law interface: tangents, symmetry / convexity, numpy vs torch, chunks.

Untrained networks with fixed seeds suffice here: these are properties of the architecture
and of the evaluation path, not of training.
"""

import json

import numpy as np
import pytest
import torch

from learned import ICNN, MLP, NeuralLaw
from learned.models import func_stress_and_tangent
from learned.training import cpu_threads


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny batches: one CPU thread (OpenMP waits dominate on a loaded 2-core machine)."""
    with cpu_threads(1):
        yield

SCALES = dict(strain_scale=[1e-3, 1.5e-3, 2e-3], stress_scale=[3e7, 2e7, 1e7])


def make(arch, **kw):
    torch.manual_seed(3)
    if arch == "mlp":
        return MLP(**SCALES, **kw)
    if arch == "mlp-tanh":
        return MLP(hidden=(16, 16, 16), activation="tanh", **SCALES, **kw)
    if arch == "mlp-1layer":
        return MLP(hidden=(16,), activation="softplus", linear_part=True, **SCALES, **kw)
    if arch == "icnn":
        return ICNN(**SCALES, **kw)
    if arch == "icnn-3layer":
        return ICNN(hidden=(8, 12, 6), **SCALES, **kw)
    return ICNN(hidden=(8,), quadratic="fixed", **SCALES, **kw)


ARCHS = ["mlp", "mlp-tanh", "mlp-1layer", "icnn", "icnn-1layer", "icnn-3layer"]


def strains(n=64, scale=2e-3, seed=0):
    return np.random.default_rng(seed).uniform(-scale, scale, (n, 3))


def fd_tangent(law, eps, h=1e-9):
    cols = []
    for j in range(3):
        d = np.zeros(3)
        d[j] = h
        cols.append((law.stress(eps + d) - law.stress(eps - d)) / (2 * h))
    return np.stack(cols, -1)


@pytest.mark.parametrize("arch", ARCHS)
def test_tangent_matches_finite_differences(arch):
    law = NeuralLaw(make(arch), "strain", device="cpu")
    eps = strains()
    C = law.evaluate(eps).tangent
    assert np.abs(fd_tangent(law, eps) - C).max() <= 1e-6 * np.abs(C).max()


@pytest.mark.parametrize("arch", ARCHS)
def test_fast_path_equals_torch_func_reference(arch):
    model = make(arch).double().requires_grad_(False)
    eps = torch.tensor(strains(), dtype=torch.float64)
    s, C = model.stress_and_tangent(eps)
    s_ref, C_ref = func_stress_and_tangent(model, eps)
    assert torch.allclose(s, s_ref, rtol=1e-12, atol=1e-12 * float(s.abs().max()))
    assert torch.allclose(C, C_ref, rtol=1e-12, atol=1e-12 * float(C.abs().max()))
    assert torch.allclose(model(eps), s, rtol=1e-12, atol=1e-12 * float(s.abs().max()))


@pytest.mark.parametrize("arch", ["icnn", "icnn-1layer", "icnn-3layer"])
def test_icnn_tangent_is_symmetric_positive_definite(arch):
    law = NeuralLaw(make(arch), device="cpu")
    C = law.evaluate(strains(500, scale=1e-2)).tangent  # far outside the scaled range, too
    assert np.allclose(C, np.swapaxes(C, 1, 2), rtol=0, atol=1e-12 * np.abs(C).max())
    assert np.linalg.eigvalsh(C).min() > 0


@pytest.mark.parametrize("arch", ["mlp", "icnn"])
def test_numpy_and_torch_paths_agree_and_stay_on_backend(arch):
    law = NeuralLaw(make(arch), "stress", device="cpu")
    eps = strains()
    r_np = law.evaluate(eps)
    assert isinstance(r_np.stress, np.ndarray) and r_np.stress.dtype == np.float64
    assert r_np.tangent.shape == (64, 3, 3) and r_np.state.shape == (64, 0)
    r_t = law.evaluate(torch.tensor(eps, dtype=torch.float32))  # float32 in -> float64 out
    assert isinstance(r_t.stress, torch.Tensor) and r_t.stress.dtype == torch.float64
    assert r_t.stress.device == torch.device("cpu") and r_t.state.shape == (64, 0)
    r_t64 = law.evaluate(torch.tensor(eps))
    assert np.array_equal(r_t64.stress.numpy(), r_np.stress)
    assert np.array_equal(r_t64.tangent.numpy(), r_np.tangent)
    assert np.allclose(r_t.stress.numpy(), r_np.stress, rtol=1e-5, atol=1e-6 * np.abs(r_np.stress).max())


def test_chunked_evaluation_equals_one_pass():
    model = make("mlp")
    eps = strains(1000)
    one = NeuralLaw(model, chunk_size=10_000, device="cpu").evaluate(eps)
    many = NeuralLaw(model, chunk_size=97, device="cpu").evaluate(eps)
    assert np.allclose(one.stress, many.stress, rtol=1e-13, atol=1e-6)
    assert np.allclose(one.tangent, many.tangent, rtol=1e-13, atol=1e-3)


@pytest.mark.parametrize("arch", ["mlp", "icnn"])
def test_reference_stiffness_zero_stress_and_describe(arch):
    law = NeuralLaw(make(arch), "stress", device="cpu")
    C0 = law.reference_stiffness()
    # against central differences of the stress at ε = 0 (h = 1e-7 against strain scales of
    # 1e-3: measured 8e-11 of max|C0|; tolerance 1e-8)
    h = 1e-7
    fd = np.stack([(law.stress(h * e[None]) - law.stress(-h * e[None]))[0] / (2 * h) for e in np.eye(3)], axis=1)
    assert np.abs(fd - C0).max() <= 1e-8 * np.abs(C0).max()
    assert np.abs(law.stress(np.zeros((2, 3)))).max() < 1e-6  # [Pa]: stress-free at ε = 0
    assert law.out_of_plane_stress(strains()).max() == 0.0  # plane stress
    assert NeuralLaw(make(arch), "strain").out_of_plane_stress(strains()) is None
    d = json.loads(json.dumps(law.describe()))
    assert d["kind"] == "neural" and d["plane"] == "stress" and d["model"]["arch"] == arch


def test_bad_input_is_rejected():
    law = NeuralLaw(make("mlp"))
    with pytest.raises(ValueError, match="shape"):
        law.evaluate(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="plane"):
        NeuralLaw(make("mlp"), "axisymmetric")
    with pytest.raises(ValueError, match="activation"):
        MLP(activation="relu")
