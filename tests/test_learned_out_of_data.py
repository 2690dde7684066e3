"""Out of distribution, end to end, in every solver and for every kind of learned law (issue 12
item 3): NMM materials and joints, DDA blocks and joints driven beyond the data their
checkpoint was trained on report the count and the worst excursion in summary.json, warn once
on the console, and fail (exit 2, one line naming the material or joint) when the case asks
for strictness (``out_of_distribution = "error"``). FEM materials: tests/test_learned_scales.py.

Strictness is judged over every *accepted* step of the run, not the last evaluation: a joint
that leaves its data mid-run and comes back fails (the DDA thrown-block test is exactly that
case: its last evaluation is inside the data). Trial states (Newton, open–close iterates) that
stray outside and return before the step converges do not count.

The checkpoint joint law of an NMM joint is also checked against the analytic law it was
trained from (issue 12 item 4; the other solvers: tests/test_law_builder.py,
tests/test_learned_cases.py).

Cost: the monitor test and the DDA joint pair (the leave-and-return case) run in ``make test``
(about 15 s of CPU for the joint model, 5 s per run); the other solvers' runs are marked slow.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import coupling
from block_on_base import block_on_base
from conftest import CASES, assert_one_line_error, run_cli
from learned.data_region import RegionMonitor, outside_count

ICNN = CASES / "models" / "power_law_plate_icnn.pt"  # strains |ε| ≤ 1e-2 in its data
#: the learned joint's data: Coulomb φ = 20°, slip ≤ SLIP_MAX [m], slip rate in [0, RATE_MAX] [m/s]
PHI, SLIP_MAX, RATE_MAX = 20.0, 0.05, 1.0


# ---------------------------------------------------------------------------- the monitor
def test_a_state_that_leaves_the_data_and_returns_still_counts():
    mon = RegionMonitor([0.0], [1.0], ["slip_rate"])
    mon.observe(np.array([[0.5], [0.2]]))
    mon.accept()                              # step 1 accepted inside
    mon.observe(np.array([[3.0], [0.2]]))     # a trial iterate outside ...
    mon.observe(np.array([[0.6], [0.2]]))     # ... converged inside: not counted
    mon.accept()
    mon.observe(np.array([[2.0], [0.2]]))     # step 3 accepted outside (excursion 1.0)
    mon.accept()
    mon.observe(np.array([[0.4], [0.1]]))     # step 4 back inside: the last state
    mon.accept()
    mon.observe(np.array([[0.3]]))            # a one-point probe afterwards: not a step
    mon.accept()                              # (the full-size batch rule: still 4 + 1 steps)
    r = mon.report()
    assert r["outside_last"] == 0             # the last batch alone would pass
    assert (r["accepted_steps"], r["accepted_steps_outside"], r["outside_accepted_max"]) == (5, 1, 1)
    assert r["worst_excursion_accepted"] == pytest.approx(1.0) and r["worst_excursion"] == pytest.approx(2.0)
    assert outside_count(r) == 1
    mon.accept()                              # no evaluation since: nothing added
    assert mon.report()["accepted_steps"] == 5


# ---------------------------------------------------------------------------- joints at rest
@pytest.mark.parametrize("rate_min, rest_inside", [(1e-4, True), (0.0, True), (0.1, True), (0.2, False), (0.5, False)])
def test_contacts_at_rest_count_as_inside_only_when_the_data_start_near_rest(rate_min, rest_inside):
    """Rest rule (learned.data_region.joint_rest_included): slip rates below the data's
    smallest v_min count as inside when v_min ≤ 1 % of its largest (here 10 m/s: the CLI's
    default log range starts at 1e-4); data that start far from rest (0.5 m/s) do not cover it."""
    from learned.neural_joint import FrictionNet, NeuralJointLaw

    net = FrictionNet(input_scale=[0.05, 10.0])
    net.meta = {"data_region": {"slip_max": 0.05, "slip_rate_min": rate_min, "slip_rate_max": 10.0}}
    law = NeuralJointLaw(net, device="cpu")
    at_rest = np.array([0.0, 0.0, 1e-12, 0.5 * rate_min])  # locked, round-off creep, half v_min
    law.friction(np.full(4, 0.01), at_rest)
    r = law.out_of_distribution_report()
    assert r["outside_last"] == (0 if rest_inside else 4), r
    assert r["region"]["rest_inside"] is rest_inside and r["region"]["data_slip_rate_min"] == rate_min
    assert r["region"]["slip_rate"][0] == (0.0 if rest_inside else rate_min)
    law.friction(np.full(4, 0.01), np.array([0.0, 1.0, 5.0, 10.5]))  # beyond the largest rate: outside either way
    assert law.out_of_distribution_report()["outside_last"] == (1 if rest_inside else 2)


# ---------------------------------------------------------------------------- a learned joint law
@pytest.fixture(scope="module")
def joint_model(tmp_path_factory):
    """μ(slip, rate) trained on a Coulomb joint (φ = 20°) over slip ∈ [0, 0.05] m and rates
    [0, 1] m/s (contacts at rest included: rate 0 is in the data)."""
    from learned import CoulombFriction, generate_joint_dataset, train_joint
    from learned.checkpoint import save_checkpoint

    law = CoulombFriction(PHI)
    ds = generate_joint_dataset(law, 1000, slip_max=SLIP_MAX, rate_range=(0.0, RATE_MAX), seed=0)
    ds.slip_rate[:50] = 0.0
    ds.shear_strength[:] = np.asarray(law.evaluate(ds.normal_stress, ds.slip, ds.slip_rate).strength)
    net, report = train_joint(ds, epochs=150, device="cpu")
    path = tmp_path_factory.mktemp("joint") / "coulomb_joint.pt"
    save_checkpoint(path, net, report)
    return path


def _law(model, policy):
    return f'{{ kind = "checkpoint", path = "{model}", device = "cpu", out_of_distribution = "{policy}" }}'


def _warned_once(r, key):
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith(f"warning: {key}")]
    return len(lines) == 1


# ---------------------------------------------------------------------------- DDA joints
def _thrown_block(model, policy: str) -> str:
    """A block thrown at 1.5 m/s along a fixed base (1.5 times the fastest rate of the joint's
    data), pressed by a body force of 100 m/s² so that friction (φ = 20°) stops it at
    a = μ g = 36.4 m/s² within the data's slip: its slip rate is above 1 m/s for the first
    ≈ 14 ms (7 steps), it stops after v²/(2a) = 0.031 m (≤ SLIP_MAX) at ≈ 41 ms and is back
    inside (at rest) at the end."""
    return f"""
title = "DDA block thrown along a flat base, learned joint friction"
solver = "dda"
gravity = [0.0, -100.0]
[materials.rock]
law = "linear_elastic"
E = 10e9
nu = 0.25
plane = "strain"
density = 2500.0
[joints.default]
law = {_law(model, policy)}
[[blocks]]
name = "base"
polygon = [[0.0, 0.0], [10.0, 0.0], [10.0, 1.0], [0.0, 1.0]]
material = "rock"
fixed = true
[[blocks]]
name = "block"
polygon = [[1.0, 1.0], [2.0, 1.0], [2.0, 1.5], [1.0, 1.5]]
material = "rock"
velocity = [1.5, 0.0]
[dda]
duration = 0.05
dt = 2e-3
[output]
fields = false
plots = false
"""


def test_dda_joint_that_leaves_its_data_and_returns_is_reported(tmp_path, joint_model):
    case = tmp_path / "case.toml"
    case.write_text(_thrown_block(joint_model, "warn"))
    r = run_cli("run", str(case), "-o", str(tmp_path / "out"), "-q")
    assert r.returncode == 0, r.stderr
    assert _warned_once(r, "joints.default.law"), r.stdout + r.stderr
    ood = json.loads((tmp_path / "out" / "summary.json").read_text())["out_of_distribution"]["joints.default.law"]
    assert ood["outside_last"] == 0, ood  # back inside at the end: the last state alone would pass
    assert 1 <= ood["accepted_steps_outside"] < ood["accepted_steps"], ood
    assert ood["worst_quantity_accepted"] == "slip_rate"
    # a rate of about 2 m/s against data [0, 1] m/s: about one data range beyond
    assert 0.5 < ood["worst_excursion_accepted"] < 1.5, ood


def test_dda_joint_that_leaves_its_data_and_returns_fails_when_strict(tmp_path, joint_model):
    line = assert_one_line_error(tmp_path, _thrown_block(joint_model, "error"),
                                 "joints.default.law.out_of_distribution", "accepted steps", "slip_rate")
    assert "(or out_of_distribution" in line


# ---------------------------------------------------------------------------- DDA blocks
def _heavy_block(policy: str, density: float) -> str:
    """A block pressed on a fixed base by its own weight, material = the shipped ICNN (data
    |ε| ≤ 1e-2). Static DDA moves it by about g Δt²/2 per step while the inertia term
    dominates, so long steps (Δt = 0.05 s) and density 1e9 kg/m³ (σ ~ ρ g h / 2 ~ 5e9 Pa)
    strain it about 10x beyond its data within 10 steps (measured |ε_yy| = 0.13)."""
    return f"""
title = "DDA block crushed by its own weight, learned material"
solver = "dda"
[materials.rock]
law = "checkpoint"
path = "{ICNN}"
device = "cpu"
density = {density}
out_of_distribution = "{policy}"
{block_on_base(phi=40.0)}[dda]
duration = 0.5
dt = 0.05
max_displacement_ratio = 0.1
dynamic = 0.0
[output]
fields = false
plots = false
"""


@pytest.mark.slow
def test_dda_block_beyond_its_data_warns_and_fails_when_strict(tmp_path):
    case = tmp_path / "warn" / "case.toml"
    case.parent.mkdir()
    case.write_text(_heavy_block("warn", 1e9))
    r = run_cli("run", str(case), "-o", str(tmp_path / "warn" / "out"), "-q")
    assert r.returncode == 0, r.stderr
    assert _warned_once(r, "materials.rock"), r.stdout + r.stderr
    ood = json.loads((tmp_path / "warn" / "out" / "summary.json").read_text())["out_of_distribution"]["materials.rock"]
    assert ood["accepted_steps"] >= 10 and ood["accepted_steps_outside"] >= 1, ood
    assert ood["worst_excursion_accepted"] > 1, ood  # |ε| ≈ 0.13 against |ε|_max = 1e-2
    strict = tmp_path / "strict"
    strict.mkdir()
    assert_one_line_error(strict, _heavy_block("error", 1e9), "materials.rock.out_of_distribution")


# ---------------------------------------------------------------------------- NMM materials
def _nmm_plate(traction: float, policy: str) -> str:
    """A plane-stress NMM plate under a top traction, material = the shipped ICNN."""
    return f"""
title = "NMM plate, learned material"
solver = "nmm"
[domain]
kind = "rectangle"
size = [1.0, 2.0]
[cover]
kind = "rectangle"
cells = [4, 8]
[nmm]
order = 1
load_steps = 2
[material]
law = "checkpoint"
path = "{ICNN}"
device = "cpu"
out_of_distribution = "{policy}"
[[boundary.dirichlet]]
boundary = "left"
ux = 0.0
[[boundary.dirichlet]]
boundary = "bottom"
uy = 0.0
[[boundary.traction]]
boundary = "top"
traction = [0.0, {traction}]
[output]
fields = false
plots = false
"""


@pytest.mark.slow
def test_nmm_material_beyond_its_data_warns_and_fails_when_strict(tmp_path):
    """1 GPa on the plate strains it about 10x beyond the model's data (|ε| ≤ 1e-2)."""
    case = tmp_path / "warn" / "case.toml"
    case.parent.mkdir()
    case.write_text(_nmm_plate(1e9, "warn"))
    r = run_cli("run", str(case), "-o", str(tmp_path / "warn" / "out"), "-q")
    assert r.returncode == 0, r.stderr
    assert _warned_once(r, "material"), r.stdout + r.stderr
    ood = json.loads((tmp_path / "warn" / "out" / "summary.json").read_text())["out_of_distribution"]["material"]
    assert ood["accepted_steps"] == 2 and ood["accepted_steps_outside"] >= 1, ood
    assert 0 < ood["outside_accepted_max"] <= ood["points_last"] and ood["worst_excursion_accepted"] > 1, ood
    strict = tmp_path / "strict"
    strict.mkdir()
    assert_one_line_error(strict, _nmm_plate(1e9, "error"), "material.out_of_distribution")


# ---------------------------------------------------------------------------- NMM joints
def _nmm_slide(law: str, duration: float, pull: float = 8.0) -> str:
    """Upper half of a square sliding on a joint under a sideways body force ``pull`` [m/s²]
    (dynamic NMM): a = g_x − μ g_y = 8 − tan 20° · 9.81 = 4.43 m/s²; slip ½ a t² = 0.022 m at
    0.1 s (inside the joint's data, slip ≤ 0.05 m) and 0.089 m at 0.2 s (beyond it). With
    ``pull`` = 20: a = 16.4 m/s², at 0.072 s the slip rate a t = 1.18 m/s is beyond the data's
    1 m/s while the slip ½ a t² = 0.043 m is still inside."""
    return f"""
title = "NMM block sliding on a learned joint"
solver = "nmm"
gravity = [{pull}, -9.81]
[domain]
kind = "rectangle"
size = [1.0, 1.0]
[cover]
kind = "rectangle"
cells = [4, 4]
[nmm]
order = 1
duration = {duration}
dt = 4e-3
[material]
law = "linear_elastic"
E = 1e9
nu = 0.25
plane = "stress"
density = 2000.0
[[joints]]
name = "slide"
points = [[0.0, 0.5], [1.0, 0.5]]
law = {law}
[[boundary.dirichlet]]
boundary = "bottom"
ux = 0.0
uy = 0.0
[[probes]]
name = "top"
point = [0.5, 0.9]
quantity = "ux"
[output]
fields = false
plots = false
"""


@pytest.mark.slow
def test_nmm_joint_beyond_its_data_warns_and_fails_when_strict(tmp_path, joint_model):
    case = tmp_path / "warn" / "case.toml"
    case.parent.mkdir()
    case.write_text(_nmm_slide(_law(joint_model, "warn"), 0.2))
    r = run_cli("run", str(case), "-o", str(tmp_path / "warn" / "out"), "-q")
    assert r.returncode == 0, r.stderr
    assert _warned_once(r, "joints[0].law"), r.stdout + r.stderr
    ood = json.loads((tmp_path / "warn" / "out" / "summary.json").read_text())["out_of_distribution"]["joints[0].law"]
    assert ood["accepted_steps"] == 50 and ood["accepted_steps_outside"] >= 1, ood
    assert ood["worst_quantity_accepted"] == "slip", ood
    strict = tmp_path / "strict"
    strict.mkdir()
    assert_one_line_error(strict, _nmm_slide(_law(joint_model, "error"), 0.2), "joints[0].law.out_of_distribution")


@pytest.mark.slow
def test_nmm_joint_beyond_its_slip_rate_data_warns_and_fails_when_strict(tmp_path, joint_model):
    """Out of the data in slip rate only (1.18 m/s against the data's 1 m/s; slip inside)."""
    case = tmp_path / "warn" / "case.toml"
    case.parent.mkdir()
    case.write_text(_nmm_slide(_law(joint_model, "warn"), 0.072, pull=20.0))
    r = run_cli("run", str(case), "-o", str(tmp_path / "warn" / "out"), "-q")
    assert r.returncode == 0, r.stderr
    assert _warned_once(r, "joints[0].law"), r.stdout + r.stderr
    ood = json.loads((tmp_path / "warn" / "out" / "summary.json").read_text())["out_of_distribution"]["joints[0].law"]
    assert ood["accepted_steps_outside"] >= 1 and ood["worst_quantity_accepted"] == "slip_rate", ood
    assert 0 < ood["worst_excursion_accepted"] < 0.5, ood  # (1.18 − 1) / 1 at the last step
    strict = tmp_path / "strict"
    strict.mkdir()
    assert_one_line_error(strict, _nmm_slide(_law(joint_model, "error"), 0.072, pull=20.0),
                          "joints[0].law.out_of_distribution")


@pytest.mark.slow
def test_nmm_checkpoint_joint_agrees_with_the_analytic_law_it_was_trained_from(tmp_path, joint_model):
    """0.1 s of sliding, inside the joint's data: the learned joint vs Coulomb φ = 20° (its
    data). Measured 4.9e-4 apart (top displacement 0.02216 m vs 0.02215 m); the tolerance
    5e-3 is 10x that and lies far below the 8.9 % by which φ = 22° moves the block, so a
    wrong friction would fail."""
    results = {}
    for name, law in (("learned", _law(joint_model, "error")), ("analytic", f'{{ kind = "coulomb", phi = {PHI} }}'),
                      ("phi22", '{ kind = "coulomb", phi = 22.0 }')):
        path = tmp_path / f"{name}.toml"
        path.write_text(_nmm_slide(law, 0.1))
        results[name] = coupling.run(coupling.load_case(path)).results["probes"]["top"]["value"]
    learned, analytic, other = results["learned"], results["analytic"], results["phi22"]
    assert analytic > 0.015  # it slid (elastic shear alone is ~1e-5 m)
    assert abs(other - analytic) / analytic > 0.05
    assert abs(learned - analytic) / analytic < 5e-3, results


# ---------------------------------------------------------------------------- data-driven solver
def _data_driven_plate(policy: str) -> str:
    """cases/data_driven_plate.toml with the shipped ICNN as its manifold (data |ε| ≤ 1e-2), a
    coarse mesh and the load path 2×, then 1× the shipped 100 MPa: the first step's hole edge
    leaves the data (|ε| up to 2.4 times its largest), the second is back inside it."""
    text = (CASES / "data_driven_plate.toml").read_text()
    text = text.replace('path = "models/power_law_plate_noisy_proj.pt"',
                        f'path = "{ICNN}", device = "cpu", out_of_distribution = "{policy}"')
    text = text.replace("element_size = 0.15", "element_size = 0.4").replace("hole_element_size = 0.015",
                                                                             "hole_element_size = 0.05")
    text = text.replace("rtol = 1e-8", "rtol = 1e-6").replace("degree = 1", "degree = 1\nload_path = [2.0, 1.0]")
    return text + "\n[output]\nfields = false\nplots = false\n"


@pytest.mark.slow
def test_data_driven_manifold_that_leaves_its_data_and_returns_is_judged_over_accepted_steps(tmp_path):
    """The data-driven runner judges every converged load step (as FEM, NMM and DDA do): the
    last step alone is inside the data (``outside_last = 0``, which the last-batch rule passed),
    the first is not — one warning, and with strictness exit 2 naming ``data.law``."""
    case = tmp_path / "warn" / "case.toml"
    case.parent.mkdir()
    case.write_text(_data_driven_plate("warn"))
    r = run_cli("run", str(case), "-o", str(tmp_path / "warn" / "out"), "-q")
    assert r.returncode == 0, r.stderr
    assert _warned_once(r, "data.law"), r.stdout + r.stderr
    ood = json.loads((tmp_path / "warn" / "out" / "summary.json").read_text())["out_of_distribution"]["data.law"]
    assert ood["outside_last"] == 0, ood
    assert (ood["accepted_steps"], ood["accepted_steps_outside"]) == (2, 1), ood
    assert ood["outside_accepted_max"] > 0 and ood["worst_quantity_accepted"] == "magnitude", ood
    strict = tmp_path / "strict"
    strict.mkdir()
    assert_one_line_error(strict, _data_driven_plate("error"), "data.law.out_of_distribution")
