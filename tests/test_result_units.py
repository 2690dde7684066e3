"""The units of summary.json's results (coupling.output.units) and the console summary that
prints them (the shipped cases' summaries are checked in tests/test_output_readers.py and
tests/test_field_files.py)."""

from __future__ import annotations

from coupling.output.units import result_units, unit_text
from conftest import run_cli


def test_probe_values_take_their_quantitys_unit_and_records_share_one_path():
    results = {
        "probes": {"tip": {"point": [1.0, 0.0], "quantity": "uy", "value": -0.01, "reference": -0.0101,
                           "relative_error": 0.01},
                   "wall": {"point": [3.0, 0.0], "quantity": "syy", "value": 5e6, "peak": 6e6, "time_of_peak": 0.1}},
        "load_displacement": {"load_factor": [0.5, 1.0], "probes": {"tip": [-0.005, -0.01], "wall": [2e6, 5e6]}},
        "sif": [{"crack": 0, "name": "edge", "KI": 1.6e6, "J": 33.0}, {"crack": 1, "name": "other", "KI": 1e6, "J": 10.0}],
        "time_to_rest": None,
        "converged": True,  # not a quantity: no unit
    }
    units, missing = result_units(results)
    assert missing == []
    assert units["probes.tip.value"] == units["probes.tip.reference"] == "m"
    assert units["probes.wall.value"] == units["probes.wall.peak"] == "Pa"
    assert units["probes.wall.time_of_peak"] == "s"
    assert units["load_displacement.probes.tip"] == "m" and units["load_displacement.probes.wall"] == "Pa"
    assert units["sif[].KI"] == "Pa·m^0.5" and units["sif[].J"] == "J/m^2"
    assert units["time_to_rest"] == "s"
    assert "converged" not in units and "sif[].name" not in units


def test_a_result_without_a_unit_is_reported_missing():
    units, missing = result_units({"peak_velocity": 1.0, "new_quantity": 2.0, "probes": {"p": {"quantity": "q", "value": 1.0}}})
    assert units == {"peak_velocity": "m/s"}
    assert sorted(missing) == ["new_quantity", "probes.p.value"]
    assert unit_text("-") == "" and unit_text(None) == "" and unit_text("m") == " m"


def test_console_summary_prints_units_and_json_words(tmp_path):
    r = run_cli("run", "dda_incline", "-o", str(tmp_path / "out"), "-q", "--set", "dda.duration=0.05")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("  peak_velocity: ") and line.endswith(" m/s") for line in lines)
    assert "  time_to_rest: null" in lines  # as summary.json writes it, not Python's None
    assert not any("None" in line for line in lines)


def test_console_lists_print_json_words():
    """A results list (crack tips, joints, holes) prints null / true / false as summary.json does;
    the flagged crack reference of a run with a material override printed 'relative_error_KI: None'."""
    from coupling.cli import _compact

    text = _compact({"KI": 1.6e6, "relative_error_KI": None, "reference_applies": False, "converged": True})
    assert text == "{KI: 1.6e+06, relative_error_KI: null, reference_applies: false, converged: true}"
