"""Solver packages of the continuum: FEM (:mod:`.fem`) and data-driven (:mod:`.datadriven`).

Layering: a solver package imports only :mod:`learned` (laws, the shared solver contract),
third-party libraries and the solver layer itself (the data-driven solver reuses the FEM
discretisation and the fixed-point engine); never the case machinery of :mod:`coupling`.
So a solver can be driven from Python without case files, like :mod:`dda` and :mod:`nmm`.
"""
