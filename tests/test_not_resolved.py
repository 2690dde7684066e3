"""The ``not_resolved`` case key (issue 13 item 8, session 31): results a case computes but does not
resolve to 2 % are written under summary.json's ``not_resolved``, not ``results``; ``run`` prints
them apart; a name that is not a result of the case's solver is a bad input (exit 2, one line)."""

from __future__ import annotations

import json

import pytest

from conftest import CASES, run_cli

NOT_RESOLVED = '["runout","time_to_rest"]'


def test_a_run_writes_the_named_results_apart_and_prints_them_apart(tmp_path):
    out = tmp_path / "incline"
    r = run_cli("run", "dda_incline", "-o", str(out), "-q", "--set", f"not_resolved={NOT_RESOLVED}",
                "--set", "output.fields=false")
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(s["not_resolved"]) == {"runout", "time_to_rest"}
    assert not {"runout", "time_to_rest"} & set(s["results"]) and "peak_velocity" in s["results"]
    assert s["units"]["runout"] == "m"  # every computed result keeps its unit
    lines = r.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("  not resolved ("))
    assert lines[head + 1].startswith("    runout: ") and lines[head + 1].endswith(" m")
    assert not any(line.startswith("  runout:") for line in lines[:head])


def test_the_api_gives_both_and_the_run_is_unchanged():
    """The key changes what is reported, not what is computed: the same numbers either way."""
    import coupling
    from coupling.runner import computed_results

    plain = coupling.run("dda_incline", overrides={"output.fields": False, "output.plots": False})
    split = coupling.run("dda_incline", overrides={"output.fields": False, "output.plots": False,
                                                   "not_resolved": ["runout", "time_to_rest"]})
    assert plain.not_resolved == {}
    assert split.not_resolved == {k: plain.results[k] for k in ("runout", "time_to_rest")}
    assert computed_results(split.summary) == plain.results


def test_the_key_does_not_change_a_checkpoints_fingerprint():
    """A text about accuracy: a run restarts across a change of it (coupling.restart.FREE_KEYS)."""
    import coupling
    from coupling.restart import case_fingerprint

    a = coupling.load_case(CASES / "vajont_10block.toml")
    b = coupling.load_case(CASES / "vajont_10block.toml", ["not_resolved=[]"])
    assert a.spec.not_resolved and not b.spec.not_resolved
    assert case_fingerprint(a) == case_fingerprint(b)


@pytest.mark.parametrize("case, value, found, allowed", [
    ("dda_incline", '["run_out"]', "['run_out']", "results of a dda run, each once ('run_out' is not one): monitored_blocks, "),
    ("dda_incline", '["runout","runout"]', "['runout', 'runout']", "results of a dda run, each once ('runout' is named twice)"),
    ("cantilever", '["runout"]', "['runout']", "results of a fem run, each once ('runout' is not one): probes, "
                                          "max_abs_displacement, max_von_mises, load_displacement"),
])
def test_a_name_that_is_no_result_is_a_bad_input(tmp_path, case, value, found, allowed):
    out = tmp_path / "out"
    r = run_cli("run", case, "-o", str(out), "--set", f"not_resolved={value}")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith(f"error: {CASES / (case + '.toml')}: --set not_resolved: found {found}; allowed: {allowed}"), lines[0]
    assert not out.exists() and not list(tmp_path.iterdir())


def test_an_ensemble_table_keeps_the_not_resolved_results():
    """Ensembles are how a quantity that is not resolved in one run is studied: its column stays."""
    from coupling.ensemble.table import summary_scalars, summary_units

    summary = {"results": {"peak_velocity": 25.0, "probes": {}}, "not_resolved": {"duration": 45.9, "final_velocity": None},
               "units": {"peak_velocity": "m/s", "duration": "s", "final_velocity": "m/s"}}
    assert summary_scalars(summary) == {"peak_velocity": 25.0, "duration": 45.9}
    assert summary_units(summary) == {"timings.total_s": "s", "peak_velocity": "m/s", "duration": "s"}


def test_a_continuum_case_may_name_its_probes(tmp_path):
    """A FEM case's probes (a table of results) go to not_resolved as a whole and print apart."""
    out = tmp_path / "c"
    r = run_cli("run", "cantilever", "-o", str(out), "-q", "--set", "mesh.cells=[10, 2]", "--set", 'not_resolved=["probes"]',
                "--set", "output.fields=false", "--set", "output.plots=false")
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "probes" not in s["results"] and "tip_deflection" in s["not_resolved"]["probes"]
    assert "    tip_deflection: uy = " in r.stdout
