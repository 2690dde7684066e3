"""NeuralLaw: a trained network behind the :class:`ConstitutiveLaw` interface.

``evaluate(strain (N,3))`` → stress (N,3) [Pa], tangent ∂σ/∂ε (N,3,3) [Pa], state (N,0):

* torch tensor in → computed on the tensor's device, float64 tensors out on that device
  (the solver decides where its integration points live; nothing is moved behind its back);
* numpy array in → the convenience path: copied to ``law.device``, computed there, float64
  numpy out (on a CUDA law this costs two host–device copies per call).

One call evaluates all N points in one batched pass (stress and tangent together, see
:meth:`learned.models.ConstitutiveModel.stress_and_tangent`), in chunks of ``chunk_size``
points to bound memory and keep the working set in cache. On the CPU it runs on ``threads``
threads (default 1, one per MPI rank; None: torch's setting, for a single process on a free
many-core machine); batches under ``SERIAL_BELOW`` points always run on one. No internal
state (n_state = 0); σ_zz in plane strain is unknown (``out_of_plane_stress`` → None).

Every batch is checked against the data region the checkpoint recorded
(:mod:`learned.data_region`): :meth:`NeuralLaw.out_of_distribution_report` gives the number
of points outside it in the latest batch and the worst excursion seen — any solver that calls
``evaluate`` gets the counts for free.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from learned.backend import Array, is_torch
from learned.data_region import constitutive_monitor, unavailable
from learned.law import PLANES, ConstitutiveLaw, LawResponse
from learned.models import ConstitutiveModel
from learned.training import cpu_threads, resolve_device

#: default points per chunk: small on the CPU (cache), large on a GPU (occupancy)
CHUNK_CPU = 4096
CHUNK_CUDA = 1 << 18
#: below this many points a CPU evaluation runs on one thread (threads only add overhead)
SERIAL_BELOW = 8192


class NeuralLaw(ConstitutiveLaw):
    """σ = f_θ(ε) from a trained :class:`ConstitutiveModel` (MLP or ICNN), float64."""

    kind = "neural"
    n_state = 0

    def __init__(self, model: ConstitutiveModel, plane: str | None = None, device: str = "auto",
                 chunk_size: int | None = None, threads: int | None = 1, source: str | None = None) -> None:
        plane = plane or model.meta.get("plane", "strain")
        if plane not in PLANES:
            raise ValueError(f"plane must be one of {PLANES}, got {plane!r}")
        self.plane = plane
        self.device = resolve_device(device)
        self.device_requested = str(device)
        self.chunk_size = chunk_size
        #: CPU threads for large batches (None: torch's setting); small ones run serially.
        #: Default 1: under MPI each rank is one process, and OpenMP threads of several
        #: ranks (or of other jobs) on the same cores slow evaluation down several-fold.
        self.threads = threads
        self.source = source
        base = copy.deepcopy(model).to(dtype=torch.float64).eval()
        for p in base.parameters():
            p.requires_grad_(False)
        self.model = base.to(self.device)
        self._copies: dict[torch.device, ConstitutiveModel] = {self.device: self.model}
        self._c_ref: np.ndarray | None = None
        #: counts of evaluated strains outside the training data (None: region unknown)
        self.monitor = constitutive_monitor(model.meta.get("data_region"))

    def out_of_distribution_report(self) -> dict[str, Any]:
        """Points outside the training data: see :class:`learned.data_region.RegionMonitor`."""
        return self.monitor.report() if self.monitor is not None else unavailable()

    # ------------------------------------------------------------------ evaluation
    def _model_on(self, device: torch.device) -> ConstitutiveModel:
        key = torch.device(device)
        if key not in self._copies:
            self._copies[key] = copy.deepcopy(self.model).to(key)
        return self._copies[key]

    def stress_and_tangent(self, strain: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Batched σ (N,3) and C (N,3,3), float64, on ``strain``'s device."""
        x = strain.to(torch.float64)
        model = self._model_on(x.device)
        n = x.shape[0]
        chunk = self.chunk_size or (CHUNK_CUDA if x.device.type == "cuda" else CHUNK_CPU)
        if x.device.type == "cpu":
            threads = 1 if n < SERIAL_BELOW else self.threads
        else:
            threads = None
        with torch.no_grad(), cpu_threads(threads):
            if n <= chunk:
                return model.stress_and_tangent(x)
            stress = x.new_empty((n, 3))
            tangent = x.new_empty((n, 3, 3))
            for start in range(0, n, chunk):
                s, c = model.stress_and_tangent(x[start:start + chunk])
                stress[start:start + chunk] = s
                tangent[start:start + chunk] = c
        return stress, tangent

    def evaluate(self, strain: Array, state: Array | None = None) -> LawResponse:
        """Stress (N,3) [Pa], tangent (N,3,3) [Pa] and unchanged state of strains (N,3); numpy in, numpy out (torch in, torch out)."""
        if strain.ndim != 2 or strain.shape[1] != 3:
            raise ValueError(f"strain must have shape (N, 3), got {tuple(strain.shape)}")
        n = strain.shape[0]
        if self.monitor is not None:
            self.monitor.observe(strain)
        if is_torch(strain):
            stress, tangent = self.stress_and_tangent(strain)
            new_state = state if state is not None else stress.new_zeros((n, 0))
            return LawResponse(stress, tangent, new_state)
        x = torch.from_numpy(np.ascontiguousarray(strain, dtype=np.float64)).to(self.device)
        stress, tangent = self.stress_and_tangent(x)
        new_state = state if state is not None else np.zeros((n, 0))
        return LawResponse(stress.cpu().numpy(), tangent.cpu().numpy(), new_state)

    def evaluate_3d(self, strain4: Array, state: Array) -> tuple[Array, Array, Array]:
        """A network trained on 2D Voigt data has no 3D evaluation (σ_zz is unknown)."""
        raise NotImplementedError(f"{type(self).__name__} is defined in 2D only (no 3D evaluation)")

    def reference_stiffness(self) -> np.ndarray:
        """Tangent at ε = 0 (3,3) [Pa], cached."""
        if self._c_ref is None:
            x = torch.zeros((1, 3), dtype=torch.float64, device=self.device)
            self._c_ref = np.asarray(self.stress_and_tangent(x)[1][0].cpu().numpy(), dtype=float)
        return self._c_ref.copy()

    def describe(self) -> dict[str, Any]:
        """Kind, plane, network config, device, checkpoint path and data provenance."""
        out: dict[str, Any] = {"kind": self.kind, "plane": self.plane, "model": self.model.config,
                               "device": str(self.device), "device_requested": self.device_requested}
        if self.device_requested == "auto" and self.device.type == "cpu":
            out["device_note"] = "auto: torch finds no CUDA device, the network runs on the CPU"
        if self.source:
            out["checkpoint"] = self.source
        prov = self.model.meta.get("provenance")
        if prov:
            out["data_provenance"] = prov
        if self.monitor is not None:
            out["data_region"] = self.monitor.region()
        return out
