"""Restart checkpoints of step-loop runs (DDA): written during a run, read by ``run --restart``.

A case with ``output.restart_every_steps = N`` and/or ``output.restart_every_seconds = T``
writes ``restart.h5`` into its run folder after every N-th accepted step and/or when T
seconds of wall-clock time have passed since the last one, and after the last complete step
of a run stopped by SIGINT/SIGTERM. Rank 0 writes it (the DDA state is the same on every
rank) to a temporary file in the same folder, then renames it: a reader sees the previous
checkpoint or the new one, never half of one.

The file is HDF5 holding only numeric arrays and UTF-8 text (never a pickle): the root
attributes ``format = "deepmanifold.restart"``, ``format_version``, ``solver``, ``mpi_ranks``,
``case_fingerprint`` (SHA-256 of the validated case without the keys that do not change the
computed states: title, description, accuracy, accuracy_studies, output, limits), ``step`` and ``time`` [s]; the dataset ``case_values`` holds that case as JSON text (a
refusal names the keys that differ); the groups
hold what the step loop carries (:mod:`dda.checkpoint`) plus the runner's own monitor series
(``runner/…``).

``deepmanifold run CASE --restart RUN_DIR`` reads it before anything is written; a folder
without a checkpoint, a checkpoint of another case, solver or rank count is bad input (exit 2).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from coupling.errors import CaseError

RESTART_FILE = "restart.h5"
RESTART_FORMAT = "deepmanifold.restart"
RESTART_FORMAT_VERSION = 1
OPTION = "--restart"
_MAX_BYTES = 16 << 30  # a checkpoint larger than this is not one of ours


#: top-level case keys that do not change the computed states (texts, output, limits)
FREE_KEYS = ("title", "description", "accuracy", "accuracy_studies", "not_resolved", "output", "limits")
#: before session 19 the accuracy texts were hashed too: a checkpoint of then still restarts
_FREE_KEYS_BEFORE_19 = ("title", "description", "not_resolved", "output", "limits")


def case_values(case, free: tuple[str, ...] = FREE_KEYS) -> str:
    """The validated case input without the :data:`FREE_KEYS` (title, description, the accuracy
    texts, output and limits), as sorted JSON (the text :func:`case_fingerprint` hashes; stored
    in the checkpoint as ``case_values``)."""
    data = case.spec.model_dump(mode="json")
    for key in free:
        data.pop(key, None)
    return json.dumps(data, sort_keys=True)


def case_fingerprint(case, free: tuple[str, ...] = FREE_KEYS) -> str:
    """SHA-256 of :func:`case_values`: editing a case's texts (title, description, accuracy,
    accuracy_studies), output or limits does not stop a restart."""
    return hashlib.sha256(case_values(case, free).encode()).hexdigest()


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """Key paths as ``--set`` spells them (``dda.duration``, ``blocks[0].polygon[2][1]``)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flat(f"{prefix}[{i}]", v, out)
        if not value:
            out[prefix] = value
    else:
        out[prefix] = value


def _checkpoint_values(folder: Path, arrays: dict[str, np.ndarray], attrs: dict[str, Any]) -> dict[str, Any] | None:
    """The case values the checkpoint was written with: its ``case_values`` text, else
    (checkpoints before session 19) the run folder's summary.json; None when neither hashes
    to the checkpoint's fingerprint."""
    texts = [str(arrays["case_values"]) if "case_values" in arrays else None]
    try:
        data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["case"]["input"]
        for free in (FREE_KEYS, _FREE_KEYS_BEFORE_19):
            texts.append(json.dumps({k: v for k, v in data.items() if k not in free}, sort_keys=True))
    except Exception:  # no summary (a killed run's partial folder), or not ours
        pass
    for text in texts:
        if isinstance(text, str) and hashlib.sha256(text.encode()).hexdigest() == attrs.get("case_fingerprint"):
            return json.loads(text)
    return None


def _differences(folder: Path, arrays: dict[str, np.ndarray], attrs: dict[str, Any], case) -> str:
    """' (KEY: A in the checkpoint's run, B here; …)' for the case values that differ, or ''."""
    then = _checkpoint_values(folder, arrays, attrs)
    if then is None:
        return ""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flat("", {k: v for k, v in then.items() if k not in FREE_KEYS}, a)  # a checkpoint before session 19 holds accuracy
    _flat("", json.loads(case_values(case)), b)
    keys = [k for k in sorted(a.keys() | b.keys()) if a.get(k, "(absent)") != b.get(k, "(absent)")]
    if not keys:
        return ""
    if len(keys) > 3:  # another case, not a forgotten --set
        return f" ({len(keys)} case values differ, e.g. {keys[0]})"

    def text(v: Any) -> str:
        t = json.dumps(v)
        return t if len(t) <= 40 else t[:37] + "..."

    return " (" + "; ".join(f"{k}: {text(a.get(k, '(absent)'))} in the checkpoint's run, "
                            f"{text(b.get(k, '(absent)'))} here" for k in keys) + ")"


def _refuse(found: str, allowed: str) -> CaseError:
    return CaseError(None, OPTION, found, allowed)


@dataclass
class Checkpoint:
    """A restart checkpoint read from ``folder``: its arrays (flat names) and attributes."""

    folder: Path
    arrays: dict[str, np.ndarray]
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def step(self) -> int:
        return int(self.attrs["step"])

    @property
    def time(self) -> float:
        return float(self.attrs["time"])

    def section(self, prefix: str) -> dict[str, np.ndarray]:
        """The arrays under ``prefix/`` with the prefix removed."""
        n = len(prefix) + 1
        return {k[n:]: v for k, v in self.arrays.items() if k.startswith(prefix + "/")}


def write_checkpoint(folder: Path, arrays: dict[str, np.ndarray], attrs: dict[str, Any]) -> Path:
    """Write ``folder/restart.h5`` atomically (temporary file in the same folder, then rename)."""
    import h5py

    from learned.files import atomic_write

    def write(tmp: str) -> None:
        with h5py.File(tmp, "w") as f:
            for k, v in attrs.items():
                if k == "case_values":  # a dataset: an HDF5 attribute holds at most 64 KiB
                    f.create_dataset(k, data=v, dtype=h5py.string_dtype())
                else:
                    f.attrs[k] = v
            for name, a in arrays.items():
                a = np.asarray(a)
                if a.dtype.kind == "U":
                    f.create_dataset(name, data=a.astype(object), dtype=h5py.string_dtype())
                else:
                    f.create_dataset(name, data=a)

    return atomic_write(Path(folder) / RESTART_FILE, write)


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    import h5py

    arrays: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}

        def visit(name: str, obj) -> None:
            if isinstance(obj, h5py.Dataset):
                if obj.dtype.kind == "O":
                    arrays[name] = np.array(obj.asstr()[()])
                elif obj.dtype.kind in "biuf":
                    arrays[name] = obj[()] if obj.shape == () else obj[...]
                    arrays[name] = np.asarray(arrays[name])
                else:
                    raise ValueError(f"dataset {name} of type {obj.dtype}")

        f.visititems(visit)
    return arrays, attrs


def read_checkpoint(folder: str | Path, case, ranks: int) -> Checkpoint:
    """Read and check the checkpoint of run folder ``folder`` for ``case`` on ``ranks`` ranks.

    Raises :class:`CaseError` (``--restart: …``, exit 2) for a missing folder, a folder
    without a checkpoint, an unreadable or foreign file, or a checkpoint of another case,
    solver or rank count."""
    folder = Path(folder)
    allowed = "a run folder of this case holding restart.h5 (output.restart_every_steps or restart_every_seconds)"
    if not folder.is_dir():
        what = "a file" if folder.exists() else "no such folder"
        raise _refuse(f"'{folder}' is {what}, not a run folder", allowed)
    path = folder / RESTART_FILE
    if not path.is_file():
        raise _refuse(f"'{folder}' holds no restart checkpoint ({RESTART_FILE})", allowed)
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise ValueError("too large")
        arrays, attrs = _read(path)
    except Exception as exc:  # h5py raises OSError/ValueError/KeyError for foreign or damaged files
        raise _refuse(f"'{path}' is not a readable restart checkpoint ({type(exc).__name__})", allowed) from None
    if attrs.get("format") != RESTART_FORMAT:
        raise _refuse(f"'{path}' is not a deepmanifold restart checkpoint", allowed)
    if attrs.get("format_version") != RESTART_FORMAT_VERSION:
        raise _refuse(f"'{path}' has format_version {attrs.get('format_version')!r}",
                      f"format_version {RESTART_FORMAT_VERSION}")
    if attrs.get("solver") != case.solver:
        raise _refuse(f"'{path}' is a checkpoint of a '{attrs.get('solver')}' run, this case is '{case.solver}'",
                      allowed)
    if attrs.get("case_fingerprint") not in (case_fingerprint(case), case_fingerprint(case, _FREE_KEYS_BEFORE_19)):
        raise _refuse(f"'{path}' was written by another case (or other case values)"
                      + _differences(folder, arrays, attrs, case), allowed + ", with the same case values (--set)")
    if int(attrs.get("mpi_ranks", -1)) != ranks:
        raise _refuse(f"'{path}' was written on {attrs.get('mpi_ranks')} rank(s), this run has {ranks}",
                      f"the same number of ranks ({attrs.get('mpi_ranks')})")
    for key in ("step", "time"):
        if key not in attrs:
            raise _refuse(f"'{path}' has no '{key}'", allowed)
    return Checkpoint(folder, arrays, attrs)


def load_for_run(folder: str | Path, case, comm) -> Checkpoint:
    """:func:`read_checkpoint` on rank 0, the result (or the error) broadcast to every rank."""
    result: Any = None
    if comm.rank == 0:
        try:
            result = read_checkpoint(folder, case, comm.size)
        except CaseError as exc:
            result = exc
    result = comm.bcast(result, root=0)
    if isinstance(result, CaseError):
        raise result
    return result


class CheckpointSchedule:
    """When a step loop writes its checkpoint: every ``every_steps`` accepted steps and/or
    every ``every_seconds`` of wall-clock time (either may be None). Decided on rank 0 only:
    rank 0 writes, and the state it writes is the same on every rank."""

    def __init__(self, every_steps: int | None, every_seconds: float | None) -> None:
        self.every_steps = every_steps
        self.every_seconds = every_seconds
        self.last = time.monotonic()
        self.written = 0
        self.failed: str | None = None

    @property
    def enabled(self) -> bool:
        return self.every_steps is not None or self.every_seconds is not None

    def due(self, step: int) -> bool:
        if self.every_steps is not None and step % self.every_steps == 0:
            return True
        return self.every_seconds is not None and time.monotonic() - self.last >= self.every_seconds

    def write(self, folder: Path, arrays: dict[str, np.ndarray], attrs: dict[str, Any]) -> bool:
        """Write the checkpoint; a failure (disk full, ...) is reported once and the run goes on."""
        try:
            write_checkpoint(folder, arrays, attrs)
        except OSError as exc:
            if self.failed is None:
                import sys

                self.failed = f"{exc.strerror or exc}"
                print(f"warning: restart checkpoint not written ({self.failed}); the run goes on",
                      file=sys.stderr, flush=True)
            return False
        self.last = time.monotonic()
        self.written += 1
        return True


def copy_frames(source: Path, target: Path, names: list[str]) -> None:
    """Copy the frame files ``names`` (relative paths) of an earlier run folder into ``target``."""
    import shutil

    for name in names:
        src, dst = source / name, target / name
        if src.is_file() and src.resolve() != dst.resolve():
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)


def carry_run_log(folder: Path, file) -> bool:
    """Copy ``folder/run.log`` (the interrupted run's lines) into the open text ``file`` of the
    restarted run's log, ending with a line break (a killed run may stop mid-line); False when
    there is none. Bytes that are not UTF-8 (a killed write) are replaced, never refused."""
    path = Path(folder) / "run.log"
    try:
        if not path.is_file():
            return False
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return False
    file.write(text if text.endswith("\n") or not text else text + "\n")
    return True


#: the staged folder name of a run publishing to ``OUT``: ``OUT.partial-<8 hex digits>``
#: (:class:`coupling.output.rundir.RunDirectory`)
_STAGE = r"\.partial-[0-9a-f]{8}"


def remove_restarted_stage(source: Path, final: Path) -> bool:
    """After a restarted run published its complete run to ``final``: remove ``source``, the
    folder it restarted from, when that is a killed run's staged folder of the same output,
    ``final.partial-<id>`` beside ``final`` (a real folder, not a link) holding no summary.json
    of a run (a folder whose publish failed keeps the run's files and is never removed), and
    never anything else (a complete run folder given to --restart stays). Rank 0. Returns
    whether it was removed; a removal that fails is a warning, the run is published."""
    import re
    import shutil
    import sys

    from coupling.output.rundir import is_run_folder

    source, final = Path(source), Path(final)
    try:
        if source.is_symlink() or not source.is_dir() or not re.fullmatch(re.escape(final.name) + _STAGE, source.name):
            return False
        if source.parent.resolve() != final.parent.resolve() or source.resolve() == final.resolve():
            return False
    except OSError:
        return False
    if is_run_folder(source):
        return False
    try:
        shutil.rmtree(source)
    except OSError as exc:
        print(f"warning: the staged folder '{source}' this run restarted from was not removed "
              f"({exc.strerror or exc})", file=sys.stderr, flush=True)
        return False
    return True


def output_for(folder: Path) -> Path:
    """Where a restarted run publishes without ``-o``: the run folder itself (a staged
    ``OUT.partial-<id>`` folder left by a killed run: ``OUT``)."""
    name = folder.name
    if ".partial-" in name:
        return folder.with_name(name.rsplit(".partial-", 1)[0])
    return folder
