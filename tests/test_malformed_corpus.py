"""Every malformed input gives one line, exit 2, no traceback, nothing left behind (issue 10).

The corpus (tests/malformed_corpus.py) covers every case kind (fem, nmm, dda, data_driven),
every command (run, check, train, data generate, data import-csv, cases; surrogate, calibrate and
ensemble in part) and every family of bad input. Most entries run in this interpreter (``coupling.cli.main``, stderr captured);
:func:`test_contract_end_to_end` runs a sample through a real ``python -m coupling`` process.
No entry may leave a file behind, touch the user's files, or execute a pickle payload.

Totals by family (kept in sync by :func:`test_corpus_totals`)::

    family         entries
    nonfinite          167
    schema             249
    setup               70
    sizes               28
    output-paths        38
    files               89
    pickle              10
    devices              6
    cli-options        171
    restart             51
    total              879

By case kind: dda 299, nmm 180, fem 148, data_driven 123, learning commands 122. By command:
check 562, run 171, train 49, data generate 47, data import-csv 20, surrogate 9, calibrate 5,
ensemble 5, cases/others 4. Session 18 added 145 entries on the most recent keys and options
(:func:`malformed_corpus.recent_keys`); session 19 11 on supports that leave a rigid-body motion
free and an ignored training option (:func:`malformed_corpus.partial_supports`), and 1 on a seed a
grid design ignored (:func:`malformed_corpus.seed_without_draw`).
"""

from __future__ import annotations

import os
import pickle
import re

import pytest

import malformed_corpus as mc
from conftest import cli_inprocess, run_cli

ENTRIES = mc.corpus()
SENTINEL_NAME = "PAYLOAD_EXECUTED"


class _Evil:
    """Unpickling this runs a shell command that creates the sentinel file."""

    def __init__(self, sentinel: str) -> None:
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


def _documented_totals() -> dict[str, int]:
    table = __doc__.split("family         entries", 1)[1]
    rows = re.findall(r"^\s+([a-z-]+)\s+(\d+)$", table, flags=re.M)
    return {name: int(n) for name, n in rows if name != "total"}


@pytest.fixture(scope="session")
def fx(tmp_path_factory):
    """Shared input files: data sets, CSVs, checkpoints (one trained, several corrupt or malicious)."""
    import numpy as np
    import torch

    from learned import LinearElastic, CoulombFriction
    from learned.checkpoint import save_checkpoint
    from learned.dataset import generate_dataset, generate_joint_dataset, load_dataset, save_dataset
    from learned.training import train

    d = tmp_path_factory.mktemp("corpus_fixtures")
    ds = generate_dataset(LinearElastic(1e9, 0.3, "strain"), 40, 1e-3, seed=0)
    save_dataset(d / "data.h5", ds)
    save_dataset(d / "tiny.h5", generate_dataset(LinearElastic(1e9, 0.3, "strain"), 1, 1e-3, seed=0))
    save_dataset(d / "joint.h5", generate_joint_dataset(CoulombFriction(30.0), 20, seed=0))
    model, report = train(ds, "mlp", epochs=2, hidden=(4,), seed=0, device="cpu")
    save_checkpoint(d / "model.pt", model, report)
    joint = load_dataset(d / "joint.h5")  # a joint-law checkpoint, given where a material goes
    model, report = train(joint, "mlp", epochs=2, hidden=(4,), seed=0, device="cpu")
    save_checkpoint(d / "joint_model.pt", model, report)
    header = "exx,eyy,gxy,sxx,syy,sxy\n"
    rows = "".join(f"{e[0]},{e[1]},{e[2]},{s[0]},{s[1]},{s[2]}\n" for e, s in zip(ds.strain[:20], ds.stress[:20]))
    (d / "data.csv").write_text(header + rows)
    (d / "binary.csv").write_bytes(bytes(range(128, 256)) * 16)
    (d / "nul.csv").write_bytes(header.encode() + b"1,2,3\x00,4,5,6\n")
    (d / "empty.csv").write_text("")
    (d / "nocol.csv").write_text("exx,eyy,gxy,sxx,syy\n1,2,3,4,5\n")
    (d / "badnum.csv").write_text(header + "1,2,3,4,5,6\n1,2,3,x,5,6\n")
    (d / "nan.csv").write_text(header + "1,2,3,4,5,6\nnan,2,3,4,5,6\n")
    (d / "random.pt").write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)))
    (d / "plain.pt").write_bytes(pickle.dumps([1, 2, 3]))
    torch.save({"a": 1}, d / "dict.pt")
    sentinel = d / SENTINEL_NAME
    torch.save({"format": "deepmanifold.checkpoint", "format_version": 1, "payload": _Evil(str(sentinel))},
               d / "evil_torch.pt")
    (d / "evil_pickle.pt").write_bytes(pickle.dumps(_Evil(str(sentinel))))
    _restart_checkpoints(d)
    _surrogate(d)
    return d


def _surrogate(d) -> None:
    """sur.pt: a tiny surrogate of dda_incline's run-out over joints.default.law.phi 15..28 (as
    ``surrogate train`` writes it: the case and the ensemble's --set overrides in its meta)."""
    import numpy as np

    from conftest import CASES
    from learned.surrogate import save_surrogate, train_surrogate

    x = np.linspace(15.0, 28.0, 6)[:, None]
    net, report = train_surrogate(x, 0.1 * x, lo=[15.0], hi=[28.0], log=[False], parameter_keys=["joints.default.law.phi"],
                                  output_names=["runout"], members=2, iterations=20, seed=0)
    net.meta.update(ranges=[{"key": "joints.default.law.phi", "lo": 15.0, "hi": 28.0, "log": False}],
                    case=str(CASES / "dda_incline.toml"), overrides={"dda.duration": 0.2})
    save_surrogate(d / "sur.pt", net, report)


def _restart_checkpoints(d) -> None:
    """restart.h5 files for the ``restart`` family: foreign, another version, solver, case or
    rank count, and one of this case with no state in it."""
    import numpy as np

    from coupling.case.loader import load_case
    from coupling.restart import RESTART_FORMAT, RESTART_FORMAT_VERSION, case_fingerprint, write_checkpoint

    (d / "dda.toml").write_text(mc.DDA)
    mine = case_fingerprint(load_case(d / "dda.toml"))
    good = {"format": RESTART_FORMAT, "format_version": RESTART_FORMAT_VERSION, "solver": "dda", "mpi_ranks": 1,
            "case_fingerprint": mine, "step": 3, "time": 0.003}
    for name, change in (("foreign", {"format": "someone.else"}), ("version", {"format_version": 99}),
                         ("solver", {"solver": "nmm"}), ("other_case", {"case_fingerprint": "0" * 64}),
                         ("ranks", {"mpi_ranks": 3}), ("empty", {})):
        (d / f"ckpt_{name}").mkdir()
        write_checkpoint(d / f"ckpt_{name}", {"state/time": np.asarray(0.003)}, {**good, **change})


def _materialise(entry: mc.Entry, folder, fx) -> list[str]:
    for name, content in entry.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{fx}", str(fx)))
    return [a.replace("{fx}", str(fx)) for a in entry.args]


def _snapshot(folder) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def _check_line(entry: mc.Entry, code: int, stderr: str, fx) -> None:
    lines = stderr.strip().splitlines()
    assert code == 2, (entry.name, code, stderr)
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, (entry.name, stderr)
    assert lines[0].startswith("error: "), lines[0]
    assert lines[0].count("; allowed: ") <= 1, lines[0]  # one "allowed", not a wrapped error's as well
    for e in entry.expect:
        assert e.replace("{fx}", str(fx)) in lines[0], (entry.name, e, lines[0])
    assert not (fx / SENTINEL_NAME).exists(), "a pickle payload was executed"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_malformed_input(entry, fx, tmp_path, monkeypatch):
    from coupling.validation import cuda_available

    if entry.family == "devices" and cuda_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.chdir(tmp_path)
    args = _materialise(entry, tmp_path, fx)
    before = _snapshot(tmp_path)
    fixtures = _snapshot(fx)
    code, _, err = cli_inprocess(*args)
    _check_line(entry, code, err, fx)
    assert _snapshot(tmp_path) == before, "a file was left behind, changed or removed"
    assert _snapshot(fx) == fixtures


# one entry of every command and case kind, through a real process (exit status, stderr, PETSc)
END_TO_END = ["nonfinite-fem", "setup-nmm", "setup-dda", "sizes-data_driven", "pickle-dda", "output-paths-fem",
              "cli-options--"]


@pytest.mark.parametrize("prefix", END_TO_END)
def test_contract_end_to_end(prefix, fx, tmp_path):
    entry = next(e for e in ENTRIES if e.name.startswith(prefix + "-"))
    args = _materialise(entry, tmp_path, fx)
    before = _snapshot(tmp_path)
    r = run_cli(*args, cwd=tmp_path)
    _check_line(entry, r.returncode, r.stderr, fx)
    assert _snapshot(tmp_path) == before


#: entries of :func:`malformed_corpus.recent_keys` through a real process as well: a traceback at
#: the end of train, a run that diverged (exit 3) with a run folder, an ensemble whose members all failed
RECENT_END_TO_END = {
    "train-o-proc": lambda e: e.args[:1] == ["train"] and "/proc/m.pt" in e.args,
    "nmm-no-support": lambda e: e.kind == "nmm" and e.args[:1] == ["run"] and "boundary.dirichlet=[]" in e.args,
    "ensemble-setup": lambda e: e.args[:1] == ["ensemble"] and "trigger.rate=0.1:1" in e.args,
}


@pytest.mark.parametrize("which", list(RECENT_END_TO_END))
def test_recent_keys_end_to_end(which, fx, tmp_path):
    entry = next(e for e in ENTRIES if RECENT_END_TO_END[which](e))
    args = _materialise(entry, tmp_path, fx)
    before = _snapshot(tmp_path)
    r = run_cli(*args, cwd=tmp_path)
    _check_line(entry, r.returncode, r.stderr, fx)
    assert _snapshot(tmp_path) == before


def test_corpus_totals():
    """At least 300 entries; every family, case kind and command covered; the table above is current."""
    totals = mc.totals(ENTRIES)
    assert totals == _documented_totals(), totals
    assert sum(totals.values()) >= 300
    for family in ("nonfinite", "schema", "setup", "sizes", "output-paths", "files", "pickle", "devices"):
        kinds = {e.kind for e in ENTRIES if e.family == family}
        assert set(mc.KINDS) <= kinds, (family, kinds)
    assert {e.command for e in ENTRIES if e.args} >= set(mc.COMMANDS)
