"""The shipped-case resolution study (benchmarks/case_resolution.py; issue 13 item 8): each case
without a closed-form check is run as shipped and refined, and its ``accuracy`` key quotes the
sentence generated from the committed report. Fast: the report is read, not rerun (the study is
minutes of CPU); one slow test reruns the cheapest case and compares it with the report."""

import importlib.util
import json

import pytest

from conftest import CASES, ROOT

_spec = importlib.util.spec_from_file_location("case_resolution", ROOT / "benchmarks" / "case_resolution.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

REPORT = ROOT / "benchmarks" / "out" / "case_resolution.json"


def report() -> dict:
    return json.loads(REPORT.read_text(encoding="utf-8"))


def test_report_covers_every_case_of_the_study():
    assert list(report()["cases"]) == list(bench.ALL_CASES)


@pytest.mark.parametrize("name", bench.ALL_CASES)
def test_accuracy_key_quotes_the_committed_report(name):
    """A rerun that changes a figure fails here until the key is regenerated
    (python benchmarks/case_resolution.py --accuracy NAME prints the sentence)."""
    import coupling

    spec = coupling.load_case(CASES / f"{name}.toml").spec
    accuracy = spec.accuracy + " " + spec.accuracy_studies  # the statement and the studies behind it
    assert bench.accuracy_statement(name, report()) in accuracy
    if name in report().get("ladders", {}):  # the discretisation ladder that located the cause
        assert bench.ladder_statement(name, report()) in accuracy
    if name in report().get("analytic", {}):  # the learned law against the analytic one, shipped mesh
        assert bench.analytic_statement(name, report()) in accuracy
    if name == "vajont_learned_friction":
        assert bench.learned_vs_analytic_statement(report()) in accuracy
    if name in bench.SWEEPS:  # the disc sweep that chose the case's stress_maxima_exclude radius
        assert bench.sweep_statement(name, report()["cases"][name]["sweep"]) in accuracy


def test_footing_reports_max_von_mises_off_its_singular_edge():
    """cases/footing.toml takes max_von_mises outside a disc about the footing edge (0.5, 0), where
    the pressure ends: a radius of the disc sweep at which the maximum moved <= 2 % when the mesh
    was halved, as did every radius of the sweep above it (margin); the sweep's smallest radius
    moved more (the reason for the disc). Every quantity of the case then moves <= 2 %."""
    import coupling

    (disc,) = coupling.load_case(CASES / "footing.toml").spec.output.stress_maxima_exclude
    assert tuple(disc.center) == bench.SWEEPS["footing"]["center"]
    sweep = report()["cases"]["footing"]["sweep"]
    change = {r: abs(b / a - 1) for r, a, b in zip(sweep["radii"], sweep["shipped"], sweep["refined"])}
    assert disc.radius in change
    assert all(c <= 0.02 for r, c in change.items() if r >= disc.radius), change
    assert change[min(change)] > 0.02, change
    assert report()["cases"]["footing"]["largest_change"]["change"] <= 0.02


def test_ladders_are_the_ones_the_script_defines():
    assert sorted(report()["analytic"]) == sorted(bench.ANALYTIC)
    lad = report()["ladders"]
    assert sorted(lad) == sorted(bench.LADDERS)
    for name, spec in bench.LADDERS.items():
        assert [tuple(r["discretisation"]) for r in lad[name]["runs"]] == spec["runs"], name


def test_velocity_weakening_states_its_own_accuracy():
    """vajont_velocity_weakening.toml extends vajont.toml: it must not inherit the thermal-
    pressurisation case's statement."""
    import coupling

    own = coupling.load_case(CASES / "vajont_velocity_weakening.toml").spec
    flagship = coupling.load_case(CASES / "vajont.toml").spec
    assert own.accuracy != flagship.accuracy and own.accuracy_studies != flagship.accuracy_studies
    assert "thermal" not in own.accuracy and "band" not in own.accuracy
    assert "thermal" not in own.accuracy_studies.split("resolution (")[1]


def test_tables_and_sentence_are_generated_from_the_runs():
    entry = bench.tabulate({"refinement": "element sizes halved", "shipped": {"top": 2.0, "max_von_mises": 100.0},
                            "refined": {"top": 2.01, "max_von_mises": 97.0}})
    assert entry["quantities"]["top"]["change"] == pytest.approx(0.005)
    assert entry["quantities"]["max_von_mises"]["change"] == pytest.approx(-0.03)
    assert entry["largest_change"] == {"quantity": "max_von_mises", "change": pytest.approx(0.03)}
    text = bench.accuracy_statement("learned_plate", {"cases": {"learned_plate": entry}})
    assert text.startswith("resolution (python benchmarks/case_resolution.py --cases learned_plate; element sizes halved)")
    assert "max_von_mises 100 -> 97 Pa (-3.00 %)" in text and "largest change 3.00 % (max_von_mises)" in text


def test_residual_displacement_is_read_where_the_path_unloads():
    results = {"probes": {"top": {"value": 3.0}}, "max_abs_displacement": 3.0, "max_von_mises": 1.0,
               "load_displacement": {"load_factor": [0.5, 1.0, 0.0, 1.0], "probes": {"top": [1.0, 3.0, 0.25, 3.0]}}}
    q = bench.fem_quantities(None, results)
    assert q == {"top": 3.0, "max_abs_displacement": 3.0, "max_von_mises": 1.0, "top@unloaded": 0.25}


@pytest.mark.slow
def test_learned_plate_rerun_matches_the_report():
    """The cheapest case of the study (~1 min with the forms compiled) rerun: the same values
    as the committed report up to the solvers' round-off."""
    fresh = bench.tabulate(bench.study_fem("learned_plate"))
    stored = report()["cases"]["learned_plate"]["quantities"]
    for q, t in stored.items():
        assert fresh["quantities"][q]["shipped"] == pytest.approx(t["shipped"], rel=1e-6), q
        assert fresh["quantities"][q]["refined"] == pytest.approx(t["refined"], rel=1e-6), q


# ---------------------------------------------------------------- NMM jointed tunnel (own report)
TUNNEL_REPORT = ROOT / "benchmarks" / "out" / "case_resolution_tunnel.json"


def tunnel_report() -> dict:
    return json.loads(TUNNEL_REPORT.read_text(encoding="utf-8"))


def test_tunnel_accuracy_key_quotes_its_report_and_names_what_is_not_resolved():
    """cases/nmm_jointed_tunnel.toml quotes benchmarks/out/case_resolution_tunnel.json verbatim
    (python benchmarks/case_resolution.py --accuracy nmm_jointed_tunnel prints it), keeps the Kirsch
    statement of its unjointed variant, and names every quantity that moved more than 2 % after
    the sentence (the stated reason), in its studies (``accuracy_studies``; the short ``accuracy``
    statement says whether every quantity resolved)."""
    import coupling

    spec = coupling.load_case(CASES / f"{bench.TUNNEL_CASE}.toml").spec
    assert spec.accuracy.startswith("unjointed variant vs Kirsch") and "every quantity resolved" in spec.accuracy
    accuracy = spec.accuracy_studies  # the studies behind the short statement (session 20 on)
    sentence = bench.tunnel_statement(tunnel_report())
    assert sentence in accuracy
    assert bench.tunnel_ladder_statement(tunnel_report()) in accuracy
    assert bench.sweep_statement(bench.TUNNEL_CASE, tunnel_report()["cases"][bench.TUNNEL_CASE]["sweep"]) in accuracy
    assert accuracy.startswith("unjointed variant vs Kirsch")
    after = accuracy.split(sentence)[1]
    entry = tunnel_report()["cases"][bench.TUNNEL_CASE]
    moved = [q for q, t in entry["quantities"].items() if abs(t["change"]) > 0.02]
    # on the cover ladder: any rung more than 2 % off the shipped cover's value
    moved += [q for q, v in entry["ladder"]["quantities"].items() if max(abs(x / v[0] - 1) for x in v) > 0.02 and q not in moved]
    # measured: none since session 14 (the a/60 cover; on the former a/30 cover max_von_mises moved
    # +1.94 % halved and +3.43 % on its cover / 4, and the key named it)
    if moved:
        for q in moved:
            assert f"{q} (" in after.split("not resolved to 2 %:")[1], q
    else:
        assert "not resolved to 2 %" not in after and "every quantity resolved" in after


def test_tunnel_stress_maxima_are_off_the_wall_cut_cells():
    """The tunnel's stress maxima are over what lies wholly outside a disc about the axis a little
    wider than the wall (a = 3 m): the elements the wall cuts are left out; its cover ladder is the
    one the script defines and ends with the refined run."""
    import coupling

    (disc,) = coupling.load_case(CASES / f"{bench.TUNNEL_CASE}.toml").spec.output.stress_maxima_exclude
    assert tuple(disc.center) == bench.SWEEPS[bench.TUNNEL_CASE]["center"] and 3.0 < disc.radius <= 3.15
    entry = tunnel_report()["cases"][bench.TUNNEL_CASE]
    assert disc.radius in entry["sweep"]["radii"]
    assert all(r >= disc.radius for r in entry["shipped_details"]["max_von_mises_element_radii"])
    lad = entry["ladder"]
    assert lad["divisors"] == list(bench.TUNNEL_LADDER) and list(lad["quantities"]) == list(bench.TUNNEL_LADDER_QUANTITIES)
    halved = lad["divisors"].index(2.0)
    for q, values in lad["quantities"].items():
        assert values[0] == entry["shipped"][q] and values[halved] == entry["refined"][q], q


def test_tunnel_report_is_the_shipped_cover_against_every_size_halved():
    entry = tunnel_report()["cases"][bench.TUNNEL_CASE]
    tool = bench._tunnel_tool()
    import inspect

    defaults = {k: v.default for k, v in inspect.signature(tool.write_cover).parameters.items() if k in bench.TUNNEL_COVER}
    assert defaults == bench.TUNNEL_COVER  # cases/data/tunnel_cover.msh: the tool's defaults
    assert entry["refined_cover"] == {k: v / 2 for k, v in bench.TUNNEL_COVER.items()}
    assert set(entry["quantities"]) >= {"crown_settlement", "sidewall_tangential_stress", "max_abs_displacement",
                                        "max_von_mises", "J1.max_slip", "J2.max_slip"}


def test_tunnel_quantities_are_read_from_the_results():
    results = {"probes": {"crown": {"value": -1.0}}, "holes": [{"hole": 0, "vertical_convergence": 2.0}],
               "max_abs_displacement": 3.0, "max_von_mises": 4.0,
               "joints": [{"name": "J1 (45 deg)", "points": 9, "max_slip": 5.0, "max_slip_sliding": 6.0,
                           "max_normal_stress": 7.0, "max_opening": 1e-7}]}
    rel, absolute = bench.tunnel_quantities(results)
    assert rel == {"crown": -1.0, "hole0.vertical_convergence": 2.0, "max_abs_displacement": 3.0, "max_von_mises": 4.0,
                   "J1.max_slip": 5.0, "J1.max_slip_sliding": 6.0, "J1.max_normal_stress": 7.0}
    assert absolute == {"J1.max_opening": 1e-7}
    assert bench.tunnel_unit("J1.max_slip") == "m" and bench.tunnel_unit("J1.max_normal_stress") == "Pa"
    assert bench.tunnel_unit("crown", {"crown": "uy"}) == "m" and bench.tunnel_unit("side", {"side": "syy"}) == "Pa"


@pytest.mark.slow
def test_tunnel_rerun_matches_its_report():
    """The tunnel study again (~3 min: shipped, refined and the ladder to / 4): the committed report's values up to the solvers' round-off."""
    fresh = bench.study_tunnel()
    for q, t in tunnel_report()["cases"][bench.TUNNEL_CASE]["quantities"].items():
        assert fresh["quantities"][q]["shipped"] == pytest.approx(t["shipped"], rel=1e-6), q
        assert fresh["quantities"][q]["refined"] == pytest.approx(t["refined"], rel=1e-6), q
