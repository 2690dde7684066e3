"""Progress reporting: a rich progress bar on rank 0, silence on the other ranks."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


class Progress:
    """``update(completed, description)`` on a bar with ``total`` steps; a no-op off rank 0."""

    def __init__(self, bar=None, task=None) -> None:
        self._bar, self._task = bar, task

    def update(self, completed: float, description: str | None = None) -> None:
        """Move the bar to ``completed`` (optionally with a new description)."""
        if self._bar is not None:
            kw = {"description": description} if description else {}
            self._bar.update(self._task, completed=completed, **kw)

    def log(self, message: str) -> None:
        """Print a line above the bar."""
        if self._bar is not None:
            self._bar.console.print(message)


@contextmanager
def progress_bar(total: float, description: str, enabled: bool = True) -> Iterator[Progress]:
    """A transient rich bar on stderr when ``enabled`` (rank 0 and not quiet)."""
    if not enabled:
        yield Progress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    console = Console(file=sys.stderr)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with RichProgress(*columns, console=console, transient=not console.is_terminal) as bar:
        task = bar.add_task(description, total=total)
        yield Progress(bar, task)
