"""Explicit coupling, network proposes, solver corrects: FEM displacement fields of ensemble
members → a field surrogate (:mod:`learned.field_surrogate`) → the initial guess of Newton.

Field files: a FEM run with ``output.displacement = true`` writes ``displacement.npz`` into its
run folder: ``coordinates`` (n_nodes, 2) [m] of the displacement space's nodes and
``displacement`` (n_nodes, 2) [m], both sorted by the coordinates (rounded to 1e-9 of the mesh
size), so the file does not depend on the partition or the rank count.

An NMM run with ``output.displacement = true`` writes the same file with ``coordinates``
(n_covers, 2) [m], the mesh vertex of each physical cover, and ``displacement`` (n_covers,
2·n_f) [m], the cover functions' coefficients (n_f = 1 for order-0 covers, 3 for order 1) in
the solver's DOF order (the model is replicated on every rank, so the file is the same on any
rank count); two physical covers of a vertex cut by a crack share its coordinates.

Warm start (``deepmanifold run CASE --initial-guess S.pt``, FEM static cases, NMM static cases
with one load step, data-driven cases):
u₀ = the surrogate's displacement at the case's values of its parameters, matched to this
run's nodes by coordinates (on any rank count). Newton then stops on
‖R‖ ≤ max(atol, rtol ‖R₀,cold‖), where ‖R₀,cold‖ is the residual of the cold start u = 0
(one law call and one residual assembly), not the residual of the guess: warm and cold runs
stop at the same absolute accuracy (with the guess's own ‖R₀‖ a good guess would tighten its
own criterion and do more iterations the better it is). With several FEM load steps (or a
load path λ_1, λ_2, …) step k starts from u_{k−1} + (λ_k − λ_{k−1}) u₀ and stops on the
residual at u_{k−1}, the cold start of that step. NMM: the same, with the surrogate's
cover DOFs as u₀. Data-driven: the material states start from the projection of
(ε(u₀), C ε(u₀)) onto the manifold instead of the projection of (0, 0); the fixed point's
test ‖G(x) − x‖ ≤ rtol ‖G(x)‖ does not depend on the start, so warm and cold stop alike.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Callable, ContextManager

import numpy as np
from mpi4py import MPI

from coupling.errors import CaseError

FILE = "displacement.npz"
OPTION = "--initial-guess"


def _sort_order(coords: np.ndarray) -> np.ndarray:
    """Order of nodes by (x, y) rounded to 1e-9 of the bounding box (partition independent)."""
    size = float(np.ptp(coords, axis=0).max()) or 1.0
    key = np.round((coords - coords.min(axis=0)) / size, 9)
    return np.lexsort((key[:, 1], key[:, 0]))


def node_values(problem) -> tuple[np.ndarray, np.ndarray]:
    """(coordinates (n_nodes, 2), displacement (n_nodes, 2)) of every node, sorted (collective;
    the full arrays on every rank)."""
    V = problem.V
    n_own = V.dofmap.index_map.size_local
    coords = V.tabulate_dof_coordinates()[:n_own, :2]
    values = problem.u.x.array.reshape(-1, 2)[:n_own]
    comm = problem.comm
    coords = np.vstack(comm.allgather(coords))
    values = np.vstack(comm.allgather(values))
    order = _sort_order(coords)
    return coords[order], values[order]


def write_displacement(problem, folder_file) -> str:
    """Write ``displacement.npz`` (collective; rank 0 writes) and return its name."""
    coords, values = node_values(problem)
    if problem.comm.rank == 0:
        np.savez(folder_file, coordinates=coords, displacement=values)
    return FILE


def write_nmm_displacement(model, u: np.ndarray, folder_file) -> str:
    """Write an NMM run's ``displacement.npz`` (rank 0; the DOF vector ``u`` (n_dofs,) [m] is
    replicated) and return its name."""
    if model.comm.rank == 0:
        coords = np.asarray(model.mesh.points)[np.asarray(model.man.cover_vertex)]
        np.savez(folder_file, coordinates=coords, displacement=np.asarray(u).reshape(len(coords), -1))
    return FILE


#: what the points of a displacement field are called, per solver (NMM: its physical covers,
#: :class:`nmm.covers.Manifold`; FEM and data-driven: the nodes of the displacement space)
FIELD_POINTS = {"nmm": "physical covers", "fem": "nodes", "data_driven": "nodes"}


def field_points(solver: str | None) -> str:
    """'physical covers' (NMM) or 'nodes' (FEM, data-driven, unknown): the word for the points
    of a solver's displacement field in messages."""
    return FIELD_POINTS.get(solver or "", "nodes")


def member_solver(folder: Path) -> str | None:
    """The solver (summary.json ``solver.kind``: fem, nmm, data_driven) of the run in ``folder``;
    None when its summary is missing or unreadable."""
    try:
        return json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))["solver"]["kind"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def member_fields(table_path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """(parameters (N, d), snapshots (N, 2 n_points) [m], coordinates, table) of the ok members of
    an ensemble whose members wrote displacement.npz (``--set output.displacement=true``); the
    table gains ``solver`` (the first ok member's, None when unknown). The points are the nodes
    (FEM, data-driven) or the physical covers (NMM; a snapshot holds 2 n_f values per cover)."""
    from coupling.ensemble.engine import member_folder
    from coupling.ensemble.table import read_table

    table_path = Path(table_path)
    table = read_table(table_path, str(table_path))
    rows, snaps, coords, solver = [], [], None, None
    for i, status in enumerate(table["status"]):
        if status != "ok":
            continue
        folder = member_folder(table_path.parent, i)
        if not rows:
            solver = member_solver(folder)
        f = folder / FILE
        if not f.is_file():
            raise CaseError(str(table_path), None, f"member {i:04d} has no {FILE}",
                            "an ensemble run with --set output.displacement=true (FEM, NMM or data-driven)")
        with np.load(f) as z:
            c, u = z["coordinates"], z["displacement"]
        if coords is None:
            coords = c
        elif c.shape != coords.shape or not np.allclose(c, coords, rtol=0, atol=1e-9 * float(np.ptp(coords))):
            points = field_points(solver)
            same = ("members on one cover system (do not vary cover, domain, crack or joint keys)" if solver == "nmm"
                    else "members on one mesh (do not vary mesh keys)")
            found = (f"{len(c)} {points} unlike member {rows[0]:04d}'s {len(coords)}" if len(c) != len(coords)
                     else f"{points} at other coordinates than member {rows[0]:04d}'s")
            raise CaseError(str(f), None, found, same)
        rows.append(i)
        snaps.append(u.reshape(-1))
    if len(rows) < 2:
        raise CaseError(str(table_path), None, f"{len(rows)} member(s) with status ok and a field",
                        "at least 2 finished members")
    table["solver"] = solver
    return table["points"][rows], np.array(snaps), coords, table


def train_field(table_path: str | Path, out: str | Path, *, energy: float = 0.999999,
                writing: Callable[[], ContextManager[Any]] = contextlib.nullcontext) -> tuple[Path, dict[str, Any]]:
    """Build the displacement field surrogate of an ensemble and write ``out`` (.pt) and its
    report (.json beside it), both inside ``writing()`` (the CLI: a SIGINT/SIGTERM waits until
    both are written)."""
    from learned.field_surrogate import build_field_surrogate, save_field_surrogate

    from coupling.output.rundir import write_json

    x, snaps, coords, table = member_fields(table_path)
    params = table["parameters"]
    sur = build_field_surrogate(x, snaps, coords, lo=[p["lo"] for p in params], hi=[p["hi"] for p in params],
                                log=[p["log"] for p in params], parameter_keys=[p["key"] for p in params],
                                energy=energy)
    manifest = Path(table_path).parent / "ensemble.json"
    ensemble = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    sur.meta.update(ranges=params, ensemble=str(table_path), case=ensemble.get("case", table["case"]),
                    overrides=ensemble.get("overrides", {}))
    out = Path(out)
    # "nodes": the points of the field (the file format's name; an NMM field's physical covers)
    report = {"format": "deepmanifold.field_surrogate_report", **{k: v for k, v in sur.meta.items()},
              "solver": table["solver"], "nodes": sur.num_nodes}
    with writing():
        save_field_surrogate(out, sur)
        write_json(out.with_suffix(".json"), report)
    return out, report


def load(path: str | Path):
    """The field surrogate at ``path``; a bad file (or a scalar surrogate) is a one-line error."""
    from learned.field_surrogate import load_field_surrogate

    return load_field_surrogate(path)


def check_case(case) -> None:
    """Refuse cases a warm start does not apply to (one line, exit 2)."""
    if case.solver not in ("fem", "nmm", "data_driven"):
        raise CaseError(None, OPTION, f"a '{case.solver}' case",
                        "a FEM, NMM or data-driven static case (solver = \"fem\" | \"nmm\" | \"data_driven\")")
    if case.solver == "data_driven" and case.spec.fem.load_path is not None:
        raise CaseError(case.path, "fem.load_path", f"a load path of {len(case.spec.fem.load_path)} steps with {OPTION}",
                        "one fixed point (no fem.load_path): the surrogate predicts the final state")
    if case.solver != "nmm":
        return  # data-driven: one fixed point; FEM: a predictor per load step
    steps, key = case.spec.nmm.load_steps, "nmm.load_steps"
    if steps != 1:
        raise CaseError(case.path, key, f"found {steps} load steps with {OPTION}",
                        "1 (the surrogate predicts the final state)")


def case_parameters(case, keys: list[str], path: str) -> np.ndarray:
    """The case's values (1, d) of the surrogate's parameter key paths."""
    data = case.spec.model_dump(mode="json")
    values = []
    for key in keys:
        node: Any = data
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, (int, float)) or isinstance(node, bool):
            raise CaseError(path, None, f"parameter {key!r} is {node!r} in this case", "a number in the case")
        values.append(float(node))
    return np.array([values])


def set_displacement_guess(problem, case, path: str | Path) -> dict[str, Any]:
    """Set ``problem.u`` (a DOLFINx displacement on ``problem.V``: FEM, data-driven) to the
    surrogate's displacement at the case's parameters, matched to the nodes by coordinates on
    any partition (collective); returns surrogate, parameters, outside_range, modes."""
    from scipy.spatial import cKDTree

    sur = load(path)
    x = case_parameters(case, sur.parameter_keys, str(path))
    outside = [f"{r['key']}={v:g}" for r, v in zip(sur.meta.get("ranges", []), x[0]) if not r["lo"] <= v <= r["hi"]]
    n_global = problem.V.dofmap.index_map.size_global
    if n_global != sur.num_nodes:
        raise CaseError(str(path), None, f"a field on {sur.num_nodes} nodes for this mesh of {n_global}",
                        "a surrogate built from runs on this case's mesh")
    coords = problem.V.tabulate_dof_coordinates()[:, :2]
    scale = float(np.ptp(sur.coordinates, axis=0).max()) or 1.0
    dist, index = cKDTree(sur.coordinates).query(coords)
    bad = int(problem.comm.allreduce(int(np.sum(dist > 1e-8 * scale)), op=MPI.SUM))
    if bad:
        raise CaseError(str(path), None, f"{bad} node(s) of this mesh not on the surrogate's mesh",
                        "a surrogate built from runs on this case's mesh")
    if sur.mean.size != 2 * sur.num_nodes:
        raise CaseError(str(path), None, "a field surrogate of NMM cover DOFs",
                        "a surrogate built from runs on this case's mesh")
    u0 = sur.predict(x)[0].reshape(-1, 2)
    problem.u.x.array[:] = u0[index].reshape(-1)
    return {"surrogate": str(path), "parameters": dict(zip(sur.parameter_keys, x[0].tolist())),
            "outside_range": outside, "modes": int(sur.modes.shape[1])}


def nmm_initial_guess(model, case, path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """The surrogate's NMM DOF vector (n_dofs,) [m] at the case's parameters, and the record for
    summary.json (surrogate, parameters, outside_range, modes; the solver adds the cold ‖R₀‖
    and the predicted residual). The surrogate must come from runs on this case's covers: the
    same physical covers at the same vertices, in the same order (checked)."""
    sur = load(path)
    x = case_parameters(case, sur.parameter_keys, str(path))
    outside = [f"{r['key']}={v:g}" for r, v in zip(sur.meta.get("ranges", []), x[0]) if not r["lo"] <= v <= r["hi"]]
    coords = np.asarray(model.mesh.points)[np.asarray(model.man.cover_vertex)]
    scale = float(np.ptp(coords, axis=0).max()) or 1.0
    if (sur.coordinates.shape != coords.shape or sur.mean.size != model.ndof
            or not np.allclose(sur.coordinates, coords, rtol=0, atol=1e-9 * scale)):
        raise CaseError(str(path), None, f"a field of {sur.mean.size} values on {sur.num_nodes} covers for this model's "
                        f"{model.ndof} DOFs on {len(coords)} covers",
                        "a surrogate built from NMM runs on this case's covers (same cover mesh, cracks, order)")
    u0 = sur.predict(x)[0]
    return u0, {"surrogate": str(path), "parameters": dict(zip(sur.parameter_keys, x[0].tolist())),
                "outside_range": outside, "modes": int(sur.modes.shape[1])}
