"""A user's file is never lost: ``-o`` replaces only what deepmanifold wrote (issue 10, item 2).

``run -o`` may replace a previous run folder (summary.json with ``format = "deepmanifold.run"``);
``train -o`` a checkpoint and its report; ``data generate/import-csv -o`` a data set. Anything
else is refused with one line and exit 2 — and the user's file is left exactly as it was.
"""

import json
import os

import pytest

from conftest import CASES, cli_inprocess

SMALL = ("--set", "mesh.cells=[4, 2]", "-q")
MATERIAL = 'law="linear_elastic", E=1e9, nu=0.3'


def _case(tmp_path):
    case = tmp_path / "case.toml"
    case.write_text((CASES / "cantilever.toml").read_text())
    return case


def _snapshot(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def _refused(code, err, *expected):
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("error: -o: ") and "Traceback" not in err
    for e in expected:
        assert e in lines[0], lines[0]


@pytest.mark.parametrize("target,expected", [
    ("some_file", "existing file"),
    ("case.toml", "existing file"),
    (".", "working folder"),
    ("userdir", "not a run folder"),
    ("some_file/sub", "under the regular file"),
])
def test_run_refuses_to_replace_what_it_did_not_write(tmp_path, monkeypatch, target, expected):
    monkeypatch.chdir(tmp_path)
    _case(tmp_path)
    (tmp_path / "some_file").write_text("precious\n")
    (tmp_path / "userdir").mkdir()
    (tmp_path / "userdir" / "notes.txt").write_text("mine\n")
    before = _snapshot(tmp_path)
    code, _, err = cli_inprocess("run", "case.toml", "-o", target, *SMALL)
    _refused(code, err, f"'{target}'")
    assert expected in err
    assert _snapshot(tmp_path) == before  # nothing renamed, deleted or left behind


def test_force_never_replaces_a_file_the_working_folder_or_the_case_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _case(tmp_path)
    (tmp_path / "some_file").write_text("precious\n")
    before = _snapshot(tmp_path)
    for target, expected in (("some_file", "existing file"), (".", "working folder"),
                             (str(tmp_path), "working folder")):
        code, _, err = cli_inprocess("run", "case.toml", "-o", target, "--force", *SMALL)
        _refused(code, err, expected)
    monkeypatch.chdir(tmp_path.parent)
    code, _, err = cli_inprocess("run", str(tmp_path / "case.toml"), "-o", str(tmp_path), "--force", *SMALL)
    _refused(code, err, "holds the input file")
    assert _snapshot(tmp_path) == before


def test_run_replaces_its_own_previous_run_and_force_a_user_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _case(tmp_path)
    code, _, err = cli_inprocess("run", "case.toml", "-o", "deep/nested/out", *SMALL)
    assert code == 0, err
    summary = json.loads((tmp_path / "deep/nested/out/summary.json").read_text())
    assert summary["format"] == "deepmanifold.run" and summary["format_version"] == 1
    (tmp_path / "deep/nested/out/stale.txt").write_text("from the old run")
    code, _, err = cli_inprocess("run", "case.toml", "-o", "deep/nested/out", *SMALL)
    assert code == 0, err
    assert not (tmp_path / "deep/nested/out/stale.txt").exists()
    assert sorted(p.name for p in (tmp_path / "deep/nested").iterdir()) == ["out"]  # no .old-*/.partial-*
    (tmp_path / "userdir").mkdir()
    (tmp_path / "userdir" / "notes.txt").write_text("mine\n")
    code, _, err = cli_inprocess("run", "case.toml", "-o", "userdir", "--force", *SMALL)
    assert code == 0, err
    assert (tmp_path / "userdir" / "summary.json").is_file()


def test_refused_output_creates_no_parent_folders(tmp_path, monkeypatch):
    """A run refused after its output folder's parents were made removes them again."""
    monkeypatch.chdir(tmp_path)
    case = _case(tmp_path)
    case.write_text(case.read_text().replace('boundary = "left"', 'boundary = "west"'))
    before = _snapshot(tmp_path)
    code, _, err = cli_inprocess("run", "case.toml", "-o", "a/b/c", *SMALL)
    assert code == 2 and "boundary" in err, err
    assert _snapshot(tmp_path) == before


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_output_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _case(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, _, err = cli_inprocess("run", "case.toml", "-o", "ro/out", *SMALL)
        _refused(code, err, "not writable")
    finally:
        ro.chmod(0o755)


def test_data_and_train_outputs_replace_only_their_own_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.h5").write_text("not a data set\n")
    (tmp_path / "folder.h5").mkdir()
    before = _snapshot(tmp_path)
    for target, expected in (("notes.h5", "not a data set written by deepmanifold"),
                             ("folder.h5", "existing folder"), ("notes.h5/x.h5", "under the regular file")):
        code, _, err = cli_inprocess("data", "generate", "--material", MATERIAL, "-n", "40", "-o", target)
        _refused(code, err, expected)
    assert _snapshot(tmp_path) == before
    code, _, err = cli_inprocess("data", "generate", "--material", MATERIAL, "-n", "40", "-o", "d.h5")
    assert code == 0, err
    code, _, err = cli_inprocess("data", "generate", "--material", MATERIAL, "-n", "50", "-o", "d.h5")
    assert code == 0 and "50 samples" in _, err  # our own data set is replaced
    code, _, err = cli_inprocess("data", "generate", "--material", MATERIAL, "-n", "40", "-o", "notes.h5", "--force")
    assert code == 0, err

    (tmp_path / "model.json").write_text('{"my": "notes"}\n')
    before = _snapshot(tmp_path)
    train = ("train", "d.h5", "--epochs", "2", "--hidden", "4", "-q")
    code, _, err = cli_inprocess(*train, "-o", "model.pt")
    _refused(code, err, "model.json", "not a training report")
    code, _, err = cli_inprocess(*train, "-o", "notes.h5")
    _refused(code, err, "not a checkpoint")
    code, _, err = cli_inprocess(*train, "-o", "folder.h5")
    _refused(code, err, "existing folder")
    assert _snapshot(tmp_path) == before
    code, _, err = cli_inprocess(*train, "-o", "m/m.pt")
    assert code == 0, err
    assert json.loads((tmp_path / "m/m.json").read_text())["format"] == "deepmanifold.training_report"
    code, _, err = cli_inprocess(*train, "-o", "m/m.pt")  # our own checkpoint, report and plot
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["m.json", "m.png", "m.pt"]


def _read_only(folder):
    """Make ``folder`` unwritable for this process: mode 0o555, and for root (who writes through
    modes) the immutable attribute; skip where neither holds. Returns the undo function."""
    import subprocess

    folder.chmod(0o555)
    undo = [lambda: folder.chmod(0o755)]
    if os.access(folder, os.W_OK):
        try:
            subprocess.run(["chattr", "+i", str(folder)], check=True, capture_output=True)
            undo.insert(0, lambda: subprocess.run(["chattr", "-i", str(folder)], check=True))
        except (OSError, subprocess.CalledProcessError):
            pass
    if os.access(folder, os.W_OK):
        for f in undo:
            f()
        pytest.skip("no way to make a folder unwritable here")
    return lambda: [f() for f in undo]


def test_unwritable_previous_run_folder_is_refused_before_the_run(tmp_path, monkeypatch):
    """Publishing moves a previous run folder aside: one that cannot be moved / emptied is refused
    at the start (session 16: a traceback after the whole run, exit 1, OUT.partial-* left)."""
    monkeypatch.chdir(tmp_path)
    _case(tmp_path)
    code, _, err = cli_inprocess("run", "case.toml", "-o", "prev", *SMALL)
    assert code == 0, err
    undo = _read_only(tmp_path / "prev")
    try:
        before = _snapshot(tmp_path)
        code, _, err = cli_inprocess("run", "case.toml", "-o", "prev", *SMALL)
        _refused(code, err, "'prev' is not writable (publishing replaces it)")
        code, _, err = cli_inprocess("run", "case.toml", "-o", "prev", "--force", *SMALL)
        _refused(code, err, "'prev' is not writable")
        assert _snapshot(tmp_path) == before
    finally:
        undo()


def test_a_publish_that_fails_keeps_the_previous_run_and_this_runs_files(tmp_path, monkeypatch):
    """The previous run folder cannot be moved aside at the end (it changed during the run):
    one line, exit 2, the previous folder as it was, this run's files kept and named."""
    from pathlib import Path

    import coupling.output.rundir as rundir

    monkeypatch.chdir(tmp_path)
    _case(tmp_path)
    code, _, err = cli_inprocess("run", "case.toml", "-o", "prev", *SMALL)
    assert code == 0, err
    before = _snapshot(tmp_path / "prev")
    real = os.replace

    def replace(src, dst):
        if Path(src).resolve() == (tmp_path / "prev").resolve():
            raise PermissionError(1, "Operation not permitted")
        return real(src, dst)

    monkeypatch.setattr(rundir.os, "replace", replace)
    code, _, err = cli_inprocess("run", "case.toml", "-o", "prev", *SMALL)
    monkeypatch.setattr(rundir.os, "replace", real)
    _refused(code, err, "cannot publish 'prev' (Operation not permitted)", "this run's files are kept in 'prev.partial-")
    assert _snapshot(tmp_path / "prev") == before
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("prev.partial-")]
    assert len(kept) == 1 and (kept[0] / "summary.json").is_file() and kept[0].name in err
    assert not [p for p in tmp_path.iterdir() if ".old-" in p.name]


def test_ensemble_refuses_an_unwritable_folder(tmp_path, monkeypatch):
    """ensemble -o: an existing folder it cannot write (session 16: an OSError traceback at the
    first write) and a new folder under an unwritable one are refused on one line."""
    monkeypatch.chdir(tmp_path)
    args = ("ensemble", "dda_incline", "--vary", "joints.default.law.phi=15:28", "--samples", "2", "-q", "-o")
    for folder, target in (("ens", "ens"), ("ro", "ro/ens")):
        (tmp_path / folder).mkdir()
        undo = _read_only(tmp_path / folder)
        try:
            before = _snapshot(tmp_path)
            code, _, err = cli_inprocess(*args, target)
            _refused(code, err, "not writable")
            assert _snapshot(tmp_path) == before
        finally:
            undo()
