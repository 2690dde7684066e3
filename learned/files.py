"""Atomic file writes: write a temporary file beside the target, then rename it into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)``, then rename to ``path`` (permissions as for a new file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_weights_only(path: str | Path, allowed: str) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU: tensors, numbers, strings and
    containers only, never a pickled object (torch's warnings about foreign pickle protocols
    silenced). A missing or unreadable file is a :class:`learned.errors.CheckpointError` naming
    the file, with ``allowed`` as what the caller accepts; the caller checks what it read."""
    import warnings

    import torch

    from learned.errors import CheckpointError, torch_load_fault

    p = str(path)
    if not Path(p).is_file():
        raise CheckpointError(p, None, missing_file(p), allowed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        raise CheckpointError(p, None, f"unreadable or corrupt ({torch_load_fault(exc)})", allowed) from None


def missing_file(path: str | Path, name: str = "") -> str:
    """Why an input ``path`` is no regular file, in an error's words: ``file not found``, ``a
    folder, not a file``, ``a symbolic link to nothing (broken)``, ``not a regular file``;
    with ``name`` (e.g. ``"data set 'd.h5'"``) a sentence about it: ``data set 'd.h5' not
    found`` / ``... is a folder, not a file``."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return f"{name} not found" if name else "file not found"
    if path.is_dir():
        why = "a folder, not a file"
    elif path.is_symlink() and not path.exists():
        why = "a symbolic link to nothing (broken)"
    else:
        why = "not a regular file"
    return f"{name} is {why}" if name else why


# ---------------------------------------------------------------------------- output guards
def what_is(path: str | Path) -> str:
    """What is at an existing ``path``, in an error's words: ``an existing folder``, ``an
    existing file``, ``a symbolic link to a folder`` / ``to a file`` / ``to nothing (broken)``,
    or ``not a regular file`` (a device, a socket, a FIFO)."""
    path = Path(path)
    if path.is_symlink():
        target = "a folder" if path.is_dir() else ("a file" if path.is_file() else
                                                   ("nothing (broken)" if not path.exists() else "no regular file"))
        return f"a symbolic link to {target}"
    if path.is_dir():
        return "an existing folder"
    return "an existing file" if path.is_file() else "not a regular file"


def _refuse(option: str, found: str, allowed: str):
    from learned.errors import OutputPathError

    return OutputPathError(option, None, found, allowed)


def missing_folders(path: str | Path, option: str = "-o") -> list[Path]:
    """Folders that writing ``path`` must create (outermost first), after checking that the
    nearest existing ancestor is a writable folder; raises :class:`OutputPathError` if not.

    Nothing is created here: a caller that creates them removes them again if it fails.
    """
    path = Path(path)
    created: list[Path] = []
    parent = path.parent if str(path.parent) else Path(".")
    while not parent.exists() and not parent.is_symlink():
        created.append(parent)
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise _refuse(option, f"'{path}' lies under the regular file '{parent}'", "a path inside a folder")
    if parent.is_symlink() and not parent.exists():
        raise _refuse(option, f"'{path}' lies under the broken link '{parent}'", "a path inside a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _refuse(option, f"'{parent}' is not writable", "a path in a folder you can write to")
    # os.access answers for permissions only: root may "write" /proc or /sys, where creating
    # fails (ENOENT, EPERM). A file created and removed at once tells before the work is done
    # (train, data generate: a traceback at the end before session 18)
    try:
        fd, probe = tempfile.mkstemp(prefix=".deepmanifold-probe-", dir=parent)
    except OSError as exc:
        raise _refuse(option, f"cannot write in '{parent}' ({exc.strerror})", "a path in a folder you can write to") from None
    os.close(fd)
    os.unlink(probe)
    return created[::-1]


def remove_empty(folders: list[Path]) -> None:
    """Remove folders created by a failed write, innermost first, only while they are empty."""
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            return


def check_output_file(path: str | Path, option: str, is_ours: Callable[[Path], bool], what: str,
                      force: bool = False) -> list[Path]:
    """Refuse to write ``path`` over anything we did not write (a run never deletes a user's file).

    ``path`` may be new, or an existing file that ``is_ours`` recognises (``what`` names it in
    the message); ``force`` allows any regular file, never a folder. Returns
    :func:`missing_folders`.
    """
    path = Path(path)
    if path.is_dir():
        raise _refuse(option, f"'{path}' is {what_is(path)}", f"a file name for the {what}")
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise _refuse(option, f"'{path}' exists and is not a regular file", f"a new file name for the {what}")
        if not force and not is_ours(path):
            raise _refuse(option, f"'{path}' exists and is not a {what} written by deepmanifold",
                          "a new file name, or --force to replace it")
    return missing_folders(path, option)
