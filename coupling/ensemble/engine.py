"""Run a case at many parameter points on an existing distributed engine (mpi4py.futures).

Engine: :class:`mpi4py.futures.MPIPoolExecutor`. Under

    mpiexec -n K python -m mpi4py.futures -m coupling ensemble CASE ...

rank 0 runs the command and ranks 1..K−1 are workers; each member runs on one worker with
``MPI.COMM_SELF`` (a serial solve), so the same command scales from a laptop to a cluster
(the MPI launcher places the K ranks on the machines of the allocation). Without workers
(a plain ``deepmanifold ensemble``), members run one after the other in this process.

Each member writes its usual run folder ``DIR/members/NNNN`` (summary.json, fields, plots).
A member whose solve fails (bad parameter value, divergence, an exception) is recorded with
its message and the others go on. A rerun of the same command skips every member whose
folder already holds a summary.json with status ``ok`` or ``diverged`` and the same
parameter values (resume).
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from coupling.ensemble.design import Parameter
from coupling.ensemble.table import summary_scalars, summary_units, write_table
from coupling.errors import CaseError

ENSEMBLE_FORMAT = "deepmanifold.ensemble"
MANIFEST = "ensemble.json"
TABLE = "ensemble.h5"
MEMBERS = "members"


@dataclass
class EnsembleResult:
    """What an ensemble produced: the folder, the table, the design and each member's record."""

    out_dir: Path
    table: Path
    points: np.ndarray
    members: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0  #: wall time of this call [s]

    @property
    def counts(self) -> dict[str, int]:
        """Members by status (ok, diverged, failed) and how many were reused from a previous run."""
        out: dict[str, int] = {}
        for m in self.members:
            out[m["status"]] = out.get(m["status"], 0) + 1
        out["reused"] = sum(1 for m in self.members if m.get("reused"))
        return out

    def summary(self) -> str:
        """``N members, X ok, Y diverged, Z failed (R reused) in T s``: the closing line's text."""
        c = self.counts
        return (f"{len(self.members)} members, {c.get('ok', 0)} ok, {c.get('diverged', 0)} diverged, "
                f"{c.get('failed', 0)} failed ({c['reused']} reused) in {self.wall_s:.1f} s")


def member_folder(out_dir: Path, index: int) -> Path:
    """``DIR/members/NNNN`` of member ``index``."""
    return Path(out_dir) / MEMBERS / f"{index:04d}"


def run_member(task: dict[str, Any]) -> dict[str, Any]:
    """Run one member (on a worker or in this process) and return its record.

    task: index, case (path), overrides ({key: value}: --set, probes and the parameter
    values), out (run folder). Record: index, status (ok | diverged | failed), message,
    scalars (see :func:`coupling.ensemble.table.summary_scalars`), units (their units,
    :func:`~coupling.ensemble.table.summary_units`), wall_s [s].
    """
    from mpi4py import MPI

    if MPI.COMM_WORLD.size > 1:
        petsc_on_this_rank_only()
    from coupling.runner import RunDiverged, run

    t0 = time.perf_counter()
    record: dict[str, Any] = {"index": task["index"], "status": "failed", "message": "", "scalars": {}}
    try:
        result = run(task["case"], task["out"], overrides=dict(task["overrides"]), comm=MPI.COMM_SELF,
                     progress=False, verbosity=0)
        record.update(status="ok", scalars=summary_scalars(result.summary), units=summary_units(result.summary))
    except RunDiverged as exc:
        record.update(status="diverged", message=str(exc).splitlines()[0] if str(exc) else "diverged",
                      scalars=summary_scalars(exc.result.summary), units=summary_units(exc.result.summary))
    except CaseError as exc:
        record["message"] = exc.line()
    except Exception as exc:  # any other failure of one member is recorded, never fatal
        text = str(exc).splitlines()[0] if str(exc) else ""
        record["message"] = f"{type(exc).__name__}: {text}"[:300]
    record["wall_s"] = time.perf_counter() - t0
    return record


def petsc_on_this_rank_only() -> None:
    """Initialise PETSc on ``MPI.COMM_SELF`` (once, before anything imports it).

    PETSc's initialisation is collective over its world communicator, MPI_COMM_WORLD by
    default; a worker of the mpi4py.futures pool (and the manager) would wait there forever
    for the other ranks, which never initialise PETSc at the same moment.
    """
    if "petsc4py.PETSc" in sys.modules:
        return
    from mpi4py import MPI

    import dolfinx_solver  # noqa: F401  (the wheel's PETSc libraries, mpi4py first)
    import petsc4py

    petsc4py.init(comm=MPI.COMM_SELF)


def previous_member(folder: Path, overrides: dict[str, Any]) -> dict[str, Any] | None:
    """The record of a finished member in ``folder`` whose parameter values match, else None."""
    summary = folder / "summary.json"
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("status") not in ("ok", "diverged"):
        return None
    if (data.get("case") or {}).get("overrides") != json.loads(json.dumps(overrides)):
        return None
    return {"status": data["status"], "message": data.get("message", ""), "scalars": summary_scalars(data),
            "units": summary_units(data), "wall_s": float((data.get("timings") or {}).get("total_s", float("nan"))), "reused": True}


def pool_executor(comm_world=None):
    """The MPIPoolExecutor of ``python -m mpi4py.futures`` when it has workers, else None (serial).

    ``mpiexec -n K python -m coupling ensemble`` (K > 1 without mpi4py.futures) would run the
    whole ensemble K times: it is refused with a one-line error naming the right command.
    """
    from mpi4py import MPI

    world = comm_world or MPI.COMM_WORLD
    try:
        from mpi4py.futures import _core  # the shared pool of ``python -m mpi4py.futures``

        shared = getattr(_core, "SharedPool", None) is not None
    except ImportError:  # pragma: no cover
        shared = False
    if not shared:
        if world.size > 1:
            raise CaseError("mpiexec", None, f"found {world.size} ranks running the command itself",
                            "mpiexec -n K python -m mpi4py.futures -m coupling ensemble ... (1 manager, K-1 workers)")
        return None
    if world.size < 2:
        return None
    from mpi4py.futures import MPIPoolExecutor

    return MPIPoolExecutor()


def _say(stream, text: str) -> None:
    if stream is not None:
        print(text, file=stream, flush=True)


def check_ensemble_folder(out_dir: Path, manifest: dict[str, Any], extend: bool = False) -> bool:
    """Whether ``out_dir`` resumes a previous ensemble (True) or is new (False); refuse a folder
    that is not an ensemble of the same options (never replaced, never deleted). ``extend``:
    the new design may append points to the previous one, or be a prefix of it (the
    active-learning loop grows its design so, and a rerun replays the growth)."""
    out_dir = Path(out_dir)
    allowed = "a new folder, or the folder of a previous ensemble run with the same options (resume)"
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        from learned.files import what_is

        raise CaseError("-o", None, f"'{out_dir}' is {what_is(out_dir)}, not a folder", allowed)
    if not out_dir.exists():
        from learned.files import missing_folders

        missing_folders(out_dir, "-o")  # the nearest existing folder above must be writable
        return False
    if not os.access(out_dir, os.W_OK | os.X_OK):  # found by the first write before session 16: a traceback
        raise CaseError("-o", None, f"'{out_dir}' is not writable", allowed.replace("a previous", "a writable previous"))
    path = out_dir / MANIFEST
    if not path.is_file():
        if any(out_dir.iterdir()):
            raise CaseError("-o", None, f"'{out_dir}' is an existing folder that is not an ensemble", allowed)
        return False
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise CaseError("-o", None, f"'{path}' is unreadable", allowed) from None
    new = json.loads(json.dumps(manifest))
    free = ("points", "samples") if extend else ("points",)
    differ = sorted(k for k in set(old) | set(new) if k not in free and old.get(k) != new.get(k))
    if extend and not differ:
        before, after = old.get("points") or [], new["points"]
        if before[:len(after)] != after[:len(before)]:  # a rerun replays the growth: either may be the prefix
            differ = ["points (not an extension of the previous design)"]
    if differ:
        raise CaseError("-o", None, f"'{out_dir}' holds an ensemble with other options ({', '.join(differ)})", allowed)
    return True


def run_ensemble(case: str | Path, parameters: list[Parameter], points: np.ndarray, out_dir: str | Path, *,
                 overrides: dict[str, Any] | None = None, design: str = "given", seed: int | None = None,
                 progress=sys.stderr, executor=None,
                 on_member: Callable[[dict[str, Any]], None] | None = None, extend: bool = False,
                 closing: bool = True) -> EnsembleResult:
    """Run ``case`` at every row of ``points`` (N, d) and write ``DIR/ensemble.h5``.

    ``overrides`` apply to every member (``--set``); member i gets ``p.sets(points[i, j])`` (``{key: value}``) on
    top. ``executor``: a :class:`concurrent.futures.Executor` (default: :func:`pool_executor`,
    serial in this process without MPI workers). ``progress``: a stream for one line per
    finished member (None: silent). ``extend``: ``points`` may append rows to a previous run's
    design in ``out_dir`` (see :func:`check_ensemble_folder`). ``closing``: end ``progress`` with
    ``ensemble: <summary> -> TABLE`` (the CLI says it once itself, on stdout). Returns an :class:`EnsembleResult`.
    """
    out_dir = Path(out_dir)
    points = np.atleast_2d(np.asarray(points, dtype=float))
    overrides = dict(overrides or {})
    manifest = {
        "format": ENSEMBLE_FORMAT, "format_version": 1, "case": str(case), "overrides": overrides,
        "parameters": [p.as_dict() for p in parameters], "design": design, "seed": seed,
        "samples": int(points.shape[0]), "points": points.tolist(),
    }
    resume = check_ensemble_folder(out_dir, manifest, extend)
    from coupling.output.rundir import write_json

    (out_dir / MEMBERS).mkdir(parents=True, exist_ok=True)
    if not resume or extend:
        write_json(out_dir / MANIFEST, manifest)
    tasks, members = [], [dict(index=i, status="pending", message="", scalars={}) for i in range(len(points))]
    for i, row in enumerate(points):
        member_overrides = {**overrides, **{k: x for p, v in zip(parameters, row) for k, x in p.sets(v).items()}}
        previous = previous_member(member_folder(out_dir, i), member_overrides) if resume else None
        if previous is not None:
            members[i].update(previous)
        else:
            tasks.append({"index": i, "case": str(case), "overrides": member_overrides,
                          "out": str(member_folder(out_dir, i))})
    n, t0 = len(points), time.perf_counter()
    reused = n - len(tasks)
    own_pool = executor is None
    executor = pool_executor() if executor is None else executor
    _say(progress, f"ensemble: {n} members of {case} ({reused} finished before, {len(tasks)} to run) on "
                   + (f"{getattr(executor, '_max_workers', None) or 'MPI'} worker(s)" if executor else "this process"))

    def finished(record: dict[str, Any], done: int) -> None:
        members[record["index"]].update(record)
        values = ", ".join(f"{p.key}={v:.6g}" for p, v in zip(parameters, points[record["index"]]))
        elapsed = time.perf_counter() - t0
        eta = elapsed / done * (len(tasks) - done)
        extra = f": {record['message']}" if record["message"] else ""
        _say(progress, f"[{done}/{len(tasks)}] member {record['index']:04d} {record['status']} in "
                       f"{record['wall_s']:.1f} s ({values}){extra}  ETA {eta:.0f} s")
        if on_member is not None:
            on_member(members[record["index"]])

    try:
        if executor is None:
            for done, task in enumerate(tasks, 1):
                finished(run_member(task), done)
        else:
            futures: list[Future] = [executor.submit(run_member, t) for t in tasks]
            for done, fut in enumerate(as_completed(futures), 1):
                finished(fut.result(), done)
    finally:
        if own_pool and executor is not None:
            executor.shutdown(wait=True)
        attrs = {"case": str(case), "design": design, "seed": -1 if seed is None else int(seed)}
        table = write_table(out_dir / TABLE, manifest["parameters"], points, members, attrs)
    result = EnsembleResult(out_dir, table, points, members, wall_s=time.perf_counter() - t0)
    if closing:
        _say(progress, f"ensemble: {result.summary()} -> {table}")
    return result
