"""DDA errors: bad input names the key path, what was found and what is allowed;
a diverging run names the step and the block and keeps the last good state."""

from __future__ import annotations

from typing import Any

from learned.contract import SolverDivergence as _SolverDivergence


class InputError(ValueError):
    """Bad DDA input.

    key_path : where the bad value sits, e.g. ``"blocks[3].polygon"`` or ``"settings.dt"``
    found    : what was found
    allowed  : what is allowed
    """

    def __init__(self, key_path: str, found: Any, allowed: str) -> None:
        self.key_path = str(key_path)
        self.found = str(found)
        self.allowed = str(allowed)
        super().__init__(f"{self.key_path}: found {self.found}; allowed: {self.allowed}")


class SolverDivergence(_SolverDivergence):
    """A DDA step that could not be completed (NaN, penetration beyond the limit after retries).

    step, time : the step number and time [s] that failed
    block      : the block index that is worst off (or -1)
    last_state : the last accepted :class:`dda.state.State` (a copy), retrievable by the caller
    result     : the partial :class:`dda.simulation.Result` up to the last good step (or None)
    """

    def __init__(
        self, step: int, time: float, block: int, reason: str, last_state: Any = None, result: Any = None
    ) -> None:
        self.step, self.time, self.block, self.reason = int(step), float(time), int(block), reason
        self.last_state = last_state
        super().__init__(f"DDA diverged at step {step} (t = {time:.6g} s), block {block}: {reason}", result)
