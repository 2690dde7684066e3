"""``check`` runs the runners' own set-up and reports the size ``run`` then has; summary.json
is always strict JSON (issue 10, item 3)."""

import json
import re

import pytest

from conftest import CASES, cli_inprocess


def _strict(text: str):
    def reject(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=reject)


def test_check_reports_the_size_run_allocates(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = (str(CASES / "cantilever.toml"), "--set", "mesh.cells=[12, 3]")
    code, out, err = cli_inprocess("check", *args)
    assert code == 0, err
    code, _, err = cli_inprocess("run", *args, "-o", "out", "-q")
    assert code == 0, err
    solver = _strict((tmp_path / "out" / "summary.json").read_text())["solver"]
    assert f"cells {solver['cells']:,}" in out and f"dofs {solver['dofs']:,}" in out, out
    # the memory estimate in MB, not a raw byte count
    assert re.search(r"estimated memory \d+(\.\d)? MB", out) and "estimated_memory_bytes" not in out, out


def test_zero_reference_writes_strict_json(tmp_path, monkeypatch):
    """relative error |v - 0| / 0 is not a number: written as null, never as Infinity."""
    monkeypatch.chdir(tmp_path)
    code, out, err = cli_inprocess("run", str(CASES / "cantilever.toml"), "--set", "mesh.cells=[8, 2]",
                                   "--set", "probes[0].reference=0.0", "-o", "out", "-q")
    assert code == 0 and err == "", err
    assert "tip_deflection: uy = " in out and "(reference 0 m)" in out
    summary = _strict((tmp_path / "out" / "summary.json").read_text())
    probe = summary["results"]["probes"]["tip_deflection"]
    assert probe["reference"] == 0.0 and probe["relative_error"] is None


def test_a_material_override_is_not_compared_with_the_case_reference(tmp_path, monkeypatch):
    """The cantilever's references are Timoshenko's values for its E and ν: with material.E
    overridden the console says so and summary.json flags it (reference_applies false, no
    relative error); a resolution override keeps the comparison."""
    monkeypatch.chdir(tmp_path)
    sets = ("--set", "mesh.cells=[8, 2]", "--set", "output.plots=false", "--set", "output.fields=false")
    code, out, err = cli_inprocess("run", str(CASES / "cantilever.toml"), *sets, "--set", "material.E=60e9",
                                   "-o", "stiff", "-q")
    assert code == 0 and err == "", err
    line = next(t for t in out.splitlines() if "tip_deflection: uy = " in t)
    assert "(case reference -0.0134208 m, given without this run's overrides of material.E)" in line, line
    assert "error" not in line, line
    probe = _strict((tmp_path / "stiff" / "summary.json").read_text())["results"]["probes"]["tip_deflection"]
    assert probe["reference"] == -1.34208e-2 and probe["relative_error"] is None
    assert probe["reference_applies"] is False and probe["reference_overrides"] == ["material.E"]
    code, out, err = cli_inprocess("run", str(CASES / "cantilever.toml"), *sets, "-o", "plain", "-q")
    assert code == 0 and err == "", err
    assert re.search(r"tip_deflection: uy = \S+ m  \(reference -0\.0134208 m, error \d+\.\d\d%\)", out), out
    probe = _strict((tmp_path / "plain" / "summary.json").read_text())["results"]["probes"]["tip_deflection"]
    assert probe["reference_applies"] is True and probe["relative_error"] > 0


def test_write_json_replaces_every_non_finite_number(tmp_path):
    np = pytest.importorskip("numpy")
    from coupling.output.rundir import write_json

    write_json(tmp_path / "s.json", {"a": float("inf"), "b": [1.0, float("nan")], "c": np.array([np.inf, 2.0]),
                                     "d": {"e": np.float64(-np.inf)}, "f": 3})
    assert _strict((tmp_path / "s.json").read_text()) == {"a": None, "b": [1.0, None], "c": [None, 2.0],
                                                          "d": {"e": None}, "f": 3}
