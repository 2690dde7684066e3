"""Issue 16, item 5: the plate with a hole and the strip footing (plane strain), loaded past
yield, unloaded and reloaded, with the learned return-mapping law against the analytic J2 law
that made its training data.

Each case runs coarse (a coarser mesh than the shipped case, the same load path) twice — with
the shipped checkpoint and with the analytic law — and the load–displacement curves recorded by
the run (summary.json ``results.load_displacement``) are compared:

* curve: max over steps |u_learned − u_analytic| / max over steps |u_analytic|, per probe;
* residual displacement after unloading (the step at λ = 0): |Δu| / |u_analytic(λ = 0)|;
* Newton converges in every load step with the learned law (a diverged step fails the run).

The tolerance is the issue's acceptance bound, 2 % (a verification requirement, not a fit to the
measurement). Measured with the shipped checkpoints (2000 clean samples each): plate curve
0.10 %, residual 0.33 % (margin 6x); footing curve 0.21 %, residual 1.19 % (margin 1.7x: the
residual settlement is a difference, 18 % of the peak, so it magnifies the curve error ~5x).
The learned law is deterministic (float64, fixed checkpoint): these numbers move only with the
solver's round-off, orders of magnitude below the margins.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import CASES, cli_inprocess, summaries_on_ranks

J2_PLATE = 'material={law="j2_plasticity", E=70e9, nu=0.3, yield_stress=200e6, hardening=5e9}'
J2_FOOTING = 'material={law="j2_plasticity", E=20e6, nu=0.3, yield_stress=86.6e3, hardening=2e6}'
COARSE = {
    "learned_plasticity_plate": ["mesh.element_size=0.2", "mesh.hole_element_size=0.05"],
    # P1 on the footing mesh shipped until session 13 (footing-edge size 0.04 m; the case now ships
    # 0.02 m, tools/footing_mesh.py): the figures above and in docs/plasticity.md were measured on it
    "footing": ["fem.degree=1", 'mesh.path="meshes/footing_coarse.msh"'],
}
ANALYTIC = {"learned_plasticity_plate": J2_PLATE, "footing": J2_FOOTING}
#: the footing on a frictional soil (benchmarks/learned_plasticity.py, case entry "footing_dp")
DP_FOOTING_LAW = dict(E=20e6, nu=0.3, cohesion=20e3, friction_angle=20.0, hardening=2e6)
DP_FOOTING = "material={law=\"drucker_prager\", " + ", ".join(f"{k}={v!r}" for k, v in DP_FOOTING_LAW.items()) + "}"
DP_FOOTING_MODEL = CASES / "models" / "dp_footing_return_mapping.pt"
#: probes whose residual displacement after unloading is a sizeable fraction of the peak
RESIDUAL_PROBES = {"learned_plasticity_plate": ["hole_top_displacement"], "footing": ["footing_centre_settlement"]}
TOLERANCE = 0.02


def _run(tmp_path, case: str, sets: list[str], tag: str) -> dict:
    out = tmp_path / f"{case}-{tag}"
    args = ["run", str(CASES / f"{case}.toml"), "-o", str(out), "-q"]
    for s in sets:
        args += ["--set", s]
    code, _, err = cli_inprocess(*args)
    assert code == 0, err
    assert (out / "load_displacement.png").is_file()
    return json.loads((out / "summary.json").read_text())


def curve_errors(learned: dict, analytic: dict, residual_probes: list[str]) -> dict:
    """Relative curve and residual-displacement errors of a learned run against the analytic one."""
    ld_l, ld_a = learned["results"]["load_displacement"], analytic["results"]["load_displacement"]
    assert ld_l["load_factor"] == ld_a["load_factor"]
    zero = ld_a["load_factor"].index(0.0)
    out = {"curve": {}, "residual": {}}
    for name, ua in ld_a["probes"].items():
        ua, ul = np.asarray(ua), np.asarray(ld_l["probes"][name])
        out["curve"][name] = float(np.abs(ul - ua).max() / np.abs(ua).max())
        if name in residual_probes:
            out["residual"][name] = float(abs(ul[zero] - ua[zero]) / abs(ua[zero]))
    return out


@pytest.mark.parametrize("case", ["learned_plasticity_plate", "footing"])
def test_learned_law_load_displacement_matches_the_analytic_law(tmp_path, case):
    """Measured (coarse meshes): see the module docstring. Newton iterations per step, learned vs
    analytic: plate [1,4,5,7,1,1,1,1] vs [1,4,5,6,1,1,1,1], footing [1,1,1,5,6,2,1,1,1] vs
    [1,1,1,6,6,1,1,1,1]."""
    learned = _run(tmp_path, case, COARSE[case], "learned")
    analytic = _run(tmp_path, case, COARSE[case] + [ANALYTIC[case]], "analytic")
    _check_against_analytic(case, learned, analytic)


def _check_against_analytic(case: str, learned: dict, analytic: dict) -> None:
    """Every step converged, the analytic run yielded with a permanent deformation > 10 % of the
    peak, and the learned curve and residual within the issue's 2 %."""
    steps = len(analytic["results"]["load_displacement"]["load_factor"])
    its_l, its_a = learned["solver"]["newton_iterations"], analytic["solver"]["newton_iterations"]
    assert len(its_l) == steps and len(its_a) == steps  # every step converged
    assert max(its_a) > 1  # the analytic run yielded (nonlinear steps)
    zero = analytic["results"]["load_displacement"]["load_factor"].index(0.0)
    for name in RESIDUAL_PROBES[case]:  # permanent deformation: > 10 % of the peak
        u = np.asarray(analytic["results"]["load_displacement"]["probes"][name])
        assert abs(u[zero]) > 0.1 * np.abs(u).max()
    err = curve_errors(learned, analytic, RESIDUAL_PROBES[case])
    print(case, json.dumps(err), "newton learned", its_l, "analytic", its_a)
    assert max(err["curve"].values()) < TOLERANCE, err
    assert max(err["residual"].values()) < TOLERANCE, err


@pytest.mark.mpi
def test_learned_plastic_plate_two_ranks_match_one(tmp_path):
    """The learned plastic law under mpiexec -n 2: the same Newton iterations and curve as 1 rank."""
    outs = summaries_on_ranks(tmp_path, str(CASES / "learned_plasticity_plate.toml"), COARSE["learned_plasticity_plate"])
    assert outs[1]["solver"]["newton_iterations"] == outs[2]["solver"]["newton_iterations"]
    c1, c2 = outs[1]["results"]["load_displacement"], outs[2]["results"]["load_displacement"]
    for name, u1 in c1["probes"].items():
        np.testing.assert_allclose(c2["probes"][name], u1, rtol=1e-8, atol=1e-12 * np.abs(u1).max())



def _benchmark():
    """benchmarks/learned_plasticity.py as a module (its case entries and data helper)."""
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("learned_plasticity_bench", ROOT / "benchmarks" / "learned_plasticity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_drucker_prager_footing_entry_is_loaded_past_yield(tmp_path):
    """The Drucker–Prager row of the error table (benchmark entry ``footing_dp``): the reference is
    the analytic Drucker–Prager law of the test's DP_FOOTING_LAW, the footing run with it converges
    in every step, yields (Newton > 1 iteration) and keeps a residual settlement > 10 % of the peak
    (measured 15 %); the multi-amplitude training data are the single-amplitude data sets, stacked."""
    from learned.paths import generate_path_dataset
    from learned.plasticity import DruckerPrager

    bench = _benchmark()
    spec = bench.CASES["footing_dp"]
    assert spec["law"] == DP_FOOTING_LAW and spec["law_name"] == "drucker_prager"
    law = bench.reference_law(spec)
    assert isinstance(law, DruckerPrager)
    assert bench.key_prefix("footing_dp", {**spec, "strain_range": [3e-2, 1e-2]}) == "footing_dp_strain0.03+0.01"
    data = bench.training_paths(law, 4 * bench.STEPS, [3e-2, 1e-2], 0.0)
    for half, seed, rows in ((3e-2, 1, slice(0, 2)), (1e-2, 2, slice(2, 4))):
        single = generate_path_dataset(law, 2, bench.STEPS, "mixed", half, seed=seed)
        np.testing.assert_array_equal(data.strain[rows], single.strain)
        np.testing.assert_array_equal(data.stress[rows], single.stress)
    analytic = _run(tmp_path, "footing", COARSE["footing"] + [DP_FOOTING], "dp-analytic")
    its = analytic["solver"]["newton_iterations"]
    ld = analytic["results"]["load_displacement"]
    assert len(its) == len(ld["load_factor"]) and max(its) > 1
    u = np.asarray(ld["probes"]["footing_centre_settlement"])
    assert abs(u[ld["load_factor"].index(0.0)]) > 0.1 * np.abs(u).max()


def test_learned_drucker_prager_footing_matches_the_analytic_law(tmp_path):
    """The strip footing with a learned Drucker–Prager law (cases/models/dp_footing_return_mapping.pt:
    isotropic yield surface, trained on 1e4 path samples with 2 % noise of the associative law
    DP_FOOTING_LAW, ``benchmarks/learned_plasticity.py table --cases footing_dp --sizes 10000
    --noise 0.02 --lbfgs 200 --keep-checkpoints DIR``) against the analytic law, same coarse mesh and
    load path; the 200 kPa pressure is 0.68 of the Prandtl capacity c N_c of a weightless soil.
    Measured: curve 0.19 % (centre), residual settlement 1.29 % (margin 1.5x to the issue's 2 %, as
    the J2 footing's 1.7x: the checkpoint is deterministic, so it moves only with round-off); Newton
    iterations per step equal the analytic law's, [1,3,5,5,5,3,4,1,5]. Also: the step
    dissipation of the learned law ≥ 0 along 40 new mixed paths of the reference law."""
    learned = _run(tmp_path, "footing", COARSE["footing"] + [f'material={{law="checkpoint", path="{DP_FOOTING_MODEL}"}}'],
                   "dp-learned")
    analytic = _run(tmp_path, "footing", COARSE["footing"] + [DP_FOOTING], "dp-analytic")
    _check_against_analytic("footing", learned, analytic)

    from learned.checkpoint import load_law
    from learned.paths import generate_path_dataset
    from learned.plasticity import DruckerPrager

    law = load_law(DP_FOOTING_MODEL)
    paths = generate_path_dataset(DruckerPrager(**DP_FOOTING_LAW), 40, 25, "mixed", 3e-2, seed=99).strain
    state = np.asarray(law.initial_state(paths.shape[0]))
    scale = DP_FOOTING_LAW["cohesion"] ** 2 / DP_FOOTING_LAW["E"]  # c²/E [J/m³]
    d_min = np.inf
    for k in range(paths.shape[1]):
        d_min = min(d_min, float(np.min(law.dissipation(paths[:, k], state))) / scale)
        state = np.asarray(law.evaluate(paths[:, k], state).state)
    assert d_min >= -1e-9, d_min  # round-off allowance on D / (c²/E), an O(1) quantity when yielding
