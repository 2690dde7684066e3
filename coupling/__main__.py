"""``python -m coupling`` is the ``deepmanifold`` command.

The guard matters under ``python -m mpi4py.futures -m coupling ensemble``: the workers import
this module (as ``__worker__``) and must not run the command themselves.
"""

import sys

from coupling.cli import main

if __name__ == "__main__":
    sys.exit(main())
