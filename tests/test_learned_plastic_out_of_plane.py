"""σ_zz of the learned return-mapping law in plane strain (session 13).

A 4-component :class:`~learned.plastic_model.ReturnMappingModel` (state with εᵖ_zz, stress
(xx, yy, zz, xy)) knows σ_zz; ``LearnedPlasticLaw.out_of_plane_stress`` must return it, else
``von_mises`` takes σ_zz = 0 (the plane-stress formula) in plane strain. Before the fix the law
answered None and max_von_mises of the learned J2 cases was 17–59 % above the analytic law's on
the same mesh (benchmarks/out/case_resolution.json, ``analytic``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import CASES, cli_inprocess
from learned.checkpoint import load_law
from learned.law import von_mises
from learned.paths import generate_path_dataset
from learned.plastic_model import LearnedPlasticLaw, ReturnMappingModel
from learned.plasticity import J2Plasticity

torch.set_num_threads(1)
PLATE_MODEL = CASES / "models" / "j2_plate_return_mapping.pt"
J2_PLATE = J2Plasticity(70e9, 0.3, 200e6, hardening=5e9)  # the law that made the checkpoint's data
J2_PLATE_SET = 'material={law="j2_plasticity", E=70e9, nu=0.3, yield_stress=200e6, hardening=5e9}'


def _yielded_points(law, n=64, seed=3):
    """(strain (n,3), state (n,S)) with a plastic history: one random step past yield from rest."""
    rng = np.random.default_rng(seed)
    first = rng.normal(size=(n, 3)) * 6e-3
    state = np.asarray(law.evaluate(first).state)
    assert np.abs(state[:, :-1]).max() > 0  # some points yielded
    return first + rng.normal(size=(n, 3)) * 2e-3, state


@pytest.mark.parametrize("checkpoint", ["j2_plate_return_mapping", "j2_footing_return_mapping", "dp_footing_return_mapping"])
def test_out_of_plane_stress_is_the_sigma_zz_of_the_models_step(checkpoint):
    """σ_zz = component zz of the model's 4-component step at (ε, state) — the step that gives
    ``evaluate``'s in-plane stress; numpy in → numpy out, torch in → torch out; at the state
    that step commits, the same σ_zz (a converged return mapping is elastic at its own state)."""
    law = load_law(CASES / "models" / f"{checkpoint}.pt")
    assert law.model.n == 4 and law.plane == "strain"
    eps, state = _yielded_points(law)
    x = law.model.embed(torch.from_numpy(eps))
    st = torch.from_numpy(state)
    with torch.no_grad():
        s4, _, ep, a = law.model.step(x, st[:, :4], st[:, 4])
    szz = law.out_of_plane_stress(eps, state)
    assert isinstance(szz, np.ndarray) and szz.shape == (len(eps),)
    np.testing.assert_array_equal(szz, s4[:, 2].numpy())
    np.testing.assert_array_equal(law.evaluate(eps, state).stress, s4[:, [0, 1, 3]].numpy())
    t = law.out_of_plane_stress(torch.from_numpy(eps), torch.from_numpy(state))
    assert isinstance(t, torch.Tensor)
    np.testing.assert_array_equal(t.numpy(), szz)
    committed = torch.cat([ep, a[:, None]], dim=1).numpy()
    scale = np.abs(s4.numpy()).max()
    assert np.abs(law.out_of_plane_stress(eps, committed) - szz).max() < 1e-9 * scale
    # the state matters: from rest the same strains give another σ_zz where the points yielded
    assert np.abs(law.out_of_plane_stress(eps) - szz).max() > 1e-3 * scale


def test_three_component_model_does_not_know_sigma_zz_in_plane_strain():
    """A 3-component model carries no σ_zz: None in plane strain (von Mises then says so by
    taking σ_zz = 0 only where the caller accepts it), 0 in plane stress."""
    m = ReturnMappingModel(J2_PLATE.reference_stiffness(), 200e6, hardening=5e9)
    eps = np.random.default_rng(0).normal(size=(5, 3)) * 3e-3
    assert LearnedPlasticLaw(m, plane="strain").out_of_plane_stress(eps) is None
    np.testing.assert_array_equal(LearnedPlasticLaw(m, plane="stress").out_of_plane_stress(eps), np.zeros(5))


def test_learned_j2_von_mises_agrees_with_the_analytic_law_along_strain_paths():
    """The shipped plate checkpoint against the J2 law that made its data, 40 new mixed strain
    paths (25 steps, strain range 8e-3 as its training data), state committed per step.
    Measured, relative to the largest analytic von Mises (358 MPa): in-plane stress error 1.4 %,
    σ_zz error 3.3 %, von Mises error 2.4 % (with σ_zz = 0, the old answer: 187 %). Checked:
    |σ_vm,learned − σ_vm,analytic| ≤ σ_vm(σ⁴_learned − σ⁴_analytic) at every point (the triangle
    inequality of the von Mises seminorm: it holds only if von Mises sees the model's σ_zz), and
    the von Mises error below 2x the largest 4-component stress error of the model."""
    law = load_law(PLATE_MODEL)
    paths = generate_path_dataset(J2_PLATE, 40, 25, "mixed", 8e-3, seed=7).strain
    sa, sl = J2_PLATE.initial_state(len(paths)), law.initial_state(len(paths))
    err_vm = err_4 = vm_max = 0.0
    for k in range(paths.shape[1]):
        e = paths[:, k]
        ra, rl = J2_PLATE.evaluate(e, sa), law.evaluate(e, sl)
        za, zl = J2_PLATE.out_of_plane_stress(e, sa), law.out_of_plane_stress(e, sl)
        va, vl = von_mises(ra.stress, za), von_mises(rl.stress, zl)
        d4 = np.c_[rl.stress[:, :2] - ra.stress[:, :2], zl - za, rl.stress[:, 2] - ra.stress[:, 2]]
        bound = np.sqrt(0.5 * ((d4[:, 0] - d4[:, 1]) ** 2 + (d4[:, 1] - d4[:, 2]) ** 2 + (d4[:, 2] - d4[:, 0]) ** 2)
                        + 3 * d4[:, 3] ** 2)
        assert np.all(np.abs(vl - va) <= bound * (1 + 1e-12) + 1e-6), k
        err_vm, err_4, vm_max = max(err_vm, np.abs(vl - va).max()), max(err_4, np.abs(d4).max()), max(vm_max, va.max())
        sa, sl = ra.state, rl.state
    print(f"von Mises error {err_vm / vm_max:.4f}, 4-component stress error {err_4 / vm_max:.4f} of {vm_max:.4g} Pa")
    assert err_vm < 2 * err_4 < 0.1 * vm_max


def _summary(tmp_path, tag: str, sets: list[str]) -> dict:
    out = tmp_path / tag
    args = ["run", str(CASES / "learned_plasticity_plate.toml"), "-o", str(out), "-q"]
    for s in sets:
        args += ["--set", s]
    code, _, err = cli_inprocess(*args)
    assert code == 0, err
    return json.loads((out / "summary.json").read_text())


#: a tiny plate with a hole (P1, 0.4 m / 0.1 m at the hole), loaded past first yield at the hole
#: (λ = 0.5: 90 MPa against first yield near 70 MPa) and on to the shipped peak
TINY = ["fem.degree=1", "mesh.element_size=0.4", "mesh.hole_element_size=0.1", "fem.load_path=[0.5, 1.0]"]
#: the learned model's in-plane stress error along strain paths, relative to the peak von Mises
#: (measured 1.4 %, test above): the bound on the learned-vs-analytic max_von_mises of a run
IN_PLANE_ERROR = 0.014


def test_fem_max_von_mises_of_the_learned_j2_law_matches_the_analytic_law(tmp_path):
    """The summary's max_von_mises of a tiny plane-strain plate run with the shipped learned J2
    law against the same run with the analytic J2 law (same mesh, same load path). Measured:
    learned 2.2834e8 vs analytic 2.2811e8 Pa (+0.10 %); with σ_zz = 0 (the code before session 13)
    3.633e8 Pa (+59 %).
    Bound: the learned model's own in-plane stress error, IN_PLANE_ERROR."""
    learned = _summary(tmp_path, "learned", TINY)
    analytic = _summary(tmp_path, "analytic", TINY + [J2_PLATE_SET])
    assert max(analytic["solver"]["newton_iterations"]) > 1  # it yielded
    vm_l, vm_a = learned["results"]["max_von_mises"], analytic["results"]["max_von_mises"]
    print(f"max_von_mises learned {vm_l:.6g} analytic {vm_a:.6g} Pa ({100 * (vm_l - vm_a) / vm_a:+.3f} %)")
    assert abs(vm_l - vm_a) < IN_PLANE_ERROR * vm_a
