"""Networks for a learned stress–strain manifold M_θ = {(ε, f_θ(ε))}.

Both models work on scaled variables x = ε ⊘ s_ε (strain scale s_ε (3,) [-]) and carry the
scales as buffers, so a saved state_dict is the whole model. Stress is zero at zero strain
by construction (f(ε) − f(0)), as for a material measured from a stress-free state.

* :class:`MLP` — σ = s_σ ⊙ (g(x) − g(0)) with a smooth MLP g (SiLU / softplus / tanh).
* :class:`ICNN` — hyperelastic: σ = ∂Ψ/∂ε with an input-convex potential
  Ψ(ε) = c [ψ̂(x) + ½ xᵀĈ₀x − ∇ψ̂(0)·x],   x = ε ⊘ s_ε,  c = geomean(s_σ ⊙ s_ε) [Pa];
  ψ̂ = uᵀ z_L,  z_1 = a(W_0 x + b_0),  z_{k+1} = a(U_k z_k + W_k x + b_k),
  U_k = softplus(V_k) ≥ 0, u = softplus(v) ≥ 0, a = softplus (convex, non-decreasing),
  Ĉ₀ = L Lᵀ + δ I (L lower-triangular, learnable or absent; δ = ``c0_floor``) — so the
  tangent C = c D (∇²ψ̂ + Ĉ₀) D, D = diag(1/s_ε), is symmetric positive definite.

``stress_and_tangent`` evaluates σ (N,3) [Pa] and C = ∂σ/∂ε (N,3,3) [Pa] in one pass by
forward-mode differentiation written out layer by layer (first and, for the ICNN, second
derivatives carried with the activations; one matmul per layer). :func:`func_stress_and_tangent`
computes the same with ``torch.func`` (vmap ∘ jacrev / jacfwd) and serves as the reference.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import Tensor, nn
from torch.func import jacfwd, jacrev, vmap

ACTIVATIONS = ("silu", "softplus", "tanh")
ARCHITECTURES = ("mlp", "icnn")
_PI = [0, 1, 2, 0, 0, 1]  # Hessian pairs (0,0) (1,1) (2,2) (0,1) (0,2) (1,2)
_PJ = [0, 1, 2, 1, 2, 2]
_SYM = [[0, 3, 4], [3, 1, 5], [4, 5, 2]]  # 6 pairs -> 3x3


def _act(name: str, a: Tensor) -> tuple[Tensor, Tensor]:
    """Activation h(a) and its derivative h'(a)."""
    if name == "silu":
        s = torch.sigmoid(a)
        return a * s, s * (1 + a * (1 - s))
    if name == "softplus":
        return nn.functional.softplus(a), torch.sigmoid(a)
    if name == "tanh":
        t = torch.tanh(a)
        return t, 1 - t * t
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _scales(value: Any, name: str) -> Tensor:
    t = torch.as_tensor(1.0 if value is None else value, dtype=torch.float64).flatten()
    t = t.expand(3).clone() if t.numel() == 1 else t
    if t.shape != (3,) or not bool((t > 0).all()) or not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be 3 positive finite numbers, got {value}")
    return t


class ConstitutiveModel(nn.Module):
    """Base: scaling buffers, architecture config, metadata (plane, provenance)."""

    kind = "constitutive"
    arch = "model"

    def __init__(self, strain_scale: Any = None, stress_scale: Any = None) -> None:
        super().__init__()
        self.register_buffer("strain_scale", _scales(strain_scale, "strain_scale"))
        self.register_buffer("stress_scale", _scales(stress_scale, "stress_scale"))
        #: plain JSON metadata: plane ("strain"/"stress"), data provenance, ...
        self.meta: dict[str, Any] = {"plane": "strain"}

    @property
    def config(self) -> dict[str, Any]:
        """Architecture: enough to rebuild the module with :func:`build_model`."""
        raise NotImplementedError

    def scaling(self) -> dict[str, list[float]]:
        return {"strain_scale": self.strain_scale.tolist(), "stress_scale": self.stress_scale.tolist()}

    def stress_and_tangent(self, strain: Tensor) -> tuple[Tensor, Tensor]:
        """σ (N,3) [Pa] and ∂σ/∂ε (N,3,3) [Pa] for strain (N,3) [-]."""
        raise NotImplementedError

    @staticmethod
    def _with_origin(x: Tensor) -> Tensor:
        return torch.cat([x, x.new_zeros(1, 3)])


class MLP(ConstitutiveModel):
    """σ = s_σ ⊙ (g(ε ⊘ s_ε) − g(0)), g a fully connected network with smooth activations."""

    arch = "mlp"

    def __init__(self, hidden: Sequence[int] = (32, 32), activation: str = "silu",
                 strain_scale: Any = None, stress_scale: Any = None) -> None:
        super().__init__(strain_scale, stress_scale)
        _act(activation, torch.zeros(1))
        self.hidden, self.activation = [int(h) for h in hidden], activation
        sizes = [3, *self.hidden, 3]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    @property
    def config(self) -> dict[str, Any]:
        return {"arch": self.arch, "hidden": list(self.hidden), "activation": self.activation}

    def _g(self, x: Tensor) -> Tensor:
        for layer in self.layers[:-1]:
            x = _act(self.activation, layer(x))[0]
        return self.layers[-1](x)

    def forward(self, strain: Tensor) -> Tensor:
        """σ (N,3) [Pa]; differentiable in the parameters (training)."""
        y = self._g(self._with_origin(strain / self.strain_scale))
        return (y[:-1] - y[-1]) * self.stress_scale

    def stress_and_tangent(self, strain: Tensor) -> tuple[Tensor, Tensor]:
        x = self._with_origin(strain / self.strain_scale)
        first = self.layers[0]
        a = first(x)
        h, d = _act(self.activation, a)
        dh = first.weight.T[None] * d[:, None, :]  # (n, 3, H): ∂h/∂x_k in row k
        for layer in self.layers[1:-1]:
            t = torch.cat([h[:, None, :], dh], 1) @ layer.weight.T  # one matmul, 4 channels
            h, d = _act(self.activation, t[:, 0] + layer.bias)
            dh = t[:, 1:] * d[:, None, :]
        last = self.layers[-1]
        y = last(h)
        jac = (dh[:-1] @ last.weight.T).transpose(1, 2)  # (N, 3, 3): ∂y_i/∂x_k
        stress = (y[:-1] - y[-1]) * self.stress_scale
        tangent = jac * (self.stress_scale[:, None] / self.strain_scale[None, :])
        return stress, tangent


def _softplus_inv(y: Tensor) -> Tensor:
    return y + torch.log(-torch.expm1(-y))


class ICNN(ConstitutiveModel):
    """Input-convex potential; σ = ∂Ψ/∂ε has a symmetric positive-definite tangent."""

    arch = "icnn"

    def __init__(self, hidden: Sequence[int] = (32, 32), quadratic: str = "learnable",
                 c0_floor: float = 1e-3, strain_scale: Any = None, stress_scale: Any = None) -> None:
        super().__init__(strain_scale, stress_scale)
        if quadratic not in ("learnable", "fixed"):
            raise ValueError(f"quadratic must be 'learnable' or 'fixed', got {quadratic!r}")
        if not c0_floor > 0:
            raise ValueError(f"c0_floor must be > 0, got {c0_floor}")
        self.hidden, self.quadratic, self.c0_floor = [int(h) for h in hidden], quadratic, float(c0_floor)
        self.register_buffer("energy_scale", torch.exp(torch.log(self.stress_scale * self.strain_scale).mean()))
        H = self.hidden
        self.x_layers = nn.ModuleList(nn.Linear(3, h) for h in H)  # W_k x + b_k
        self.z_raw = nn.ParameterList(
            nn.Parameter(_softplus_inv(torch.rand(b, a) * (2.0 / a) + 1e-4)) for a, b in zip(H[:-1], H[1:])
        )
        self.out_raw = nn.Parameter(_softplus_inv(torch.full((H[-1],), 1.0 / H[-1])))
        if quadratic == "learnable":
            self.chol = nn.Parameter(torch.eye(3) * math.sqrt(0.1))

    @property
    def config(self) -> dict[str, Any]:
        return {"arch": self.arch, "hidden": list(self.hidden), "quadratic": self.quadratic,
                "c0_floor": self.c0_floor}

    def c0_hat(self) -> Tensor:
        """Ĉ₀ = L Lᵀ + δ I (3,3) in scaled units."""
        eye = torch.eye(3, dtype=self.out_raw.dtype, device=self.out_raw.device)
        if self.quadratic == "learnable":
            L = torch.tril(self.chol)
            return L @ L.T + self.c0_floor * eye
        return self.c0_floor * eye

    def _grad(self, x: Tensor, order: int) -> tuple[Tensor, Tensor | None, Tensor]:
        """ψ̂-network value z·u, gradient (n,3), Hessian pairs (n,6) (order 2) by forward mode."""
        lin = self.x_layers[0]
        y = lin(x)
        dy = lin.weight.T[None].expand(x.shape[0], 3, -1)
        sy = None
        z = dz = s2 = None
        for k in range(len(self.hidden)):
            if k > 0:
                U = nn.functional.softplus(self.z_raw[k - 1])
                lin = self.x_layers[k]
                chans = [z[:, None, :], dz] + ([s2] if order == 2 else [])
                t = torch.cat(chans, 1) @ U.T
                y = t[:, 0] + lin(x)
                dy = t[:, 1:4] + lin.weight.T[None]
                sy = t[:, 4:] if order == 2 else None
            s = torch.sigmoid(y)
            z = nn.functional.softplus(y)
            dz = dy * s[:, None, :]
            if order == 2:
                s2 = (s * (1 - s))[:, None, :] * dy[:, _PI] * dy[:, _PJ]
                if sy is not None:
                    s2 = s2 + s[:, None, :] * sy
        u = nn.functional.softplus(self.out_raw)
        return z @ u, (s2 @ u if order == 2 else None), dz @ u

    def potential(self, strain: Tensor) -> Tensor:
        """Ψ(ε) (N,) [Pa] up to a constant; σ = ∂Ψ/∂ε (used by the torch.func reference)."""
        x = strain / self.strain_scale
        g0 = self._grad(x.new_zeros(1, 3), 1)[2]
        c0 = self.c0_hat().to(x.dtype)
        psi = self._grad(x, 1)[0] + 0.5 * ((x @ c0) * x).sum(1) - (x * g0).sum(1)
        return self.energy_scale * psi

    def forward(self, strain: Tensor) -> Tensor:
        """σ (N,3) [Pa]; differentiable in the parameters (training)."""
        x = strain / self.strain_scale
        g = self._grad(self._with_origin(x), 1)[2]
        grad = g[:-1] - g[-1] + x @ self.c0_hat()
        return grad * (self.energy_scale / self.strain_scale)

    def stress_and_tangent(self, strain: Tensor) -> tuple[Tensor, Tensor]:
        x = strain / self.strain_scale
        _, h6, g = self._grad(self._with_origin(x), 2)
        c0 = self.c0_hat()
        stress = (g[:-1] - g[-1] + x @ c0) * (self.energy_scale / self.strain_scale)
        hess = h6[:-1][:, _SYM] + c0
        tangent = hess * (self.energy_scale / (self.strain_scale[:, None] * self.strain_scale[None, :]))
        return stress, tangent


def build_model(config: dict[str, Any], strain_scale: Any = None, stress_scale: Any = None) -> ConstitutiveModel:
    """A model from its ``config`` (see each class's ``config``)."""
    cfg = dict(config)
    arch = cfg.pop("arch", None)
    if arch == "mlp":
        return MLP(strain_scale=strain_scale, stress_scale=stress_scale, **cfg)
    if arch == "icnn":
        return ICNN(strain_scale=strain_scale, stress_scale=stress_scale, **cfg)
    raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")


def func_stress_and_tangent(model: ConstitutiveModel, strain: Tensor) -> tuple[Tensor, Tensor]:
    """Reference σ and ∂σ/∂ε by ``torch.func``: vmap(jacrev) of σ (MLP), or of the potential's
    gradient with jacfwd over jacrev for the Hessian (ICNN)."""
    if isinstance(model, ICNN):
        grad = jacrev(lambda e: model.potential(e[None])[0])

        def both(e: Tensor) -> tuple[Tensor, Tensor]:
            g = grad(e)
            return g, g

        tangent, stress = vmap(jacfwd(both, has_aux=True))(strain)
        return stress, tangent

    def f(e: Tensor) -> tuple[Tensor, Tensor]:
        s = model(e[None])[0]
        return s, s

    tangent, stress = vmap(jacrev(f, has_aux=True))(strain)
    return stress, tangent
