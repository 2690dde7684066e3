"""One-call training pipeline for the CLI: data set in, checkpoint + report + loss plot out.

``deepmanifold train DATA.h5 -o MODEL.pt [--model mlp|icnn] [--epochs N] [--device auto|cpu|cuda]``
maps onto :func:`train_to_checkpoint` (``method="projection"`` for noisy strain and stress).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, ContextManager

from learned.checkpoint import save_checkpoint
from learned.projection_training import train_projection
from learned.training import DataLike, Progress, train, write_training_report

METHODS = ("regression", "projection", "return_mapping")


def train_to_checkpoint(
    data: DataLike,
    output: str | Path,
    *,
    model: str = "mlp",
    method: str = "regression",
    plot: bool = True,
    progress: Progress | None = None,
    writing: Callable[[], ContextManager[Any]] = contextlib.nullcontext,
    **options: Any,
) -> dict[str, Any]:
    """Train on ``data`` (HDF5 path or data set) and write, atomically,

    * ``output`` — the checkpoint (:func:`learned.save_checkpoint`; load with :func:`learned.load_law`),
    * ``output`` with suffix ``.json`` — the training report,
    * ``output`` with suffix ``.png`` — the loss curves (if ``plot``).

    method : "regression" (:func:`learned.train`; joint data sets train a friction network)
             or "projection" (:func:`learned.train_projection`, errors-in-variables; on a path
             data set :func:`learned.projection_training.train_projection_paths`, a law with state)
             or "return_mapping" (:func:`learned.plastic_model.train_return_mapping`, a
             path data set; ``model`` is not used)
    writing: the three files are written inside ``writing()`` (the CLI: a SIGINT/SIGTERM
             waits until all of them are written, :meth:`coupling.signals.CommandSignals.writing`).
    options: passed on (epochs, batch_size, lr, hidden, patience, seed, device, ...).
    Returns {"checkpoint", "report_json", "plot", "report", "files"} (paths as str, report as
    dict, files: the report files written beside the checkpoint).
    A bad data file raises :class:`learned.DataError` before anything is written.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(data, (str, Path)):
        from learned.dataset import load_dataset

        data = load_dataset(data)
    if method == "projection" and getattr(data, "kind", None) == "paths":
        from learned.projection_training import train_projection_paths

        net, report = train_projection_paths(data, progress=progress, **options)
    elif method == "projection":
        net, report = train_projection(data, model, progress=progress, **options)
    elif method == "return_mapping":
        from learned.plastic_model import train_return_mapping

        net, report = train_return_mapping(data, progress=progress, **options)
    else:
        net, report = train(data, model, progress=progress, **options)
    out = Path(output)
    json_path, png_path = out.with_suffix(".json"), out.with_suffix(".png") if plot else None
    with writing():
        save_checkpoint(out, net, report)
        written = write_training_report(report, json_path, png_path)
    return {"checkpoint": str(out), "report_json": str(json_path),
            "plot": str(png_path) if png_path else None, "report": report,
            "files": [str(p) for p in written]}
