"""Progress and run logs: a live bar on a terminal, plain lines in batch, and ``run.log``.

Where progress goes (rank 0 only; the other ranks are silent):

* **stderr is a terminal** (and not quiet): a transient rich bar with the simulated amount as
  a decimal (``0.82/8 s``), elapsed time and ETA;
* **stderr is not a terminal** (a batch job, ``> log 2>&1``): one plain line every
  ``every_percent`` % of the run or every ``every_seconds`` s, whichever comes first, and at the
  end, e.g. ``[   12.4 s] vajont: DDA  t=8.20/40 s (20.5 %)  ETA 48 s | step 820 ...``;
* **run.log** in the run folder (always, whatever the verbosity): the same plain lines plus
  everything passed to :meth:`RunLog.line` (command line, versions, status).

Verbosity: 0 = quiet (no progress on stderr), 1 = normal, 2 = verbose (plain lines ten times
as often, on the terminal too instead of the bar).
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import IO, Iterator

EVERY_PERCENT = 10.0
EVERY_SECONDS = 30.0


def _duration(seconds: float) -> str:
    """12 s, 3 min 05 s, 1 h 02 min."""
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _amount(x: float, total: float) -> str:
    """A progress amount with the decimals the total needs (0.82/8, 12/40, 1.5e-3/2e-2)."""
    if total >= 1000 or (x != 0 and abs(x) < 1e-3):
        return f"{x:.4g}"
    if float(total).is_integer() and float(x).is_integer():
        return f"{int(x)}"
    return f"{x:.2f}" if total < 100 else f"{x:.1f}"


class RunLog:
    """Plain lines to ``run.log`` (rank 0) and, when asked, to stderr. A no-op elsewhere."""

    def __init__(self, file: IO[str] | None = None, stream: IO[str] | None = None, verbosity: int = 1,
                 t0: float | None = None) -> None:
        self.file, self.stream, self.verbosity = file, stream, verbosity
        self.t0 = time.perf_counter() if t0 is None else t0

    def stamp(self) -> str:
        return f"[{time.perf_counter() - self.t0:9.1f} s]"

    def line(self, message: str, echo: bool = False) -> None:
        """Write ``message`` to run.log; also to stderr when ``echo`` (and not quiet)."""
        text = f"{self.stamp()} {message}"
        if self.file is not None:
            self.file.write(text + "\n")
            self.file.flush()
        if echo and self.stream is not None and self.verbosity > 0:
            print(message, file=self.stream, flush=True)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class Progress:
    """``update(completed, description)`` of a run with ``total`` units (steps, seconds, …)."""

    def __init__(self, total: float, description: str, unit: str = "", log: RunLog | None = None,
                 bar=None, task=None, plain_stream: IO[str] | None = None, verbosity: int = 1) -> None:
        self.total, self.description, self.unit = float(total), description, unit
        self._log, self._bar, self._task, self._plain = log, bar, task, plain_stream
        self._t0 = time.perf_counter()
        factor = 10.0 if verbosity >= 2 else 1.0
        self._every_fraction, self._every_s = EVERY_PERCENT / 100 / factor, EVERY_SECONDS / factor
        self._next_fraction, self._next_time = self._every_fraction, self._t0 + self._every_s
        self._completed, self._detail, self._last_line = 0.0, "", ""

    def text(self) -> str:
        """One plain progress line (without the time stamp)."""
        f = self._completed / self.total if self.total > 0 else 1.0
        elapsed = time.perf_counter() - self._t0
        eta = f"ETA {_duration(elapsed * (1 - f) / f)}" if 0 < f < 1 else ("done" if f >= 1 else "ETA ?")
        unit = f" {self.unit}" if self.unit else ""
        head = (f"{self.description}  {_amount(self._completed, self.total)}/{_amount(self.total, self.total)}{unit}"
                f" ({100 * f:.1f} %)  {eta}")
        return head + (f" | {self._detail}" if self._detail else "")

    def update(self, completed: float, description: str | None = None) -> None:
        """Move the bar to ``completed`` (optionally with a new description)."""
        self._completed = float(completed)
        if description:  # runners prefix the case name; the line has it already
            prefix = self.description.split(":")[0] + ": "
            self._detail = description[len(prefix):] if description.startswith(prefix) else description
        if self._bar is not None:
            self._bar.update(self._task, completed=completed, detail=self._detail)
        now = time.perf_counter()
        f = self._completed / self.total if self.total > 0 else 1.0
        if f >= self._next_fraction or now >= self._next_time:
            while self._next_fraction <= f:
                self._next_fraction += self._every_fraction
            self._next_time = now + self._every_s
            self._emit()

    def _emit(self) -> None:
        line = self.text()
        if line == self._last_line:
            return
        self._last_line = line
        if self._log is not None:
            self._log.line(line)
        if self._plain is not None:
            stamp = self._log.stamp() if self._log is not None else ""
            print(f"{stamp} {line}".strip(), file=self._plain, flush=True)

    def finish(self) -> None:
        self._emit()

    def log(self, message: str) -> None:
        """A message line: above the bar on a terminal, a plain line otherwise, and in run.log."""
        if self._bar is not None:
            self._bar.console.print(message)
        elif self._plain is not None:
            print(message, file=self._plain, flush=True)
        if self._log is not None:
            self._log.line(message)


@contextmanager
def progress_bar(total: float, description: str, enabled: bool = True, log: RunLog | None = None,
                 verbosity: int = 1, unit: str = "", stream: IO[str] | None = None) -> Iterator[Progress]:
    """Progress of one run phase: a bar on a terminal, plain lines in batch, lines in run.log.

    ``enabled`` = rank 0 and not quiet (stderr output); ``log`` receives the plain lines in any
    case. With verbosity ≥ 2 plain lines replace the bar on a terminal too.
    """
    stream = sys.stderr if stream is None else stream
    if not enabled:
        p = Progress(total, description, unit, log=log, verbosity=verbosity)
        yield p
        p.finish()
        return
    if not stream.isatty() or verbosity >= 2:
        p = Progress(total, description, unit, log=log, plain_stream=stream, verbosity=verbosity)
        yield p
        p.finish()
        return
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    console = Console(file=stream)
    suffix = f" {unit}" if unit else ""
    columns = [TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.fields[amount]}" + suffix), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn(), TextColumn("{task.fields[detail]}")]
    with RichProgress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total, amount=f"0/{_amount(total, total)}", detail="")
        p = Progress(total, description, unit, log=log, bar=_AmountBar(bar, total), task=task, verbosity=verbosity)
        yield p
        p.finish()


class _AmountBar:
    """Adapter: keeps the rich task's ``amount`` text (decimals) in step with ``completed``."""

    def __init__(self, bar, total: float) -> None:
        self._rich, self._total = bar, total
        self.console = bar.console

    def update(self, task, completed: float, detail: str = "") -> None:
        self._rich.update(task, completed=completed, detail=detail,
                          amount=f"{_amount(completed, self._total)}/{_amount(self._total, self._total)}")
