"""Model checkpoints: one file, a plain dict written by ``torch.save`` and read back with
``torch.load(path, weights_only=True)`` only — no arbitrary objects are ever unpickled.

Layout (``format_version`` 1)::

    {"format": "deepmanifold.checkpoint", "format_version": 1,
     "kind": "constitutive" | "joint",
     "architecture": {"arch": "mlp" | "icnn" | "return_mapping" | "friction_mlp", ...},
     "state_dict": {name: tensor},                                    # weights and scales
     "scaling": {...}, "plane": "strain" | "stress" | None,
     "meta": {...}, "report": {...}, "torch_version": "..."}          # plain JSON-like data

A missing, corrupt or foreign file raises :class:`learned.CheckpointError` (one line: file,
key, what was found, what is allowed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from learned.errors import CheckpointError
from learned.files import atomic_write, load_weights_only
from learned.models import ARCHITECTURES, ConstitutiveModel, build_model
from learned.neural_joint import FrictionNet, NeuralJointLaw
from learned.neural_law import NeuralLaw
from learned.plastic_model import LearnedPlasticLaw, ReturnMappingModel

FORMAT = "deepmanifold.checkpoint"
FORMAT_VERSION = 1
KINDS = ("constitutive", "joint")

Model = ConstitutiveModel | FrictionNet | ReturnMappingModel
#: constitutive architectures: the path-independent networks and the learned return mapping (with state)
CONSTITUTIVE_ARCHITECTURES = (*ARCHITECTURES, ReturnMappingModel.arch)


def _model_of(obj: Any) -> Model:
    if isinstance(obj, (NeuralLaw, NeuralJointLaw, LearnedPlasticLaw)):
        return obj.model
    if isinstance(obj, (ConstitutiveModel, FrictionNet, ReturnMappingModel)):
        return obj
    raise TypeError(f"cannot checkpoint a {type(obj).__name__}; give a trained model, NeuralLaw or NeuralJointLaw")


def _plain(obj: Any) -> Any:
    """JSON round trip: only dict/list/str/float/int/bool/None survive (weights_only-safe)."""
    return json.loads(json.dumps(obj, default=float))


def save_checkpoint(path: str | Path, model: Any, report: dict[str, Any] | None = None) -> Path:
    """Write a model (or a NeuralLaw / NeuralJointLaw) and its training report atomically."""
    net = _model_of(model)
    meta = dict(net.meta)
    if isinstance(model, NeuralLaw):
        meta["plane"] = model.plane
    if isinstance(model, NeuralJointLaw):
        meta.update(cohesion=model.cohesion, tensile_strength=model.tensile_strength)
    state = {k: v.detach().to("cpu", torch.float64).clone() for k, v in net.state_dict().items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": net.kind,
        "architecture": net.config,
        "state_dict": state,
        "scaling": net.scaling(),
        "plane": meta.get("plane") if net.kind == "constitutive" else None,
        "meta": _plain(meta),
        "report": _plain(report or {}),
        "torch_version": str(torch.__version__),
    }
    path = Path(path)
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and validate a checkpoint dict (weights_only); raises :class:`CheckpointError`."""
    p = str(path)
    allowed = f"a {FORMAT} file (format_version {FORMAT_VERSION}) written by learned.save_checkpoint"
    ck = load_weights_only(p, allowed)
    if not isinstance(ck, dict):
        raise CheckpointError(p, None, f"a {type(ck).__name__}, not a checkpoint dict", allowed)
    if ck.get("format") != FORMAT:
        raise CheckpointError(p, "format", repr(ck.get("format")), repr(FORMAT))
    if ck.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(p, "format_version", repr(ck.get("format_version")), str(FORMAT_VERSION))
    if ck.get("kind") not in KINDS:
        raise CheckpointError(p, "kind", repr(ck.get("kind")), " | ".join(KINDS))
    arch = ck.get("architecture")
    if not isinstance(arch, dict):
        raise CheckpointError(p, "architecture", repr(type(arch).__name__), "a dict with key 'arch'")
    archs = CONSTITUTIVE_ARCHITECTURES if ck["kind"] == "constitutive" else (FrictionNet.arch,)
    if arch.get("arch") not in archs:
        raise CheckpointError(p, "architecture.arch", repr(arch.get("arch")), " | ".join(archs))
    if not isinstance(ck.get("state_dict"), dict):
        raise CheckpointError(p, "state_dict", "missing", "a dict of tensors")
    return ck


def model_from_checkpoint(ck: dict[str, Any], path: str | Path = "") -> Model:
    """Rebuild the (float64, CPU) module of a validated checkpoint dict."""
    arch = dict(ck["architecture"])
    try:
        if arch.get("arch") == ReturnMappingModel.arch:
            net: Model = ReturnMappingModel.empty(int(arch.get("components", 3)), bool(arch.get("isotropic", False)),
                                                  str(arch.get("yield_form", "additive")))
        elif ck["kind"] == "constitutive":
            net = build_model(arch)
        else:
            arch.pop("arch")
            net = FrictionNet(**arch)
        net = net.to(torch.float64)
        net.load_state_dict(ck["state_dict"], strict=True)
    except (TypeError, ValueError, RuntimeError, KeyError) as exc:
        msg = " ".join(str(exc).split())
        raise CheckpointError(str(path), "state_dict", f"does not fit the architecture ({msg[:200]})",
                              "the state_dict saved with this architecture") from None
    net.meta = dict(ck.get("meta") or {})
    return net.eval()


def load_law(path: str | Path, device: str = "auto", **options: Any) -> NeuralLaw | NeuralJointLaw | LearnedPlasticLaw:
    """The law stored in a checkpoint: a NeuralLaw (constitutive) or a NeuralJointLaw (joint).

    device: "auto" (CUDA if present) | "cpu" | "cuda"; options go to the law's constructor
    (NeuralLaw: chunk_size, threads; NeuralJointLaw: cohesion, tensile_strength).
    """
    ck = load_checkpoint(path)
    net = model_from_checkpoint(ck, path)
    if ck["kind"] == "constitutive":
        plane = ck.get("plane") or net.meta.get("plane", "strain")
        if plane not in ("strain", "stress"):
            raise CheckpointError(str(path), "plane", repr(plane), "strain | stress")
        if isinstance(net, ReturnMappingModel):  # a law with state; runs on the CPU in float64
            return LearnedPlasticLaw(net, plane, source=str(path))
        return NeuralLaw(net, plane, device=device, source=str(path), **options)
    return NeuralJointLaw(net, device=device, source=str(path), **options)
