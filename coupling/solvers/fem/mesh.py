"""Meshes for the FEM continuum: built-in rectangle, gmsh plate with a hole, or a file.

Every builder returns a :class:`MeshBundle`: the DOLFINx mesh and named facet regions
(``left``, ``right``, ``bottom``, ``top`` of the bounding box always; physical-group names
of gmsh meshes too).
"""

from __future__ import annotations

import json

from dataclasses import dataclass, field
from pathlib import Path

import dolfinx_solver  # noqa: F401  (PETSc libraries of the wheel, before dolfinx)
import numpy as np
from dolfinx import mesh as dmesh
from mpi4py import MPI

from coupling.solvers.fem.errors import MeshInputError


@dataclass
class MeshBundle:
    """A DOLFINx mesh, its named facet regions and its bounding box [m]."""

    mesh: dmesh.Mesh
    #: boundary name -> sorted local facet indices
    regions: dict[str, np.ndarray] = field(default_factory=dict)
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # xmin, ymin, xmax, ymax


def _bbox(mesh: dmesh.Mesh) -> tuple[float, float, float, float]:
    x = mesh.geometry.x[:, :2]
    lo = x.min(axis=0) if len(x) else np.full(2, np.inf)
    hi = x.max(axis=0) if len(x) else np.full(2, -np.inf)
    lo_g, hi_g = np.empty(2), np.empty(2)
    mesh.comm.Allreduce(np.asarray(lo, dtype=float), lo_g, op=MPI.MIN)
    mesh.comm.Allreduce(np.asarray(hi, dtype=float), hi_g, op=MPI.MAX)
    lo, hi = lo_g, hi_g
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def _add_box_sides(bundle: MeshBundle) -> None:
    mesh = bundle.mesh
    xmin, ymin, xmax, ymax = bundle.bbox
    tol = 1e-9 * max(xmax - xmin, ymax - ymin)
    sides = {
        "left": lambda x: np.isclose(x[0], xmin, atol=tol),
        "right": lambda x: np.isclose(x[0], xmax, atol=tol),
        "bottom": lambda x: np.isclose(x[1], ymin, atol=tol),
        "top": lambda x: np.isclose(x[1], ymax, atol=tol),
    }
    mesh.topology.create_connectivity(1, 2)
    for name, marker in sides.items():
        bundle.regions.setdefault(name, dmesh.locate_entities_boundary(mesh, 1, marker))


def rectangle(comm: MPI.Comm, size: tuple[float, float], cells: tuple[int, int],
              origin: tuple[float, float] = (0.0, 0.0), diagonal: str = "right") -> MeshBundle:
    """Structured triangles on [origin, origin + size]."""
    p0 = np.asarray(origin, dtype=float)
    p1 = p0 + np.asarray(size, dtype=float)
    diag = {"right": dmesh.DiagonalType.right, "left": dmesh.DiagonalType.left,
            "crossed": dmesh.DiagonalType.crossed}[diagonal]
    m = dmesh.create_rectangle(comm, [p0, p1], list(cells), dmesh.CellType.triangle, diagonal=diag)
    bundle = MeshBundle(m, bbox=_bbox(m))
    _add_box_sides(bundle)
    return bundle


def _from_gmsh_data(data, comm: MPI.Comm) -> MeshBundle:
    m = data.mesh
    bundle = MeshBundle(m, bbox=_bbox(m))
    if data.facet_tags is not None:
        for name, group in (data.physical_groups or {}).items():
            dim, tag = group
            if dim == 1:
                bundle.regions[name] = np.sort(data.facet_tags.find(tag))
    _add_box_sides(bundle)
    return bundle


def plate_with_hole(comm: MPI.Comm, width: float, height: float, radius: float,
                    element_size: float, hole_element_size: float) -> MeshBundle:
    """Quarter plate [0, W/2] × [0, H/2] minus the disc of ``radius`` at the origin (gmsh).

    Rank 0 meshes it in a child process (:mod:`coupling.solvers.fem.gmsh_plate`) and waits,
    answering SIGINT/SIGTERM: the child is killed and every rank raises the signal's exception
    (a KeyboardInterrupt, e.g. coupling.signals.Interrupted) together (it is broadcast)."""
    import gmsh
    from dolfinx.io import gmsh as gmshio

    params = {"width": width, "height": height, "radius": radius, "element_size": element_size,
              "hole_element_size": hole_element_size}
    outcome: tuple = ("ok",)
    folder = None
    if comm.rank == 0:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="deepmanifold-gmsh-"))
        outcome = _mesh_in_child(params, folder / "plate.msh")
    outcome = comm.bcast(outcome, root=0)
    try:
        if outcome[0] == "interrupted":  # the signal's exception of rank 0, raised on every rank
            raise outcome[1]
        if outcome[0] == "error":
            raise RuntimeError(f"gmsh failed: {outcome[1]}")
        if comm.rank == 0:
            gmsh.initialize(interruptible=False)
            gmsh.option.setNumber("General.Terminal", 0)
            gmsh.merge(str(folder / "plate.msh"))
        try:
            data = gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=2)
        finally:
            if comm.rank == 0:
                gmsh.finalize()
    finally:
        if folder is not None:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
    return _from_gmsh_data(data, comm)


def _mesh_in_child(params: dict, out: Path) -> tuple:
    """Run gmsh_plate.py in a child process; ("ok",), ("interrupted", exception) or ("error", text)."""
    import os
    import subprocess
    import sys
    import time

    script = Path(__file__).with_name("gmsh_plate.py")
    # the child is no MPI process: hide the process manager's variables from it
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "PMIX_", "HYDRA_", "MPIR_", "OMPI_"))}
    proc = subprocess.Popen([sys.executable, str(script), json.dumps(params), str(out)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)  # a Ctrl-C on the terminal reaches us, not gmsh
    try:
        while proc.poll() is None:
            time.sleep(0.02)
    except KeyboardInterrupt as exc:  # coupling.signals.Interrupted (SIGINT/SIGTERM) or a plain Ctrl-C
        proc.kill()
        proc.wait()
        return ("interrupted", exc)
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    if proc.returncode != 0 or not out.is_file():
        return ("error", err.splitlines()[-1] if err else f"exit status {proc.returncode}")
    return ("ok",)


def _read_msh(comm: MPI.Comm, path: Path) -> MeshBundle:
    """Read a gmsh file quietly on rank 0 and distribute it; reader errors reach every rank."""
    import gmsh
    from dolfinx.io import gmsh as gmshio

    error = None
    if comm.rank == 0:
        gmsh.initialize(interruptible=False)
        gmsh.option.setNumber("General.Terminal", 0)
        try:
            gmsh.merge(str(path))
            if not gmsh.model.getEntities(2):
                error = "no 2D elements"
        except Exception as exc:  # gmsh raises plain Exception
            error = str(exc).strip() or "unreadable"
        if error:
            gmsh.finalize()
    error = comm.bcast(error, root=0)
    if error:
        raise ValueError(error)
    try:
        data = gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=2)
    finally:
        if comm.rank == 0:
            gmsh.finalize()
    return _from_gmsh_data(data, comm)


def from_file(comm: MPI.Comm, path: Path) -> MeshBundle:
    """Read a triangle mesh from gmsh ``.msh`` or DOLFINx ``.xdmf`` (:class:`MeshInputError` if unusable)."""
    if not path.is_file():
        from learned.files import missing_file

        raise MeshInputError(missing_file(path, f"mesh file '{path}'"),
                             "a 2D triangle mesh file (.msh, .xdmf), relative to the case file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".msh":
            bundle = _read_msh(comm, path)
        elif suffix == ".xdmf":
            from dolfinx.io import XDMFFile

            with XDMFFile(comm, str(path), "r") as f:
                m = f.read_mesh(name="mesh")
            bundle = MeshBundle(m, bbox=_bbox(m))
            _add_box_sides(bundle)
        else:
            raise MeshInputError(f"unsupported mesh format '{suffix}'", ".msh | .xdmf")
    except MeshInputError:
        raise
    except Exception as exc:  # any reader failure is bad input, reported in one line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MeshInputError(f"cannot read mesh '{path}': {reason}", "a 2D triangle mesh (.msh, .xdmf)")
    if bundle.mesh.topology.cell_type != dmesh.CellType.triangle:
        raise MeshInputError(f"mesh '{path}' has {bundle.mesh.topology.cell_type.name} cells", "triangles")
    return bundle
