"""Build the :class:`dda.BlockSystem` of a validated DDA case: blocks (explicit and cut from
domains), materials, joints, water; the monitored block group.

Bad input found by :mod:`dda` (``dda.InputError`` with its own key path) is reported on the
case-file key path as a :class:`coupling.CaseError`: one line, exit status 2.
"""

from __future__ import annotations

import re

import numpy as np

import dda
from coupling.case.common import build_joint_law, build_law
from coupling.case.dda import DdaCase
from coupling.case.loader import Case


def case_key_path(key: str, n_explicit: int, domain_of: list[int]) -> str:
    """dda key paths → case key paths (settings → dda; combined block index → blocks/domains)."""
    key = re.sub(r"^settings\.", "dda.", key)
    key = re.sub(r"^dda\.trigger_(joint|rate|start|hold_velocity)$", r"trigger.\1", key)  # the [trigger] table
    m = re.match(r"^blocks\[(\d+)\](.*)$", key)
    if m:
        k = int(m.group(1))
        if k >= n_explicit and k - n_explicit < len(domain_of):
            return f"domains[{domain_of[k - n_explicit]}]{m.group(2)} (block {k})"
    return key


class BuiltSystem:
    """A block system built from a case, with what the report needs to map back to it.

    names      : block or domain name -> block indices
    areas      : (nb,) block areas [m²]; density (nb,) [kg/m³]
    n_explicit : number of ``[[blocks]]`` (cut blocks follow); domain_of : cut block -> domain
    slivers    : cut pieces dropped below ``min_area``
    """

    def __init__(self, system: dda.BlockSystem, names: dict[str, list[int]], areas: np.ndarray,
                 density: np.ndarray, n_explicit: int, domain_of: list[int], slivers: int) -> None:
        self.system, self.names, self.areas, self.density = system, names, areas, density
        self.n_explicit, self.domain_of, self.slivers = n_explicit, domain_of, slivers


def build_system(case: Case) -> BuiltSystem:
    """The :class:`dda.BlockSystem` of a validated DDA case (raises CaseError on bad input)."""
    spec: DdaCase = case.spec
    if not spec.blocks and not spec.domains:
        raise case.error("blocks", "no blocks and no domains", "at least one [[blocks]] or [[domains]]")
    mat_ids = {name: i for i, name in enumerate(spec.materials)}
    joint_tags = {name: i for i, name in enumerate(n for n in spec.joints if n != "default")}

    def tag(name: str, key: str) -> int:
        if name in ("", "default"):
            return -1
        if name not in joint_tags:
            raise case.error(key, f"found {name!r}", " | ".join(["default", *joint_tags]) or "'' (default)")
        return joint_tags[name]

    def material(name: str, key: str) -> int:
        if name not in mat_ids:
            raise case.error(key, f"found {name!r}", " | ".join(mat_ids) or "define [materials.NAME]")
        return mat_ids[name]

    polys, mats, fixed, tags, names = [], [], [], [], {}
    velocities = []
    for i, b in enumerate(spec.blocks):
        key = f"blocks[{i}]"
        polys.append(np.asarray(b.polygon, float))
        mats.append(material(b.material, f"{key}.material"))
        fixed.append(b.fixed)
        if b.edge_joints is not None and len(b.edge_joints) != len(b.polygon):
            raise case.error(f"{key}.edge_joints", f"{len(b.edge_joints)} names for {len(b.polygon)} edges", "one joint name per edge")
        tags.append([tag(n, f"{key}.edge_joints[{k}]") for k, n in enumerate(b.edge_joints or [""] * len(b.polygon))])
        velocities.append((len(polys) - 1, b.velocity))
        if b.name:
            names.setdefault(b.name, []).append(len(polys) - 1)
    n_explicit = len(polys)
    domain_of: list[int] = []
    slivers = 0
    for i, d in enumerate(spec.domains):
        key = f"domains[{i}]"
        lines = [dda.JointLine(j.start, j.end, tag(j.joint, f"{key}.joints[{k}].joint")) for k, j in enumerate(d.joints)]
        sets = [dda.JointSet(s.dip, s.spacing, s.trace_length, s.gap, s.origin, s.spacing_std, s.random_offset,
                             s.seed, tag(s.joint, f"{key}.joint_sets[{k}].joint")) for k, s in enumerate(d.joint_sets)]
        try:
            cut = dda.cut_blocks(np.asarray(d.polygon, float), lines, sets, d.min_area,
                                 boundary_tag=tag(d.boundary_joint, f"{key}.boundary_joint"), key=key)
        except dda.InputError as exc:
            where = exc.key_path if exc.key_path.startswith(key) else f"{key}.{exc.key_path}"
            raise case.error(where, f"found {exc.found}", exc.allowed)
        slivers += cut.slivers_removed
        m = material(d.material, f"{key}.material")
        for poly, t in zip(cut.polygons, cut.edge_tags):
            polys.append(poly)
            tags.append(list(t))
            mats.append(m)
            fixed.append(d.fixed)
            domain_of.append(i)
            if d.name:
                names.setdefault(d.name, []).append(len(polys) - 1)
    try:
        system = dda.BlockSystem(polys, material=mats, fixed=np.asarray(fixed, bool), edge_tags=tags, key="blocks")
        density = np.zeros(len(mat_ids))
        for name, i in mat_ids.items():
            mspec = spec.materials[name]
            if not mspec.density > 0:
                raise case.error(f"materials.{name}.density", f"found {mspec.density}", "a density > 0 kg/m^3 (blocks have mass)")
            density[i] = mspec.density
            system.add_material(i, build_law(case, mspec, f"materials.{name}"), mspec.density)
        for name, jspec in spec.joints.items():
            law = build_joint_law(case, jspec.law, f"joints.{name}.law")
            system.set_joint_law(law, None if name == "default" else joint_tags[name])
        for b, (vx, vy) in velocities:
            if vx or vy:
                system.set_velocity([b], vx, vy)
        if spec.water is not None:
            system.set_water(spec.water.level, spec.water.density, spec.water.drag_coefficient, spec.water.skin_friction)
        system.validate()
    except dda.InputError as exc:
        raise case.error(case_key_path(exc.key_path, n_explicit, domain_of), f"found {exc.found}", exc.allowed)
    areas = np.array([_area(p) for p in system.polygons()])
    return BuiltSystem(system, names, areas, density[system.material_id], n_explicit, domain_of, slivers)


def _area(p: np.ndarray) -> float:
    """Area [m²] of a simple polygon (n, 2) by the shoelace formula."""
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def monitored_group(case: Case, built: BuiltSystem) -> np.ndarray:
    """Indices of the free blocks named in ``monitor.blocks`` (default: every free block).

    A fixed block does not move: in the group's mass-weighted speed and run-out it would only
    add mass at rest, and a group of fixed blocks alone reports zeros. A name whose blocks are
    all fixed is therefore an error (one line, exit 2); a name shared by fixed and free blocks
    (several ``[[blocks]]`` / ``[[domains]]`` with one name) monitors its free blocks."""
    spec: DdaCase = case.spec
    fixed = built.system.fixed
    if not spec.monitor.blocks:
        return np.flatnonzero(~fixed)
    free_names = [n for n, idx in built.names.items() if not fixed[idx].all()]
    group: list[int] = []
    for k, name in enumerate(spec.monitor.blocks):
        if name not in built.names:
            raise case.error(f"monitor.blocks[{k}]", f"found {name!r}", " | ".join(built.names) or "name blocks or domains")
        idx = np.asarray(built.names[name], dtype=np.int64)
        if fixed[idx].all():
            what = "a fixed block" if len(idx) == 1 else f"{len(idx)} fixed blocks"
            raise case.error(f"monitor.blocks[{k}]", f"found {name!r} ({what})",
                             "a name of free blocks: " + " | ".join(free_names) if free_names
                             else "a name of free blocks (this case names none)")
        group += [int(b) for b in idx if not fixed[b]]
    return np.unique(np.asarray(group, dtype=np.int64))
