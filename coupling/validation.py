"""Command-line options validated like case keys: one line ``OPTION: found X; allowed: Y``.

Every option of ``run``, ``check``, ``train``, ``data generate`` and ``data import-csv`` is
parsed by one of the small functions below (given to argparse as ``type=``); a bad value
raises :class:`coupling.CaseError` naming the option, which the CLI prints as one line and
exits with status 2. :class:`OneLineParser` turns argparse's own complaints (unknown option,
missing argument, invalid choice) into the same one-line form instead of a usage block.
"""

from __future__ import annotations

import argparse
import math
import re
from typing import Callable

from coupling.errors import CaseError


def _number(option: str, text: str, allowed: str) -> float:
    try:
        value = float(text.strip())
    except (ValueError, AttributeError):
        raise CaseError(option, None, f"found {text!r}", allowed) from None
    if not math.isfinite(value):
        raise CaseError(option, None, f"found {text!r}", allowed)
    return value


def _integer(option: str, text: str, allowed: str) -> int:
    try:
        return int(text.strip())
    except (ValueError, AttributeError):
        raise CaseError(option, None, f"found {text!r}", allowed) from None


def integer(option: str, minimum: int | None = None, maximum: int | None = None,
            why: str = "") -> Callable[[str], int]:
    """``type=`` for an integer option within [minimum, maximum]; ``why`` (the reason for the
    bounds) is added to the message in parentheses."""
    allowed = _bounds_text("an integer", minimum, maximum) + (f" ({why})" if why else "")

    def parse(text: str) -> int:
        value = _integer(option, text, allowed)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise CaseError(option, None, f"found {value}", allowed)
        return value

    return parse


def real(option: str, *, gt: float | None = None, ge: float | None = None, lt: float | None = None,
         le: float | None = None) -> Callable[[str], float]:
    """``type=`` for a finite real option with optional open/closed bounds."""
    parts = []
    if gt is not None:
        parts.append(f"> {gt:g}")
    if ge is not None:
        parts.append(f">= {ge:g}")
    if lt is not None:
        parts.append(f"< {lt:g}")
    if le is not None:
        parts.append(f"<= {le:g}")
    allowed = "a finite number" + (" " + " and ".join(parts) if parts else "")

    def parse(text: str) -> float:
        value = _number(option, text, allowed)
        bad = ((gt is not None and not value > gt) or (ge is not None and not value >= ge)
               or (lt is not None and not value < lt) or (le is not None and not value <= le))
        if bad:
            raise CaseError(option, None, f"found {text.strip()}", allowed)
        return value

    return parse


def int_list(option: str, minimum: int = 1, maximum: int = 100_000) -> Callable[[str], tuple[int, ...]]:
    """``type=`` for comma-separated integers, e.g. ``--hidden 32,32``."""
    allowed = f"comma-separated integers {minimum}..{maximum}, e.g. 32,32"

    def parse(text: str) -> tuple[int, ...]:
        items = [t.strip() for t in text.split(",")]
        try:
            values = tuple(int(t) for t in items)
        except ValueError:
            raise CaseError(option, None, f"found {text!r}", allowed) from None
        if not values or any(not minimum <= v <= maximum for v in values):
            raise CaseError(option, None, f"found {text!r}", allowed)
        return values

    return parse


def real_list(option: str, counts: tuple[int, ...], *, positive: bool = False, nonnegative: bool = False,
              increasing: bool = False, maximum: float | None = None, why: str = "",
              what: str = "") -> Callable[[str], tuple[float, ...]]:
    """``type=`` for comma-separated finite numbers (``counts``: how many are allowed), each at
    most ``maximum`` when given (``why``: the reason, added in parentheses)."""
    sign = " > 0" if positive else (" >= 0" if nonnegative else "")
    if maximum is not None:
        sign += (" and" if sign else "") + f" <= {maximum:g}"
    order = ", the first smaller than the second" if increasing else ""
    allowed = what or f"{' or '.join(map(str, counts))} comma-separated finite numbers{sign}{order}"
    allowed += f" ({why})" if why else ""

    def parse(text: str) -> tuple[float, ...]:
        items = [t.strip() for t in text.split(",")]
        try:
            values = tuple(float(t) for t in items)
        except ValueError:
            raise CaseError(option, None, f"found {text!r}", allowed) from None
        bad = (len(values) not in counts or not all(math.isfinite(v) for v in values)
               or (positive and any(v <= 0 for v in values))
               or (nonnegative and any(v < 0 for v in values))
               or (maximum is not None and any(v > maximum for v in values))
               or (increasing and any(b <= a for a, b in zip(values, values[1:]))))
        if bad:
            raise CaseError(option, None, f"found {text!r}", allowed)
        return values

    return parse


def _bounds_text(what: str, minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f"{what} {minimum}..{maximum}"
    if minimum is not None:
        return f"{what} >= {minimum}"
    if maximum is not None:
        return f"{what} <= {maximum}"
    return what


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (False when torch is missing)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return bool(torch.cuda.is_available())


def check_device(option: str, device: str, key: str | None = None) -> None:
    """``cuda`` on a machine without CUDA is bad input, not a crash later."""
    if device.startswith("cuda") and not cuda_available():
        raise CaseError(option, key, f"found {device!r} but torch finds no CUDA device on this machine",
                        "auto | cpu")


# ---------------------------------------------------------------------------- argparse
_CHOICE = re.compile(r"^argument (?P<opt>[^:]+): invalid choice: (?P<found>.+?) \(choose from (?P<allowed>.+)\)$")
_ARG = re.compile(r"^argument (?P<opt>[^:]+): (?P<rest>.+)$")


def _option_name(text: str) -> str:
    """``-o/--output`` → ``-o``; the short form, as a user types it. A sub-command slot
    (argparse dest ``data_command``) → ``data subcommand``."""
    name = text.split("/")[0].strip()
    return name[: -len("_command")] + " subcommand" if name.endswith("_command") else name


def translate_argparse(message: str) -> CaseError:
    """argparse's complaint → the project's one-line form."""
    m = _CHOICE.match(message)
    if m:
        allowed = m.group("allowed").replace("'", "").replace(", ", " | ")
        return CaseError(_option_name(m.group("opt")), None, f"found {m.group('found')}", allowed)
    if message.startswith("the following arguments are required:"):
        names = message.split(":", 1)[1].strip()
        return CaseError(_option_name(names.split(",")[0]), None, "missing", "see --help")
    if message.startswith("unrecognized arguments:"):
        found = message.split(":", 1)[1].strip()
        return CaseError(found.split()[0], None, f"unknown option or extra argument {found!r}", "see --help")
    m = _ARG.match(message)
    if m:
        rest = m.group("rest")
        if rest.startswith("expected one argument"):
            rest = "missing value"
        elif rest.startswith("invalid ") and "value:" in rest:
            rest = "found " + rest.split("value:", 1)[1].strip()
        return CaseError(_option_name(m.group("opt")), None, rest, "see --help")
    return CaseError("deepmanifold", None, message, "see --help")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are :class:`CaseError` (one line, exit 2), never a usage block."""

    def error(self, message: str):  # type: ignore[override]
        raise translate_argparse(message)

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        """As argparse, and an empty value of any option or argument (``-o ""``, ``run ""``) is
        an error naming it: a path or name that is empty would otherwise mean the working folder
        or the default (``run -o ""`` wrote into results/<case>)."""
        namespace, extras = super().parse_known_args(args, namespace)
        for action in self._actions:
            value = getattr(namespace, action.dest, None) if action.dest is not argparse.SUPPRESS else None
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and not v.strip() for v in values):
                name = _option_name(action.option_strings[0]) if action.option_strings else action.dest
                raise CaseError(name, None, "found ''", "a non-empty value (see --help)")
        return namespace, extras
