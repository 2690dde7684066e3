"""Field output every standard reader opens: one ``.vtu`` per output step + a ``.pvd`` index.

Layout in a run folder::

    fields.pvd                  ParaView collection: timestep → file (the time series)
    fields/fields_0000.vtu      one unstructured grid per output step (VTK XML, via meshio)
    fields/fields_0001.vtu      ...

ParaView opens ``fields.pvd`` (or a single ``.vtu``); ``meshio.read`` and the VTK Python
wheel (``vtkXMLUnstructuredGridReader``) read every ``.vtu``. The ``timestep`` of a step is
its load factor λ (λ = k / load_steps, 1 = the full load) when the load factors of the series
increase strictly; when they do not (a ``load_path`` that unloads or repeats a factor) it is
the step number k = 1, 2, …, n, because ParaView orders and identifies the steps of a
collection by their timestep (two steps at λ = 0.5 would be one). The load factor of step k is
then ``summary["results"]["load_displacement"]["load_factor"][k - 1]``.

Continuum fields (FEM and data-driven, :func:`fem_grid`):

* point data ``displacement`` (n, 3) [m], z = 0, at the nodes of the displacement space:
  P1 → ``triangle`` cells; P2 → ``triangle6`` (VTK quadratic triangle, its 6 nodes are the P2
  nodes, so nothing is collapsed to vertices); P3 → every cell split into 9 ``triangle`` cells
  on its 10 nodes (the exact nodal values, linear in between);
* cell data ``stress_xx``, ``stress_yy``, ``stress_xy`` (τxy), ``stress_zz`` (0 in plane
  stress) and ``von_mises`` [Pa]: the law at the strain of the cell centroid (FEM) or the
  cell's mean material stress (data-driven); ``cell_id`` = index of the cell in the input
  mesh;
* point data ``nodal_stress_xx``, ``nodal_stress_yy``, ``nodal_stress_xy``,
  ``nodal_stress_zz``, ``nodal_von_mises`` [Pa]: a nodal (averaged) stress for smooth plots,
  at every written node the unweighted mean of the cell values of the written cells touching
  it (``nodal_von_mises`` averages the cell von Mises values, it is not the von Mises of the
  averaged components). Cell-constant values are the solution's stress; the nodal ones
  smooth it (and smear jumps across material interfaces).

Rank 0 writes every file atomically (temporary name, then rename). Points and cells are
ordered by the input-mesh cell index, so 1 and N ranks write the same grid.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

STRESS_NAMES = ("stress_xx", "stress_yy", "stress_xy")


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def write_pvd(path: Path, entries: Sequence[tuple[float, str]]) -> None:
    """ParaView collection file ``path`` indexing (timestep, relative file) pairs, atomically."""
    lines = ['<?xml version="1.0"?>', '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">',
             "  <Collection>"]
    lines += [f'    <DataSet timestep="{t:.12g}" group="" part="0" file="{f}"/>' for t, f in entries]
    lines += ["  </Collection>", "</VTKFile>", ""]
    tmp = _tmp(path)
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)


def write_vtu(path: Path, mesh) -> None:
    """Write a ``meshio.Mesh`` as VTK XML (.vtu), atomically."""
    import meshio

    tmp = _tmp(path)
    meshio.write(str(tmp), mesh, file_format="vtu")
    os.replace(tmp, path)


class FieldSeries:
    """A time series ``<name>.pvd`` + ``<name>/<name>_NNNN.vtu`` in ``folder`` (rank 0 writes).

    ``add(t, mesh)`` writes one step (``mesh`` is a ``meshio.Mesh`` on rank 0, ignored
    elsewhere) and rewrites the index, so a run stopped half-way leaves a readable series.
    """

    def __init__(self, folder: Path | None, rank: int = 0, name: str = "fields") -> None:
        self.folder, self.rank, self.name = (Path(folder) if folder is not None else None), rank, name
        self.entries: list[tuple[float, str]] = []

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def add(self, t: float, mesh) -> None:
        if self.folder is None:
            return
        rel = f"{self.name}/{self.name}_{len(self.entries):04d}.vtu"
        self.entries.append((float(t), rel))
        if self.rank != 0:
            return
        (self.folder / self.name).mkdir(exist_ok=True)
        write_vtu(self.folder / rel, mesh)
        write_pvd(self.folder / f"{self.name}.pvd", self.timesteps())

    def timesteps(self) -> list[tuple[float, str]]:
        """(timestep, file) of the index: the load factors when they increase strictly, else
        the step numbers 1..n (a collection's timesteps must be distinct and ordered)."""
        factors = [t for t, _ in self.entries]
        if all(b > a for a, b in zip(factors, factors[1:])):
            return list(self.entries)
        return [(float(k + 1), f) for k, (_, f) in enumerate(self.entries)]

    @property
    def files(self) -> list[str]:
        """Names for summary ``files``: the index and the folder of steps (none if unused)."""
        return [f"{self.name}.pvd", f"{self.name}/"] if self.entries else []


# ---------------------------------------------------------------------------- continuum (DOLFINx)
def _lattice_cells(degree: int) -> tuple[str, list[tuple[int, int]] | list[list[tuple[int, int]]]]:
    """Cell type and the lattice nodes (i, j) (i·(B−A)/k + j·(C−A)/k) of each written cell."""
    if degree == 1:
        return "triangle", [[(0, 0), (1, 0), (0, 1)]]
    if degree == 2:  # VTK quadratic triangle: A, B, C, mid AB, mid BC, mid CA
        return "triangle6", [[(0, 0), (2, 0), (0, 2), (1, 0), (1, 1), (0, 1)]]
    k, tris = degree, []
    for i in range(k):
        for j in range(k - i):
            tris.append([(i, j), (i + 1, j), (i, j + 1)])
            if i + j < k - 1:
                tris.append([(i + 1, j), (i + 1, j + 1), (i, j + 1)])
    return "triangle", tris


def fem_grid(V, u_values: np.ndarray, cell_data: dict[str, np.ndarray], comm):
    """A ``meshio.Mesh`` of a vector P_k space on rank 0 (None elsewhere); collective.

    V: the displacement space (vector Lagrange, degree k, affine triangles); u_values: its
    local dof array (n_local_nodes·2,) [m]; cell_data: name → (n_owned_cells,) values.
    """
    import meshio

    mesh = V.mesh
    k = V.element.basix_element.degree
    n_cells = mesh.topology.index_map(2).size_local
    imap = V.dofmap.index_map
    n_local = imap.size_local + imap.num_ghosts
    node_global = imap.local_to_global(np.arange(n_local, dtype=np.int32))
    dofs = V.dofmap.list[:n_cells]  # (c, nodes per cell), local node numbers
    x = V.tabulate_dof_coordinates()[:, :2]
    # lattice position of each cell node from its barycentric coordinates
    g = mesh.geometry
    verts = g.x[g.dofmaps[0][:n_cells, :3], :2]  # (c, 3, 2) vertices A, B, C
    a, b, c = verts[:, 0], verts[:, 1], verts[:, 2]
    J = np.stack([b - a, c - a], axis=2)  # (c, 2, 2)
    rel = x[dofs] - a[:, None, :]
    lam = np.linalg.solve(J[:, None], rel[..., None])[..., 0] if n_cells else np.zeros((0, dofs.shape[1], 2))
    ij = np.rint(lam * k).astype(np.int64)
    node_at = np.full((n_cells, k + 1, k + 1), -1, dtype=np.int64)
    rows = np.repeat(np.arange(n_cells), dofs.shape[1])
    node_at[rows, ij[..., 0].ravel(), ij[..., 1].ravel()] = node_global[dofs].ravel()
    cell_type, pattern = _lattice_cells(k)
    conn = np.stack([np.stack([node_at[:, i, j] for i, j in tri], axis=1) for tri in pattern], axis=1)
    owned = np.arange(imap.size_local)
    original = np.asarray(mesh.topology.original_cell_index, dtype=np.int64)[:n_cells]
    u = np.asarray(u_values, dtype=float).reshape(-1, 2)
    data = {name: np.asarray(v, dtype=float)[:n_cells] for name, v in cell_data.items()}
    parts = comm.gather((node_global[owned], x[owned], u[owned], conn, original, data), root=0)
    if comm.rank != 0:
        return None
    n_nodes = imap.size_global
    X, U = np.zeros((n_nodes, 2)), np.zeros((n_nodes, 2))
    for gidx, xx, uu, *_ in parts:
        X[gidx], U[gidx] = xx, uu
    conn = np.concatenate([p[3] for p in parts])  # (C, sub, nodes)
    orig = np.concatenate([p[4] for p in parts])
    order = np.argsort(orig, kind="stable")
    conn, orig = conn[order], orig[order]
    # number the nodes by first appearance in input-cell order: the same file on any rank count
    flat = conn.reshape(-1)
    _, first = np.unique(flat, return_index=True)
    used = flat[np.sort(first)]
    new = np.empty(n_nodes, dtype=np.int64)
    new[used] = np.arange(len(used))
    conn = new[conn]
    sub = conn.shape[1]
    fields = {"cell_id": [np.repeat(orig, sub).astype(np.int64)]}
    flat = conn.reshape(-1)
    touching = np.bincount(flat, minlength=len(used)).astype(float)  # written cell-nodes per node
    point_data = {"displacement": np.c_[U[used], np.zeros(len(used))]}
    for name in data:
        v = np.concatenate([p[5][name] for p in parts])[order]
        fields[name] = [np.repeat(v, sub)]
        # nodal (P1-averaged) field: the mean of the cell values of the written cells touching a node
        per_node = np.repeat(v, sub * conn.shape[2])
        point_data[f"nodal_{name}"] = np.bincount(flat, weights=per_node, minlength=len(used)) / touching
    points = np.c_[X[used], np.zeros(len(used))]
    return meshio.Mesh(points, [(cell_type, conn.reshape(-1, conn.shape[2]))],
                       point_data=point_data, cell_data=fields)


def stress_cell_data(stress: np.ndarray, von_mises: np.ndarray, szz: np.ndarray | None) -> dict[str, np.ndarray]:
    """Named cell fields from (n,3) stress [Pa], (n,) von Mises and σzz (None → 0)."""
    stress = np.asarray(stress, dtype=float).reshape(-1, 3)
    out = {name: stress[:, i] for i, name in enumerate(STRESS_NAMES)}
    out["stress_zz"] = np.zeros(len(stress)) if szz is None else np.asarray(szz, dtype=float).reshape(-1)
    out["von_mises"] = np.asarray(von_mises, dtype=float).reshape(-1)
    return out
