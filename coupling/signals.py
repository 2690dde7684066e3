"""SIGINT / SIGTERM end a run cleanly on every rank.

A batch scheduler sends SIGTERM, a user presses Ctrl-C (SIGINT). While a run is under way
(:class:`StopRequest` installed by :func:`coupling.run`) the first signal only records itself;
a runner with a step loop (DDA) polls :meth:`RunContext.stop_requested` — one ``allreduce``
per step, so every rank stops after the same complete step — and returns its last complete
step, which the orchestrator publishes with ``status = "interrupted"`` (the CLI exits
128 + signal: 130 for SIGINT, 143 for SIGTERM). The FEM and NMM static runners poll at every
Newton iteration and raise :class:`StopAtStep`, then publish their last complete load step.
A runner without either is interrupted at once (:class:`Interrupted` raised in the handler);
a second signal always interrupts at once.

PETSc installs its own handler for these signals at initialisation (it prints ``PETSC ERROR``
lines and calls ``MPI_Abort``); :func:`keep_signals_from_petsc` keeps it out.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM (``signum``); the CLI exits with 128 + signum."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    def __reduce__(self):  # picklable (broadcast between MPI ranks)
        return (type(self), (self.signum,))

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def keep_signals_from_petsc() -> None:
    """Make PETSc leave SIGINT/SIGTERM (and SIGPIPE, SIGSEGV, ...) to Python.

    Before PETSc is initialised: ``-no_signal_handler`` through ``PETSC_OPTIONS`` (read by
    PetscInitialize); if petsc4py is already initialised: pop its handler.
    """
    opts = os.environ.get("PETSC_OPTIONS", "")
    if "-no_signal_handler" not in opts.split():
        os.environ["PETSC_OPTIONS"] = (opts + " -no_signal_handler").strip()
    petsc = sys.modules.get("petsc4py.PETSc")
    if petsc is not None:
        try:
            petsc.Sys.popSignalHandler()
        except Exception:  # no handler pushed: nothing to pop
            pass


class _InstalledHandlers:
    """SIGINT/SIGTERM handled by ``self._handle`` inside ``with`` (main thread only; elsewhere a
    no-op); the previous handlers, whatever they were (SIG_IGN in a background job), restored on
    exit. Subclasses set ``self._old = {}`` and define ``_handle(signum, frame)``."""

    _old: dict[int, object]

    def _handle(self, signum: int, frame: FrameType | None) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for s in HANDLED:
                self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)
        self._old.clear()


class StopRequest(_InstalledHandlers):
    """Install SIGINT/SIGTERM handlers for the duration of a run (main thread only).

    ``deferred`` (set by a runner that polls :meth:`RunContext.stop_requested` between
    steps): the first signal is only recorded in ``signum``. Otherwise it raises
    :class:`Interrupted` at once.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.deferred = False
        self._old: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.signum is None
        self.signum = signum
        if not (first and self.deferred):
            raise Interrupted(signum)



class StopAtStep(Exception):
    """Raised inside a solver by a runner's per-iteration callback when a SIGINT/SIGTERM was
    requested (collectively, :meth:`coupling.runner_context.RunContext.stop_requested`): the
    runner catches it, goes back to its last complete load step and returns that step, which
    the orchestrator publishes with ``status = "interrupted"``."""



class CommandInterrupted(Interrupted):
    """A command other than ``run`` and ``ensemble`` (calibrate, surrogate train / field / active,
    train, data generate) stopped by SIGINT/SIGTERM;
    ``note`` says what it had and had not written (the CLI prints ``error: interrupted by
    SIGTERM: <note>`` and exits 128 + signum)."""

    def __init__(self, signum: int, note: str = "") -> None:
        super().__init__(signum)
        self.note = note

    def __reduce__(self):
        return (type(self), (self.signum, self.note))


class CommandSignals(_InstalledHandlers):
    """SIGINT/SIGTERM handlers for a command that writes its outputs at its end (calibrate,
    surrogate train / field / active, train, data generate; before session 19 a SIGTERM ended
    them silently, exit 143).

    A signal raises :class:`CommandInterrupted` at once with :attr:`note`, which the command
    keeps current (what it has and has not written so far). Inside :meth:`writing` every signal
    waits until the block is done, so that a set of outputs (a checkpoint and its report) is
    written whole; then the first one raises, with the note given to :meth:`writing`. Main
    thread only (elsewhere a no-op); the previous handlers are restored on exit, and a ``run``
    inside the command (:class:`StopRequest`) installs its own and restores these.
    """

    def __init__(self, note: str) -> None:
        self.note = note
        self.signum: int | None = None
        self._writing = False
        self._old: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        if not self._writing:
            raise CommandInterrupted(self.signum, self.note)

    def writing(self, note_after: str):
        """A context manager: signals wait until the block's writes are done; a signal that
        arrived meanwhile then raises :class:`CommandInterrupted` with ``note_after``."""
        import contextlib

        @contextlib.contextmanager
        def block():
            self._writing = True
            try:
                yield
            finally:
                self._writing = False
            if self.signum is not None:
                raise CommandInterrupted(self.signum, note_after)

        return block()

