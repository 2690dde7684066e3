"""Mesh the quarter plate with a hole with gmsh, in a process of its own (no MPI, no DOLFINx).

``python gmsh_plate.py '{"width": W, "height": H, "radius": r, "element_size": h,
"hole_element_size": h_hole}' OUT.msh`` writes the mesh (physical groups plate, left, bottom,
right, top, hole) to OUT.msh. :func:`coupling.solvers.fem.mesh.plate_with_hole` runs it as a
child process so that a run waiting for gmsh still answers SIGINT/SIGTERM (gmsh's mesher
ignores signals while it works): the child is killed, the run stops at once.
"""

from __future__ import annotations

import json
import sys


def build(width: float, height: float, radius: float, element_size: float, hole_element_size: float) -> None:
    """Quarter plate [0, W/2] × [0, H/2] [m] minus the disc of ``radius`` at the origin, meshed
    with ``element_size`` far from the hole and ``hole_element_size`` on it (gmsh initialised)."""
    import gmsh

    gmsh.model.add("plate_with_hole")
    occ = gmsh.model.occ
    plate = occ.addRectangle(0.0, 0.0, 0.0, width / 2, height / 2)
    hole = occ.addDisk(0.0, 0.0, 0.0, radius, radius)
    occ.cut([(2, plate)], [(2, hole)])
    occ.synchronize()
    surfaces = gmsh.model.getEntities(2)
    gmsh.model.addPhysicalGroup(2, [s[1] for s in surfaces], 1, name="plate")
    named: dict[str, list[int]] = {"left": [], "bottom": [], "right": [], "top": [], "hole": []}
    eps = 1e-5 * width  # OCC bounding boxes carry a small tolerance
    for dim, tag in gmsh.model.getEntities(1):
        xmin, ymin, _, xmax, ymax, _ = gmsh.model.getBoundingBox(dim, tag)
        if xmax < eps:
            named["left"].append(tag)
        elif ymax < eps:
            named["bottom"].append(tag)
        elif xmin > width / 2 - eps:
            named["right"].append(tag)
        elif ymin > height / 2 - eps:
            named["top"].append(tag)
        else:
            named["hole"].append(tag)
    for i, (name, tags) in enumerate(named.items(), start=1):
        gmsh.model.addPhysicalGroup(1, tags, i, name=name)
    gmsh.model.mesh.field.add("Distance", 1)
    gmsh.model.mesh.field.setNumbers(1, "CurvesList", named["hole"])
    gmsh.model.mesh.field.add("Threshold", 2)
    gmsh.model.mesh.field.setNumber(2, "InField", 1)
    gmsh.model.mesh.field.setNumber(2, "SizeMin", hole_element_size)
    gmsh.model.mesh.field.setNumber(2, "SizeMax", element_size)
    gmsh.model.mesh.field.setNumber(2, "DistMin", 0.0)
    gmsh.model.mesh.field.setNumber(2, "DistMax", 10 * radius)
    gmsh.model.mesh.field.setAsBackgroundMesh(2)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.model.mesh.generate(2)


def main(argv: list[str]) -> int:
    """Command-line entry: argv = [JSON of the plate parameters (width, height, radius [m],
    element_size, hole_element_size [m]), output .msh path]; returns the exit status."""
    import gmsh

    params, out = json.loads(argv[0]), argv[1]
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        build(**params)
        gmsh.write(out)
    finally:
        gmsh.finalize()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
