"""The BlockSystem calls a user makes to build a DDA model from Python (docs/api.md, "DDA"):
materials assigned to blocks, and which block holds a point."""

from __future__ import annotations

import numpy as np
import pytest

import dda
from learned import LinearElastic


def _two_blocks():
    base = np.array([[0, 0], [4, 0], [4, 1], [0, 1]], float)
    return dda.BlockSystem([base, base + [0.0, 1.0]], fixed=np.array([True, False]))


def test_assign_material_gives_blocks_the_registered_law():
    system = _two_blocks()
    system.add_material(0, LinearElastic(1e9, 0.25, "strain"), 2500.0)
    system.add_material(7, LinearElastic(5e9, 0.2, "strain"), 2000.0)
    system.assign_material([1], 7)
    assert system.material_id.tolist() == [0, 7]
    system.validate()
    system.assign_material(np.array([True, False]), 3)  # a mask; 3 is not registered
    with pytest.raises(dda.InputError, match="materials"):
        system.validate()
    with pytest.raises(dda.InputError, match="block index 5"):
        system.assign_material([5], 0)


def test_blocks_containing_locates_points_and_marks_the_outside():
    system = _two_blocks()
    points = np.array([[2.0, 0.5], [2.0, 1.5], [5.0, 0.5], [0.1, 1.9]])
    assert system.blocks_containing(points).tolist() == [0, 1, -1, 1]
