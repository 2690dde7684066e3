"""Global–local coupling: ensembles of solver runs, surrogates trained on them, calibration.

* :mod:`coupling.ensemble.design` — ``--vary KEY=LO:HI[:log]`` and the designs (lhs, sobol, grid);
* :mod:`coupling.ensemble.engine` — members on mpi4py.futures workers (or serially), resume;
* :mod:`coupling.ensemble.table` — the HDF5 table parameters → scalar results;
* :mod:`coupling.ensemble.surrogates` — train / predict a surrogate from a table
  (the network itself is :mod:`learned.surrogate`);
* :mod:`coupling.ensemble.calibration` — posterior of free parameters given observations,
  through the surrogate, confirmed by solver runs.

See docs/global_local.md.
"""
