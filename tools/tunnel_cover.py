"""Write the NMM cover of cases/nmm_jointed_tunnel.toml: a triangle mesh of the whole box
(the tunnel NOT meshed out: the cover is non-conforming, the domain cuts it), graded by the
distance to the tunnel wall,

    h(x, y) = min(h_max, h_wall + slope · | √(x² + y²) − a |)      [m],

so the cells are h_wall at the wall in every direction and grow away from it.

    python tools/tunnel_cover.py [-o cases/data/tunnel_cover.msh] [--h-wall 0.05] [--slope 0.15] [--h-max 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path


def write_cover(out: Path, a: float = 3.0, half: float = 30.0, h_wall: float = 0.05, slope: float = 0.15,
                h_max: float = 2.0) -> int:
    """Mesh [−half, half]² with the size field above; returns the number of triangles."""
    import gmsh

    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("tunnel_cover")
        gmsh.model.occ.addRectangle(-half, -half, 0.0, 2 * half, 2 * half)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(2, [1], 1, name="cover")
        f = gmsh.model.mesh.field.add("MathEval")
        gmsh.model.mesh.field.setString(f, "F", f"Min({h_max}, {h_wall} + {slope} * Fabs(Sqrt(x*x + y*y) - {a}))")
        gmsh.model.mesh.field.setAsBackgroundMesh(f)
        for opt in ("Mesh.MeshSizeExtendFromBoundary", "Mesh.MeshSizeFromPoints", "Mesh.MeshSizeFromCurvature"):
            gmsh.option.setNumber(opt, 0)
        gmsh.option.setNumber("Mesh.Algorithm", 6)
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.model.mesh.generate(2)
        _, tags, _ = gmsh.model.mesh.getElements(2)
        out.parent.mkdir(parents=True, exist_ok=True)
        gmsh.write(str(out))
        return int(sum(len(t) for t in tags))
    finally:
        gmsh.finalize()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-o", "--out", default="cases/data/tunnel_cover.msh")
    p.add_argument("--h-wall", type=float, default=0.05, help="cell size at the wall [m] (a/60)")
    p.add_argument("--slope", type=float, default=0.15, help="growth of the size with the distance to the wall")
    p.add_argument("--h-max", type=float, default=2.0, help="largest cell size [m] (benchmarks/case_resolution.py halves all three)")
    args = p.parse_args()
    n = write_cover(Path(args.out), h_wall=args.h_wall, slope=args.slope, h_max=args.h_max)
    print(f"wrote {args.out}: {n} triangles")
