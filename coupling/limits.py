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
    return {what: value for what, (value, _) in sizes.items()}
