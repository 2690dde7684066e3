"""``python -m coupling`` is the ``deepmanifold`` command."""

import sys

from coupling.cli import main

sys.exit(main())
