"""The command line: run, check, cases, --set, python -m coupling, output folder contents."""

import json

from conftest import CASES, run_cli


def test_cases_lists_shipped_cases_with_descriptions():
    r = run_cli("cases")
    assert r.returncode == 0, r.stderr
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert "cantilever" in names and "plate_hole" in names
    assert all(len(line.split(None, 1)) == 2 for line in r.stdout.splitlines())


def test_check_accepts_shipped_cases():
    for path in CASES.glob("*.toml"):
        r = run_cli("check", str(path))
        assert r.returncode == 0, r.stderr
        assert "ok" in r.stdout


def test_run_writes_summary_fields_and_plot(tmp_path):
    out = tmp_path / "cant"
    r = run_cli("run", "cantilever", "-o", str(out), "--set", "mesh.cells=[20, 2]", "-q")
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "ok"
    assert summary["case"]["overrides"] == {"mesh.cells": [20, 2]}
    assert summary["case"]["input"]["mesh"]["cells"] == [20, 2]
    solver = summary["solver"]
    for key in ("dofs", "newton_iterations", "residual_history", "mpi_ranks", "time_solve_s"):
        assert key in solver
    assert summary["versions"]["dolfinx"].startswith("0.11")
    for name in ("fields.pvd", "fields/fields_0000.vtu", "deformed.png"):
        assert (out / name).stat().st_size > 0
    assert not list(tmp_path.glob("*.partial-*"))


def test_rerun_replaces_previous_output(tmp_path):
    out = tmp_path / "cant"
    assert run_cli("run", "cantilever", "-o", str(out), "--set", "mesh.cells=[20, 2]", "-q").returncode == 0
    (out / "stale.txt").write_text("old")
    assert run_cli("run", "cantilever", "-o", str(out), "--set", "mesh.cells=[10, 2]", "-q").returncode == 0
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "summary.json").read_text())["case"]["input"]["mesh"]["cells"] == [10, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cant"]


def test_python_api_matches_cli(tmp_path):
    import coupling

    case = coupling.load_case(CASES / "cantilever.toml", ["mesh.cells=[20, 2]"])
    api = coupling.run(case).results["probes"]["tip_deflection"]["value"]
    out = tmp_path / "cli"
    assert run_cli("run", str(CASES / "cantilever.toml"), "-o", str(out), "--set", "mesh.cells=[20,2]", "-q").returncode == 0
    cli = json.loads((out / "summary.json").read_text())["results"]["probes"]["tip_deflection"]["value"]
    assert api == cli


def test_diverged_run_keeps_last_good_state(tmp_path):
    out = tmp_path / "div"
    r = run_cli("run", "cantilever", "-o", str(out), "-q", "--set", "mesh.cells=[20, 2]",
                "--set", 'material={law="power_law_elastic", E=30e9, nu=0.25, strain0=1e-5, exponent=0.3, plane="stress"}',
                "--set", "fem.load_steps=2", "--set", "fem.newton.max_iterations=2")
    assert r.returncode == 3, r.stderr
    assert "did not converge" in r.stderr and "last good state" in r.stderr and "Traceback" not in r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged"
    assert summary["results"]["converged_load_factor"] < 1.0
    assert (out / "fields.pvd").exists()  # the converged load steps (none here: λ = 0 written)
    assert len(list((out / "fields").glob("fields_*.vtu"))) >= 1


def test_extends_changes_only_the_given_keys(tmp_path):
    import coupling

    (tmp_path / "child.toml").write_text(
        f'extends = "{CASES / "cantilever.toml"}"\ntitle = "child"\n[mesh]\ncells = [20, 2]\n'
        '[material]\nlaw = "power_law_elastic"\nE = 1e9\nnu = 0.3\nstrain0 = 1e-3\nexponent = 0.5\n')
    case = coupling.load_case(tmp_path / "child.toml")
    assert case.spec.title == "child"
    assert case.spec.mesh.cells == (20, 2) and case.spec.mesh.size == (10.0, 1.0)  # merged table
    assert case.spec.material.law == "power_law_elastic"  # another kind: replaced, not merged
    (tmp_path / "loop.toml").write_text('extends = "loop.toml"\n')
    r = run_cli("check", str(tmp_path / "loop.toml"))
    assert r.returncode == 2 and "cycle" in r.stderr


def test_extends_merges_a_joint_law_table(tmp_path):
    """A DDA joint's law is a table under ``law`` (not a law name): a child that changes one key of
    it keeps the base's other keys (session 13: the whole joint was replaced, 'law.kind: missing');
    a law of another kind still replaces the base's law."""
    import coupling

    (tmp_path / "child.toml").write_text(f'extends = "{CASES / "vajont.toml"}"\n[joints.slip_surface.law]\nphi_peak = 20.0\n')
    law = coupling.load_case(tmp_path / "child.toml").spec.joints["slip_surface"].law
    base = coupling.load_case(CASES / "vajont.toml").spec.joints["slip_surface"].law
    assert law.phi_peak == 20.0 and base.phi_peak != 20.0
    assert law.model_dump(exclude={"phi_peak"}) == base.model_dump(exclude={"phi_peak"})
    (tmp_path / "other.toml").write_text(f'extends = "{CASES / "vajont.toml"}"\n[joints.slip_surface.law]\n'
                                         'kind = "coulomb"\nphi = 12.0\n')
    other = coupling.load_case(tmp_path / "other.toml").spec.joints["slip_surface"].law
    assert other.kind == "coulomb" and other.phi == 12.0


def test_a_shipped_case_name_is_found_beside_a_folder_of_that_name(tmp_path):
    """'run cantilever' where a folder 'cantilever' is (written by -o cantilever) said
    "cantilever: not a file; ... did you mean 'cantilever'?" (session 16)."""
    (tmp_path / "cantilever").mkdir()
    r = run_cli("check", "cantilever", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "cases/cantilever.toml: ok" in r.stdout


def test_quiet_and_verbose_together_are_refused(tmp_path):
    """run -q -v ran quietly, the -v ignored without a word (session 16)."""
    r = run_cli("run", "cantilever", "-q", "-v", "-o", str(tmp_path / "out"))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("error: -v: not allowed with argument -q/--quiet"), lines[0]
    assert not (tmp_path / "out").exists()


def _parsers():
    """(command, parser) of deepmanifold and every subcommand, at any depth."""
    import argparse

    from coupling.cli import build_parser

    def walk(parser, name):
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    yield from walk(child, f"{name} {sub}")

    return list(walk(build_parser(), "deepmanifold"))


def test_help_is_plain_text_and_describes_every_argument():
    """--help showed the module docstring's reST (``run``, :mod:`coupling`) and calibrate's CASE
    (and some options) had no help text (session 16 new-user trial)."""
    import argparse
    import re

    for name, parser in _parsers():
        text = parser.format_help()
        assert not re.search(r"``|:(mod|func|class|meth|attr|data):`", text), (name, text)
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, (name, action.option_strings or action.dest)


def test_every_option_with_a_default_states_it_in_its_help():
    """`deepmanifold CMD --help` is the new user's reference: an option whose default is a value
    (not None / off) says so in its help (import-csv's units, train --patience, calibrate --steps,
    … did not)."""
    import argparse

    from coupling.cli import build_parser

    def options(parser, name="deepmanifold"):
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sub, p in a.choices.items():
                    yield from options(p, f"{name} {sub}")
            elif a.option_strings and not isinstance(a, (argparse._HelpAction, argparse._VersionAction)) \
                    and a.default not in (None, False, argparse.SUPPRESS):
                yield name, a

    missing = [f"{name} {'/'.join(a.option_strings)} (default {a.default!r})"
               for name, a in options(build_parser()) if "default" not in (a.help or "")]
    assert missing == []


def test_a_closed_pipe_ends_the_command_quietly(tmp_path):
    """`deepmanifold run CASE | head -3`: the reader leaves before the summary lines are printed.
    The run is published; the command printed a BrokenPipeError traceback and exit 1 (README: no
    command gives a traceback). Now: no traceback, exit 141 (128 + SIGPIPE, as the shell reports)."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    r, w = os.pipe()
    os.close(r)  # a reader that has already gone: every write to w fails with EPIPE
    try:
        proc = subprocess.run([sys.executable, "-m", "coupling", "run", "dda_incline", "-o", str(tmp_path / "out"),
                               "-q", "--set", "dda.duration=0.02", "--set", "output.plots=false"],
                              stdout=w, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=300)
    finally:
        os.close(w)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert proc.returncode == 141
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["status"] == "ok"


def test_console_prints_each_joint_hole_and_crack_tip_on_its_own_line(capsys):
    """`run`'s console summary: a results list of a few tables (NMM joints, holes, crack tips)
    prints one line per table, whole. Before session 18 the list was one line cut at 160
    characters: nmm_jointed_tunnel printed J1 up to "max_normal_stress: 3.176..." and nothing of
    J2, whose slip is larger."""
    from pathlib import Path

    from coupling.cli import _print_result
    from coupling.runner import Result

    joint = {"points": 693, "open": 0, "stick": 409, "slide": 284, "max_slip": 4.8647e-4,
             "max_slip_sliding": 4.8647e-4, "max_opening": 0.0, "max_normal_stress": 3.1756e6}
    summary = {"case": {"name": "tunnel"}, "status": "ok", "timings": {"total_s": 1.0}, "solver": {"mpi_ranks": 1},
               "results": {"joints": [{"name": "J1 (45 deg)", **joint}, {"name": "J2 (60 deg)", **joint, "max_slip": 5.346e-4}],
                           "load_displacement": {"load_factor": [0.1 * k for k in range(40)]}}}
    _print_result(Result(summary, Path("out")))
    out = capsys.readouterr().out.splitlines()
    j = [line for line in out if line.startswith("  joints")]
    assert len(j) == 2 and "J2 (60 deg)" in j[1] and "max_slip: 0.0005346" in j[1], out
    assert all(line.endswith("max_normal_stress: 3.176e+06}") for line in j), j
    assert any(line.startswith("  load_displacement: ") and line.endswith("...") for line in out), out  # long ones still cut


def test_surrogate_field_help_names_every_solver_it_takes():
    """`surrogate field` takes FEM, NMM and data-driven ensembles (docs/global_local.md, tested in
    tests/test_warm_start.py); its help said 'FEM displacement' / 'a FEM ensemble'."""
    top = run_cli("surrogate", "--help")
    field = run_cli("surrogate", "field", "--help")
    assert top.returncode == 0 and field.returncode == 0
    for text in (top.stdout, field.stdout):
        flat = " ".join(text.split())
        assert "FEM, NMM" in flat and "data-driven" in flat, text
