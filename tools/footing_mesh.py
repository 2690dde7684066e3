"""Write cases/meshes/footing.msh: half of a strip footing on a soil block (plane strain, gmsh).

    python tools/footing_mesh.py [--size 0.25] [--footing-size 0.02] [-o cases/meshes/footing.msh]

The shipped mesh is the defaults (2201 triangles); cases/meshes/footing_coarse.msh (1617
triangles) is ``--footing-size 0.04``, the mesh shipped until session 13, kept for the coarse
learned-vs-analytic comparisons (tests/test_learned_plasticity_cases.py,
benchmarks/learned_plasticity.py) whose documented figures were measured on it. The
footing-edge size is 0.02 m because 0.04 m does not resolve the residual settlement of the
footing edge after unloading: it moves 3.9 % when the mesh is halved, 0.5 % from 0.02 m
(benchmarks/case_resolution.py, cases/footing.toml accuracy key).

Domain [0, 5] × [−5, 0] m (x = 0 is the symmetry line under the footing centre, y = 0 the
ground surface), footing half-width B/2 = 0.5 m. Physical groups (curves): ``footing``
(0 ≤ x ≤ 0.5 on y = 0), ``surface`` (the free ground surface x > 0.5), ``left``, ``right``,
``bottom``; the surface ``soil``. Elements graded from ``footing-size`` at the footing edge
(x = 0.5, y = 0, where the stress is singular) to ``size`` far away.
"""

from __future__ import annotations

import argparse
from pathlib import Path

WIDTH, DEPTH, HALF_B = 5.0, 5.0, 0.5
SIZE, FOOTING_SIZE = 0.25, 0.02  # m: the defaults, with which cases/meshes/footing.msh is written


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=float, default=SIZE)
    ap.add_argument("--footing-size", type=float, default=FOOTING_SIZE)
    ap.add_argument("-o", "--output", default=str(Path(__file__).resolve().parents[1] / "cases" / "meshes" / "footing.msh"))
    args = ap.parse_args()
    import gmsh

    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("footing")
        geo = gmsh.model.geo
        pts = [geo.addPoint(*xy, 0.0) for xy in [(0.0, -DEPTH), (WIDTH, -DEPTH), (WIDTH, 0.0), (HALF_B, 0.0), (0.0, 0.0)]]
        bottom, right, surface, footing, left = (geo.addLine(pts[i], pts[(i + 1) % 5]) for i in range(5))
        loop = geo.addCurveLoop([bottom, right, surface, footing, left])
        soil = geo.addPlaneSurface([loop])
        geo.synchronize()
        gmsh.model.addPhysicalGroup(2, [soil], 1, name="soil")
        for i, (name, tag) in enumerate([("bottom", bottom), ("right", right), ("surface", surface),
                                         ("footing", footing), ("left", left)], start=1):
            gmsh.model.addPhysicalGroup(1, [tag], i, name=name)
        f = gmsh.model.mesh.field
        f.add("Distance", 1)
        f.setNumbers(1, "PointsList", [pts[3]])
        f.add("Threshold", 2)
        f.setNumber(2, "InField", 1)
        f.setNumber(2, "SizeMin", args.footing_size)
        f.setNumber(2, "SizeMax", args.size)
        f.setNumber(2, "DistMin", 0.1)
        f.setNumber(2, "DistMax", 2.5)
        f.setAsBackgroundMesh(2)
        gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
        gmsh.option.setNumber("Mesh.Algorithm", 6)
        gmsh.model.mesh.generate(2)
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        gmsh.write(str(out))
        print(f"wrote {out}: {len(gmsh.model.mesh.getElementsByType(2)[0])} triangles")
    finally:
        gmsh.finalize()


if __name__ == "__main__":
    main()
