"""Array-backend helpers so one law implementation serves numpy arrays and torch tensors.

A law never moves data: results live on the device and in the dtype of the input.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

Array = Any  # numpy.ndarray | torch.Tensor


def is_torch(x: Array) -> bool:
    """True when ``x`` is a torch tensor (torch is imported lazily)."""
    return type(x).__module__.startswith("torch")


def stack(items: Sequence[Array], axis: int = -1) -> Array:
    """Stack arrays of one backend along ``axis``."""
    if is_torch(items[0]):
        import torch

        return torch.stack(list(items), dim=axis)
    return np.stack(items, axis=axis)


def zeros(shape: tuple[int, ...], like: Array) -> Array:
    """Zeros of ``shape`` with the dtype and device of ``like``."""
    if is_torch(like):
        import torch

        return torch.zeros(shape, dtype=like.dtype, device=like.device)
    return np.zeros(shape, dtype=np.asarray(like).dtype)


def as_constant(value: np.ndarray, like: Array) -> Array:
    """A numpy constant converted to the backend, dtype and device of ``like``."""
    if is_torch(like):
        import torch

        return torch.as_tensor(value, dtype=like.dtype, device=like.device)
    return np.asarray(value, dtype=np.asarray(like).dtype)


def abs_max(x: Array) -> float:
    """max |x| as a Python float (0.0 for an empty array)."""
    if x.shape[0] == 0:
        return 0.0
    if is_torch(x):
        return float(x.abs().max())
    return float(np.abs(x).max())
