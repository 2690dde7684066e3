"""Problem sizes estimated from the case alone, refused above ``[limits]`` before allocation.

A case whose mesh, cover or joint sets would produce more cells or blocks than the machine can
hold fails on allocation (or runs for hours in a mesher that ignores Ctrl-C). The estimates
below need only the validated case (no mesh is built); a case that really wants more raises
the limit explicitly::

    [limits]
    max_cells = 20_000_000     # mesh cells / cover cells
    max_blocks = 1_000_000     # DDA blocks (explicit + cut from domains)

Estimates (all counts, dimensionless):

* rectangle mesh / cover: ``n_x n_y`` cells times 2 triangles (4 when ``crossed``);
* gmsh plate with hole: ``2 A / h² + 2 (L_hole / h_hole)²`` triangles, A the quarter-plate
  area [m²], h the element size, L_hole = π r / 2 the quarter hole's arc [m];
* graded cover: per axis ``2 (n_g + L / h_max)`` with ``n_g = ln(h_max/h_min) / ln(growth)``
  cells in the graded zone (``L / h_min`` when growth = 1), L the cover extent [m];
* DDA domain: ``Π_i (1 + L_i / s_i) + n_lines`` blocks, L_i the domain's extent across joint
  set i [m] and s_i its spacing [m] (persistent joints: an upper bound for finite traces).

Memory [bytes] of a FEM / data-driven / NMM solve (``limits.max_memory_gb``, default the
memory of this machine), from the cell count n_c above, an order-of-magnitude estimate:

* unknowns: FEM/data-driven Lagrange degree k: ``N = 2 · n_c k²/2`` (nodes per triangle
  k²/2); NMM: covers ≈ n_c/2 cover-mesh nodes, 2 (order 0) or 6 (order 1) unknowns each;
* matrix: ``nnz = N · r`` with r the nonzeros per row (FEM: 2(3k² + 3k + 1), a node's
  neighbours; NMM: 7 overlapping covers × unknowns per cover), 12 bytes each (8 value +
  4 column index), times 11 for the matrix and its LU factors (a fill of 10× the matrix,
  the order of 2-D nested-dissection orderings with MUMPS);
* integration points: ``n_c · n_q`` points (n_q = 3, 6, 12 for k = 1, 2, 3; NMM 6) with
  stress, tangent and strain (15 numbers, 8 bytes each); vectors: 10 of N numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np



def _rect_cells(cells, diagonal: str = "right") -> float:
    return float(cells[0]) * float(cells[1]) * (4 if diagonal == "crossed" else 2)


def _graded_axis(length: float, h_min: float, h_max: float, growth: float) -> float:
    if growth <= 1.0 or h_max <= h_min:
        return length / h_min
    n_grade = math.log(h_max / h_min) / math.log(growth)
    return min(2 * (n_grade + length / h_max), length / h_min)


def _extent(points: Any) -> np.ndarray:
    p = np.asarray(points, float)
    return p.max(axis=0) - p.min(axis=0)


def estimate(case) -> dict[str, tuple[float, str]]:
    """What the case will allocate: ``{"cells" | "blocks": (estimate, key path)}``."""
    spec = case.spec
    out: dict[str, tuple[float, str]] = {}
    mesh = getattr(spec, "mesh", None)
    if mesh is not None:
        if mesh.kind == "rectangle":
            out["cells"] = (_rect_cells(mesh.cells, mesh.diagonal), "mesh.cells")
        elif mesh.kind == "plate_with_hole":
            area = mesh.width * mesh.height / 4 - math.pi * mesh.radius**2 / 4
            arc = math.pi * mesh.radius / 2
            cells = 2 * area / mesh.element_size**2 + 2 * (arc / mesh.hole_element_size) ** 2
            out["cells"] = (cells, "mesh.element_size" if 2 * area / mesh.element_size**2 >= 2 * (arc / mesh.hole_element_size) ** 2
                            else "mesh.hole_element_size")
    cover = getattr(spec, "cover", None)
    if cover is not None and cover.kind in ("rectangle", "graded"):
        if cover.kind == "rectangle":
            out["cells"] = (_rect_cells(cover.cells, cover.diagonal), "cover.cells")
        else:
            size = np.asarray(cover.size if cover.size is not None else _nmm_domain_extent(spec), float)
            nx = _graded_axis(size[0], cover.h_min, cover.h_max, cover.growth)
            ny = _graded_axis(size[1], cover.h_min, cover.h_max, cover.growth)
            out["cells"] = (2 * nx * ny, "cover.h_min")
    if spec.solver == "dda":
        blocks = float(len(spec.blocks))
        worst_key = "blocks"
        worst = 0.0
        for i, d in enumerate(spec.domains):
            p = np.asarray(d.polygon, float)
            n = 1.0
            for k, s in enumerate(d.joint_sets):
                dip = math.radians(s.dip)
                normal = np.array([math.sin(dip), math.cos(dip)])
                across = float(np.ptp(p @ normal))
                n *= 1.0 + across / s.spacing
                if across / s.spacing > worst:
                    worst, worst_key = across / s.spacing, f"domains[{i}].joint_sets[{k}].spacing"
            blocks += n + len(d.joints)
        out["blocks"] = (blocks, worst_key)
    return out


def _nmm_domain_extent(spec) -> np.ndarray:
    d = spec.domain
    if d.kind == "rectangle":
        return np.asarray(d.size, float)
    return _extent(d.points)


def estimate_memory(case, cells: float) -> tuple[float, float]:
    """(bytes, matrix nonzeros) of the solve of a case with ``cells`` mesh / cover cells
    (see the module docstring)."""
    spec = case.spec
    if spec.solver == "nmm":
        per_cover = 2 if spec.nmm.order == 0 else 6
        unknowns = cells / 2 * per_cover
        row, n_q = 7 * per_cover, 6
    else:
        fem = getattr(spec, "fem", None)
        k = int(getattr(fem, "degree", 1) or 1)
        unknowns = 2 * cells * k * k / 2
        row, n_q = 2 * (3 * k * k + 3 * k + 1), {1: 3, 2: 6}.get(k, 12)
    nnz = unknowns * row
    return nnz * 12 * 11 + cells * n_q * 15 * 8 + 10 * unknowns * 8, nnz


def machine_memory() -> float | None:
    """Physical memory of this machine [bytes] (None where the OS does not say)."""
    import os

    try:
        return float(os.sysconf("SC_PHYS_PAGES")) * float(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def check_limits(case) -> dict[str, float]:
    """Refuse a case whose estimated size exceeds its ``[limits]``; return the estimates."""
    limits = case.spec.limits
    caps = {"cells": ("max_cells", limits.max_cells), "blocks": ("max_blocks", limits.max_blocks)}
    sizes = estimate(case)
    for what, (value, key) in sizes.items():
        name, cap = caps[what]
        if not value <= cap:  # also catches inf / nan
            raise case.error(key, f"about {value:.3g} {what} (estimated before allocation)",
                             f"at most {cap:,} {what}; set limits.{name} to allow more")
    out = {what: value for what, (value, _) in sizes.items()}
    if "cells" in sizes and case.solver in ("fem", "data_driven", "nmm"):
        out["memory_bytes"] = _check_memory(case, sizes["cells"][0], sizes["cells"][1])
    return out


def _check_memory(case, cells: float, key: str) -> float:
    """The estimated memory [bytes] of a solve on ``cells`` cells; refused above ``limits.max_memory_gb``."""
    limits = case.spec.limits
    need, nnz = estimate_memory(case, cells)
    cap = limits.max_memory_gb * 1e9 if limits.max_memory_gb is not None else machine_memory()
    if cap is not None and not need <= cap:
        whose = "" if limits.max_memory_gb is not None else " (the memory of this machine)"
        raise case.error(key, f"about {need / 1e9:.3g} GB of memory for {cells:.3g} cells "
                         f"({nnz:.3g} matrix nonzeros; estimated before allocation)",
                         f"at most {cap / 1e9:.3g} GB{whose}; set limits.max_memory_gb to allow more")
    return need


def check_counted_cells(case, cells: int, key: str) -> float:
    """``[limits]`` for a mesh or cover read from a file, whose cell count is known only once it
    is read (``mesh.kind`` / ``cover.kind = "file"``: :func:`estimate` has no formula for it):
    the refusals of :func:`check_limits` with the counted ``cells``, before the solve allocates
    its matrix. Returns the estimated memory [bytes]; collective only in that every rank passes
    the same global count."""
    limits = case.spec.limits
    if not cells <= limits.max_cells:
        raise case.error(key, f"{cells:,} cells in the mesh file",
                         f"at most {limits.max_cells:,} cells; set limits.max_cells to allow more")
    return _check_memory(case, float(cells), key)
