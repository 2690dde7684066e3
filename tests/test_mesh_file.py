"""Meshes read from gmsh .msh files, with physical-group names as boundaries."""

import gmsh

import coupling
from conftest import CASES


def write_beam_msh(path, L=10.0, h=1.0, size=0.25):
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("beam")
        s = gmsh.model.occ.addRectangle(0, -h / 2, 0, L, h)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(2, [s], 1, name="beam")
        for dim, tag in gmsh.model.getEntities(1):
            xmin, _, _, xmax, _, _ = gmsh.model.getBoundingBox(dim, tag)
            if xmax < 1e-6:
                gmsh.model.addPhysicalGroup(1, [tag], name="clamp")
            elif xmin > L - 1e-6:
                gmsh.model.addPhysicalGroup(1, [tag], name="free_end")
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.model.mesh.generate(2)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()


def test_cantilever_on_gmsh_file_with_named_boundaries(tmp_path):
    write_beam_msh(tmp_path / "beam.msh")
    text = (CASES / "cantilever.toml").read_text()
    text = text.replace('''kind = "rectangle"
size = [10.0, 1.0]          # L x h [m]
origin = [0.0, -0.5]        # neutral axis on y = 0
cells = [80, 8]''', 'kind = "file"\npath = "beam.msh"')
    text = text.replace('boundary = "left"', 'boundary = "clamp"').replace('boundary = "right"', 'boundary = "free_end"')
    (tmp_path / "case.toml").write_text(text)
    result = coupling.run(coupling.load_case(tmp_path / "case.toml"))
    probe = result.results["probes"]["tip_deflection"]
    assert probe["relative_error"] < 0.01
    assert result.summary["solver"]["cells"] > 100


def test_cantilever_on_an_xdmf_mesh(tmp_path):
    """A mesh written by DOLFINx as XDMF is read back; box sides name the boundaries."""
    from dolfinx.io import XDMFFile
    from mpi4py import MPI

    from coupling.solvers.fem.mesh import rectangle

    bundle = rectangle(MPI.COMM_WORLD, (10.0, 1.0), (40, 4), origin=(0.0, -0.5))
    with XDMFFile(MPI.COMM_WORLD, str(tmp_path / "beam.xdmf"), "w") as f:
        f.write_mesh(bundle.mesh)
    text = (CASES / "cantilever.toml").read_text().replace('''kind = "rectangle"
size = [10.0, 1.0]          # L x h [m]
origin = [0.0, -0.5]        # neutral axis on y = 0
cells = [80, 8]''', 'kind = "file"\npath = "beam.xdmf"')
    (tmp_path / "case.toml").write_text(text)
    result = coupling.run(coupling.load_case(tmp_path / "case.toml"))
    assert result.results["probes"]["tip_deflection"]["relative_error"] < 0.01
    assert result.summary["solver"]["cells"] == 40 * 4 * 2
