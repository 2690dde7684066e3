"""Point probes that do not depend on the partition (FEM, data-driven and NMM).

**Rule.** A probe point x may lie inside one cell, on an edge shared by two cells or on a
vertex shared by many. Its value is the **arithmetic mean over every cell that touches x**
of the quantity evaluated in that cell at x:

    q(x) = (1/n) Σ_{c ∋ x} q_c(x)

where q_c is the cell's own (exact, unsmoothed) field: u_h|_c(x) for ux, uy, the law at
ε(u_h|_c)(x) for sxx, syy, sxy, von Mises. Inside a cell n = 1 and nothing changes; on a
continuous field (the displacement) all q_c(x) agree and the mean is the value; on a
discontinuous one (the stress of a C⁰ element) it is the symmetric choice, independent of
how cells are numbered or distributed over ranks. (The alternative "the cell of lowest
index" would depend on the mesh numbering, which DOLFINx renumbers per partition, and picks
one side of a jump arbitrarily.) A point on an NMM crack or joint takes the mean of both
faces; put the probe just off the line to read one face.

**Determinism.** Each cell is owned by one rank. Every rank evaluates its owned touching
cells, the (point, cell key, value) triples are gathered, sorted by (point, cell key) — the
key is the cell's index in the *input* mesh, the same on any number of ranks — and summed
in that order, so 1 and N ranks give the same numbers up to the round-off of the solution
itself.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from learned.law import von_mises

QUANTITIES = ("ux", "uy", "sxx", "syy", "sxy", "von_mises")
RULE = "mean over the cells touching the point (partition independent)"


def quantities_from_state(u: np.ndarray, stress: np.ndarray, szz: np.ndarray | None) -> np.ndarray:
    """(n, 6) columns in :data:`QUANTITIES` order from u (n,2) [m] and stress (n,3) [Pa]."""
    return np.c_[u, stress, von_mises(stress, szz)]


def mean_over_cells(comm: MPI.Comm, n_points: int, point: np.ndarray, cell_key: np.ndarray,
                    values: np.ndarray) -> np.ndarray:
    """Partition-independent mean per point of values (m, k) given for (point, cell) pairs.

    ``point`` (m,) indexes the probe, ``cell_key`` (m,) is a partition-independent cell id,
    each (point, cell) pair appearing on exactly one rank. Returns (n_points, k) on every
    rank, NaN where no cell touches the point.
    """
    values = np.asarray(values, dtype=float)
    values = values[:, None] if values.ndim == 1 else values  # (m, k), m may be 0 on this rank
    k = values.shape[1]
    parts = comm.allgather((np.asarray(point, np.int64), np.asarray(cell_key, np.int64), values))
    p = np.concatenate([q[0] for q in parts])
    c = np.concatenate([q[1] for q in parts])
    v = np.concatenate([q[2].reshape(-1, k) for q in parts]) if len(p) else np.zeros((0, k))
    order = np.lexsort((c, p))
    p, v = p[order], v[order]
    total = np.zeros((n_points, k))
    np.add.at(total, p, v)  # sequential in the sorted order: the same sums on any rank count
    count = np.bincount(p, minlength=n_points).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count[:, None] > 0, total / count[:, None], np.nan)


# ---------------------------------------------------------------------------- FEM (DOLFINx)
def touching_cells(mesh, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point index, local cell) pairs of every *owned* cell touching each point (n,2)."""
    from dolfinx import geometry

    pts = np.zeros((len(points), 3))
    pts[:, :2] = np.asarray(points, dtype=float).reshape(-1, 2)
    tree = geometry.bb_tree(mesh, mesh.topology.dim)
    cells = geometry.compute_colliding_cells(mesh, geometry.compute_collisions_points(tree, pts), pts)
    n_own = mesh.topology.index_map(mesh.topology.dim).size_local
    pi, ci = [], []
    for i in range(len(pts)):
        for c in cells.links(i):
            if c < n_own:
                pi.append(i)
                ci.append(int(c))
    return np.asarray(pi, np.int64), np.asarray(ci, np.int32)


def input_cell_index(mesh, cells: np.ndarray) -> np.ndarray:
    """Index of local cells in the input mesh (the same on any number of ranks)."""
    original = np.asarray(mesh.topology.original_cell_index, dtype=np.int64)
    return original[cells] if len(cells) else np.zeros(0, np.int64)


def fem_probe(problem, points: np.ndarray, quantities: list[str]) -> np.ndarray:
    """Probe a :class:`ContinuumProblem` (collective); (n,) values, NaN outside the mesh.

    Stress is the law at ε(u_h|_c)(x) with the law's initial state (exact strain of the
    discrete solution, no smoothing), averaged over the touching cells (module docstring).
    A law with internal state (plasticity: the stress depends on the path) gives instead the
    cell mean of its converged quadrature-point stress
    (:func:`coupling.solvers.fem.fields.quadrature_mean_stress`), averaged the same way.
    """
    if getattr(problem.law, "n_state", 0) > 0:
        from coupling.solvers.fem.fields import quadrature_mean_stress, von_mises

        stress, szz = quadrature_mean_stress(problem)
        cell_values = np.c_[stress, von_mises(stress, szz)]
        return fem_cell_value_probe(problem, points, quantities, cell_values)
    from dolfinx import fem

    from coupling.solvers.fem.discretisation import voigt_strain

    mesh = problem.mesh
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    pi, ci = touching_cells(mesh, points)
    x = np.zeros((len(pi), 3))
    x[:, :2] = points[pi]
    u = np.zeros((len(pi), 2))
    eps = np.zeros((len(pi), 3))
    need_stress = any(q not in ("ux", "uy") for q in quantities)
    if need_stress:
        W = fem.functionspace(mesh, ("DG", max(problem.degree - 1, 0), (3,)))
        eps_h = fem.Function(W)
        eps_h.interpolate(fem.Expression(voigt_strain(problem.u), W.element.interpolation_points))
    for j in range(len(pi)):
        u[j] = problem.u.eval(x[j], ci[j : j + 1])[:2]
        if need_stress:
            eps[j] = eps_h.eval(x[j], ci[j : j + 1])[:3]
    law = problem.law
    stress = np.asarray(law.stress(eps), dtype=float).reshape(-1, 3) if len(pi) else np.zeros((0, 3))
    szz = law.out_of_plane_stress(eps) if len(pi) else None
    table = quantities_from_state(u, stress, szz)
    means = mean_over_cells(mesh.comm, len(points), pi, input_cell_index(mesh, ci), table)
    return np.array([means[i, QUANTITIES.index(q)] for i, q in enumerate(quantities)])


def fem_cell_value_probe(problem, points: np.ndarray, quantities: list[str], cell_values: np.ndarray) -> np.ndarray:
    """Probe where the stress is one value per owned cell (data-driven: the cell's material
    stress average), columns (σxx, σyy, τxy, σ_vm) in ``cell_values`` (n_own, 4); u is exact."""
    mesh = problem.mesh
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    pi, ci = touching_cells(mesh, points)
    x = np.zeros((len(pi), 3))
    x[:, :2] = points[pi]
    u = np.array([problem.u.eval(x[j], ci[j : j + 1])[:2] for j in range(len(pi))]).reshape(-1, 2)
    table = np.c_[u, np.asarray(cell_values, float)[ci].reshape(-1, 4)]
    means = mean_over_cells(mesh.comm, len(points), pi, input_cell_index(mesh, ci), table)
    return np.array([means[i, QUANTITIES.index(q)] for i, q in enumerate(quantities)])


# ---------------------------------------------------------------------------- NMM
def nmm_touching_elements(man, points: np.ndarray, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """(point index, manifold element) pairs of every element whose closure holds a point.

    Candidate cover triangles come from a k-d tree of their centroids; a triangle touches
    x when its barycentric coordinates are ≥ −tol; an uncut triangle is one element, a cut
    one is split into the elements whose convex cells hold x (within tol · h_max).
    """
    from scipy.spatial import cKDTree

    from nmm.geometry import point_in_convex

    mesh = man.mesh
    x = np.asarray(points, dtype=float).reshape(-1, 2)
    if not hasattr(mesh, "_probe_tree"):
        mesh._probe_tree = cKDTree(mesh.points[mesh.triangles].mean(axis=1))
    k = min(32, mesh.n_triangles)
    _, cand = mesh._probe_tree.query(x, k=k)
    cand = np.asarray(cand).reshape(len(x), -1)
    lam = np.stack([mesh.barycentric(cand[:, j], x) for j in range(cand.shape[1])], axis=1)
    hit = lam.min(axis=2) >= -tol
    pi, ei = [], []
    ctol = tol * mesh.h_max
    for i, j in zip(*np.nonzero(hit)):
        t = int(cand[i, j])
        e = int(man.full_elem[t])
        if e >= 0:
            pi.append(i)
            ei.append(e)
            continue
        for e in man.tri_elems.get(t, []):
            if any(point_in_convex(c, x[i : i + 1], ctol)[0] for c in man.cells[e]):
                pi.append(i)
                ei.append(int(e))
    pi, ei = np.asarray(pi, np.int64), np.asarray(ei, np.int64)
    order = np.lexsort((ei, pi))
    return pi[order], ei[order]


def nmm_probe(result, points: np.ndarray, quantities: list[str]) -> np.ndarray:
    """Probe an :class:`nmm.NMMResult` by the mean over touching manifold elements.

    The NMM solution and geometry are replicated on every rank, so every rank computes the
    same numbers (sorted by element id); (n,) values, NaN outside the domain.
    """
    model = result.model
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    pi, ei = nmm_touching_elements(model.man, points)
    if len(pi):
        xs = points[pi]
        u = result.displacement(xs, ei)
        strain = result.strain(xs, ei)
        stress = result.stress(xs, ei)
        szz = model.law.out_of_plane_stress(strain)
        table = quantities_from_state(u, stress, szz)
    else:
        table = np.zeros((0, len(QUANTITIES)))
    means = mean_over_cells(MPI.COMM_SELF, len(points), pi, ei, table)
    return np.array([means[i, QUANTITIES.index(q)] for i, q in enumerate(quantities)])
