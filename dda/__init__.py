"""dda — Discontinuous Deformation Analysis (Shi 1988) in 2D.

Blocks with D = (u0, v0, r0, εx, εy, γxy), implicit time stepping, penalty contacts with
open–close iteration, Mohr–Coulomb joints through :class:`learned.JointLaw`, block
stiffness and stress through :class:`learned.ConstitutiveLaw`, global system on PETSc.

    >>> import dda, learned
    >>> sys = dda.BlockSystem([base, block], fixed=[0])
    >>> sys.add_material(0, learned.LinearElastic(1e9, 0.25), density=2500.0)
    >>> sys.set_joint_law(learned.CoulombFriction(phi=20.0))
    >>> res = dda.Simulation(sys, dda.Settings(duration=1.0, dt=1e-3)).solve()
"""

import os as _os

# MPICH: a rank waiting for a message yields its core after every poll (default: after 1000).
# With more processes than cores (a shared machine) a waiting rank otherwise spins through its
# time slice while the rank it waits for cannot run: measured at load 22 on 2 cores, a 2-rank
# DDA run of 64 blocks took 69 s with the default and 15.5 s with this. Takes effect only
# when set before MPI starts (importing dda before mpi4py.MPI); the environment's value wins.
_os.environ.setdefault("MPIR_CVAR_POLLS_BEFORE_YIELD", "1")

from dda.cutting import CutResult, JointLine, JointSet, cut_blocks
from dda.errors import InputError, SolverDivergence
from dda.result import Result, StepInfo
from dda.settings import Settings
from dda.simulation import Simulation, StepFailure
from dda.state import State
from dda.system import BlockMaterial, BlockSystem, system_from_cuts
from dda.water import WaterLevel

__all__ = [
    "BlockMaterial",
    "BlockSystem",
    "CutResult",
    "JointLine",
    "JointSet",
    "InputError",
    "Result",
    "Settings",
    "Simulation",
    "SolverDivergence",
    "State",
    "StepFailure",
    "StepInfo",
    "WaterLevel",
    "cut_blocks",
    "system_from_cuts",
]
