"""The block system: geometry (polygons, joint tags), materials, joint laws, loads, supports.

Units: SI (m, kg, s, Pa, N); unit thickness (plane problems, forces per metre).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from learned import ConstitutiveLaw, CoulombFriction, JointLaw

from dda.contact_detect import broad_phase_grid
from dda.errors import InputError
from dda.geometry import Polygons, check_overlaps, check_polygon, check_polygons, points_in_polygon
from dda.water import WaterLevel

if TYPE_CHECKING:  # pragma: no cover
    from dda.cutting import CutResult

ForceLike = Sequence[float] | Callable[[float], Sequence[float]]


@dataclass
class BlockMaterial:
    """A block material: constitutive law (its tangent gives the block stiffness), density ρ
    [kg/m³] and an optional in-situ stress σ0 (xx, yy, xy) [Pa] added to the law's stress."""

    law: ConstitutiveLaw
    density: float
    initial_stress: np.ndarray = field(default_factory=lambda: np.zeros(3))


class BlockSystem:
    """Blocks from explicit polygons (convex or concave, any orientation).

    polygons  : sequence of (n_k, 2) vertex arrays [m]
    material  : one material id for all blocks, or one per block
    fixed     : indices or a boolean mask of blocks held fixed (D = 0)
    edge_tags : optional per-block sequences of per-edge joint tags (edge k runs from vertex k
                to k+1 of the polygon as given); tags select joint laws, −1 = the default law
    """

    def __init__(
        self,
        polygons: Sequence[np.ndarray],
        material: int | Sequence[int] = 0,
        fixed: Sequence[int] | np.ndarray | None = None,
        edge_tags: Sequence[Sequence[int]] | None = None,
        key: str = "blocks",
        check_overlap: bool = True,
    ) -> None:
        if len(polygons) == 0:
            raise InputError(key, "no blocks", "at least one block polygon")
        raws = [np.asarray(p, dtype=float) for p in polygons]
        traw = None if edge_tags is None else [np.asarray(edge_tags[k], dtype=np.int64) for k in range(len(raws))]
        if traw is None or all(t.shape == (r.shape[0],) for r, t in zip(raws, traw)):
            # vectorised over the blocks: the polygons' checks (check_polygons raises the first
            # bad polygon's error, as the loop below would), then the tags
            polys = check_polygons(raws, key)
            tags = (_match_tags_batch(raws, traw, polys) if traw is not None
                    else [np.full(q.shape[0], -1, dtype=np.int64) for q in polys])
        else:  # a tag count is wrong: the first error in block order, as before
            polys, tags = [], []
            for k, raw in enumerate(raws):
                q = check_polygon(raw, f"{key}[{k}].polygon")
                t = traw[k]
                if t.shape != (raw.shape[0],):
                    raise InputError(f"{key}[{k}].edge_tags", f"{t.shape[0]} tags for {raw.shape[0]} edges", "one tag per edge")
                # follow the vertex clean-up of check_polygon by matching edge start points
                polys.append(q)
                tags.append(_match_tags(raw, t, q))
        self.polys = Polygons.from_list(polys)
        self.edge_tag = np.concatenate(tags)
        nb = self.polys.nb
        mat = np.asarray(material, dtype=np.int64)
        self.material_id = np.full(nb, int(mat)) if mat.ndim == 0 else mat.copy()
        if self.material_id.shape != (nb,):
            raise InputError(f"{key}.material", f"{self.material_id.size} ids for {nb} blocks", "one id or one per block")
        self.key = key
        self.fixed = np.zeros(nb, dtype=bool)
        if fixed is not None:
            self.fix(fixed)
        self.materials: dict[int, BlockMaterial] = {}
        self.joint_laws: dict[int, JointLaw] = {}
        self.default_joint_law: JointLaw = CoulombFriction(phi=30.0)
        self.velocity = np.zeros((nb, 6))
        self.point_loads: list[tuple[int, np.ndarray, ForceLike]] = []
        self.line_loads: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self.fixed_points: list[tuple[int, np.ndarray]] = []
        self.water: WaterLevel | None = None
        self.slivers_removed = 0
        if check_overlap and nb > 1:
            bb = self.polys.bbox()
            check_overlaps(self.polys, broad_phase_grid(bb, 0.0))

    # ------------------------------------------------------------------ construction helpers
    @property
    def nb(self) -> int:
        """Number of blocks."""
        return self.polys.nb

    def polygons(self) -> list[np.ndarray]:
        """Copies of every block's vertices, (n_b, 2) [m] each."""
        return self.polys.to_list()

    def _blocks(self, blocks: Sequence[int] | np.ndarray | int, key: str) -> np.ndarray:
        b = np.asarray(blocks)
        if b.dtype == bool:
            if b.shape != (self.nb,):
                raise InputError(key, f"mask of shape {b.shape}", f"a mask of shape ({self.nb},)")
            return np.flatnonzero(b)
        b = np.atleast_1d(b).astype(np.int64)
        if b.size and (b.min() < -self.nb or b.max() >= self.nb):
            raise InputError(key, f"block index {int(b.max())}", f"indices in [0, {self.nb})")
        return b % self.nb if b.size else b

    def fix(self, blocks: Sequence[int] | np.ndarray | int) -> None:
        """Hold blocks fixed (their D is eliminated: exactly zero)."""
        self.fixed[self._blocks(blocks, f"{self.key}.fixed")] = True

    def add_material(self, mat_id: int, law: ConstitutiveLaw, density: float, initial_stress: Sequence[float] | None = None) -> None:
        """Register material ``mat_id``: law, density ρ [kg/m³] > 0, optional σ0 [Pa]."""
        key = f"materials[{mat_id}]"
        if not np.isfinite(density) or density <= 0:
            raise InputError(f"{key}.density", density, "a density > 0 kg/m³")
        C = np.asarray(law.reference_stiffness(), dtype=float)
        if C.shape != (3, 3) or not np.all(np.isfinite(C)) or np.linalg.eigvalsh(0.5 * (C + C.T)).min() <= 0:
            raise InputError(f"{key}.law", "a stiffness that is not positive definite", "a law with a positive definite (3,3) stiffness [Pa]")
        s0 = np.zeros(3) if initial_stress is None else np.asarray(initial_stress, dtype=float).reshape(3)
        self.materials[int(mat_id)] = BlockMaterial(law, float(density), s0)

    def assign_material(self, blocks: Sequence[int] | np.ndarray | int, mat_id: int) -> None:
        """Give the blocks (indices) the material ``mat_id``."""
        self.material_id[self._blocks(blocks, f"{self.key}.material")] = int(mat_id)

    def set_joint_law(self, law: JointLaw, tag: int | None = None) -> None:
        """Joint law for contacts on edges tagged ``tag`` (None: the default for untagged ones)."""
        if not isinstance(law, JointLaw):
            raise InputError(f"joints[{tag}].law", type(law).__name__, "a learned.JointLaw")
        if tag is None:
            self.default_joint_law = law
        else:
            self.joint_laws[int(tag)] = law

    def set_velocity(self, blocks: Sequence[int] | np.ndarray | int, vx: float = 0.0, vy: float = 0.0, omega: float = 0.0) -> None:
        """Initial velocity of blocks: centroid (vx, vy) [m/s] and spin ω [rad/s]."""
        b = self._blocks(blocks, f"{self.key}.velocity")
        self.velocity[b, 0], self.velocity[b, 1], self.velocity[b, 2] = vx, vy, omega

    def add_point_load(self, block: int, point: Sequence[float], force: ForceLike) -> None:
        """Point load f [N] (constant (fx, fy) or a callable f(t)) at a point of a block."""
        self.point_loads.append((int(self._blocks(block, "point_loads.block")[0]), np.asarray(point, dtype=float), force))

    def add_line_load(self, block: int, p0: Sequence[float], p1: Sequence[float], traction: Sequence[float]) -> None:
        """Uniform traction q (qx, qy) [N/m] on the segment p0–p1 of a block."""
        b = int(self._blocks(block, "line_loads.block")[0])
        self.line_loads.append((b, np.asarray(p0, float), np.asarray(p1, float), np.asarray(traction, float)))

    def add_fixed_point(self, block: int, point: Sequence[float]) -> None:
        """A fixed point (Shi): a stiff spring holding a material point of a block in place."""
        self.fixed_points.append((int(self._blocks(block, "fixed_points.block")[0]), np.asarray(point, dtype=float)))

    def set_water(
        self,
        level: float | Callable[[float], float] | Sequence[Sequence[float]],
        density: float = 1000.0,
        drag_coefficient: float = 0.0,
        skin_friction: float = 0.0,
    ) -> None:
        """Reservoir level h(t) [m] (constant, callable or (t, h) table), water density [kg/m³],
        hydrodynamic drag coefficients C_d (pressure drag) and C_f (skin friction) [–] on the
        submerged faces of moving blocks (dda.water_drag; 0: off)."""
        self.water = WaterLevel(level, density, drag_coefficient=drag_coefficient, skin_friction=skin_friction)

    # ------------------------------------------------------------------ queries
    def blocks_containing(self, points: np.ndarray) -> np.ndarray:
        """Index of the block containing each point (−1 if none)."""
        pts = np.atleast_2d(np.asarray(points, dtype=float))
        out = np.full(pts.shape[0], -1, dtype=np.int64)
        for b in range(self.nb):
            inside = points_in_polygon(pts, self.polys.polygon(b))
            out[(out < 0) & inside] = b
        return out

    def validate(self) -> None:
        """Check that every block has a registered material."""
        missing = sorted(set(np.unique(self.material_id).tolist()) - set(self.materials))
        if missing:
            b = int(np.flatnonzero(self.material_id == missing[0])[0])
            raise InputError(f"{self.key}[{b}].material", missing[0], f"one of the registered materials {sorted(self.materials)}")
        if np.all(self.fixed):
            raise InputError(f"{self.key}.fixed", "all blocks fixed", "at least one free block")


def _match_tags(raw: np.ndarray, tags: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Carry per-edge tags of the raw polygon onto the cleaned, CCW polygon q (by edge midpoints)."""
    return _match_tags_batch([raw], [tags], [q])[0]


def _match_tags_batch(raws: Sequence[np.ndarray], tags: Sequence[np.ndarray], qs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Carry each block's per-edge tags of its raw polygon onto its cleaned, CCW polygon (each
    cleaned edge takes the tag of the raw edge nearest its midpoint), vectorised over the blocks
    with the same raw and cleaned vertex counts."""
    nr = np.array([r.shape[0] for r in raws], dtype=np.int64)
    nq = np.array([q.shape[0] for q in qs], dtype=np.int64)
    out: list[np.ndarray | None] = [None] * len(raws)
    for a, b in np.unique(np.stack([nr, nq], axis=1), axis=0) if nr.size else ():
        ids = np.flatnonzero((nr == a) & (nq == b))
        r0 = np.stack([raws[k] for k in ids])  # (B, a, 2)
        q = np.stack([qs[k] for k in ids])  # (B, b, 2)
        t_raw = np.stack([tags[k] for k in ids])  # (B, a)
        d = np.roll(r0, -1, axis=1) - r0
        mid = 0.5 * (q + np.roll(q, -1, axis=1))
        t = np.clip(np.einsum("bmkd,bkd->bmk", mid[:, :, None, :] - r0[:, None], d)
                    / np.maximum(np.sum(d * d, axis=2), 1e-300)[:, None, :], 0, 1)
        dist = np.linalg.norm(mid[:, :, None, :] - r0[:, None] - t[..., None] * d[:, None], axis=3)
        pick = np.take_along_axis(t_raw, np.argmin(dist, axis=2), axis=1)
        for k, row in zip(ids, pick):
            out[k] = row.astype(np.int64)
    return out  # type: ignore[return-value]


def system_from_cuts(
    cuts: "CutResult | Sequence[CutResult]",
    materials: Sequence[int] | None = None,
    fixed: Sequence[bool] | None = None,
    key: str = "domains",
) -> BlockSystem:
    """A :class:`BlockSystem` from one or more :func:`dda.cutting.cut_blocks` results.

    ``materials[k]`` / ``fixed[k]`` apply to all blocks of cut k (e.g. a fixed bedrock
    domain and a jointed slide mass). The sliver count is kept in ``slivers_removed``.
    """
    from dda.cutting import CutResult

    cl = [cuts] if isinstance(cuts, CutResult) else list(cuts)
    polys, tags, mats, fix = [], [], [], []
    for k, c in enumerate(cl):
        polys += c.polygons
        tags += c.edge_tags
        mats += [0 if materials is None else int(materials[k])] * len(c.polygons)
        fix += [False if fixed is None else bool(fixed[k])] * len(c.polygons)
    s = BlockSystem(polys, material=mats, fixed=np.asarray(fix, dtype=bool), edge_tags=tags, key=key)
    s.slivers_removed = int(sum(c.slivers_removed for c in cl))
    return s
