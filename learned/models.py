"""Networks for a learned stress–strain manifold M_θ = {(ε, f_θ(ε))}.

Both models work on scaled variables x = ε ⊘ s_ε (strain scale s_ε (3,) [-]) and carry the
scales as buffers, so a saved state_dict is the whole model. Stress is zero at zero strain
by construction (f(ε) − f(0)), as for a material measured from a stress-free state.

* :class:`MLP` — σ = s_σ ⊙ (g(x) − g(0)) with a smooth MLP g (SiLU / softplus / tanh); with
  ``linear_part=True`` σ = s_σ ⊙ (A x + g(x) − g(0) − J_g(0) x), A (3,3) learnable: the tangent
  at ε = 0 is exactly C₀ = diag(s_σ) A diag(1/s_ε) and the network only adds terms of
  order |ε|², so the small-strain limit is as accurate as C₀ (identified from the data).
* :class:`ICNN` — hyperelastic: σ = ∂Ψ/∂ε with an input-convex potential
  Ψ(ε) = c [ψ̂(x) + ½ xᵀĈ₀x − ∇ψ̂(0)·x],   x = ε ⊘ s_ε,  c = geomean(s_σ ⊙ s_ε) [Pa];
  ψ̂ = uᵀ z_L,  z_1 = a(W_0 x + b_0),  z_{k+1} = a(U_k z_k + W_k x + b_k),
  U_k = softplus(V_k) ≥ 0, u = softplus(v) ≥ 0, a = softplus (convex, non-decreasing),
  Ĉ₀ = L Lᵀ + δ I (L lower-triangular, learnable or absent; δ = ``c0_floor``) — so the
  tangent C = c D (∇²ψ̂ + Ĉ₀) D, D = diag(1/s_ε), is symmetric positive definite.

``stress_and_tangent`` evaluates σ (N,3) [Pa] and C = ∂σ/∂ε (N,3,3) [Pa] in one pass, with
the derivatives written out layer by layer (no autograd): forward mode for the MLP Jacobian
(3 tangents carried with the activations, those of the first layer folded into one matrix
product); for the ICNN the gradient by one reverse sweep g_k = δ_k ⊙ a'(y_k) = ∂ψ̂/∂y_k,
∇ψ̂ = Σ_k g_k W_k, and the Hessian from forward-mode J_k = ∂y_k/∂x,
∇²ψ̂ = Σ_k J_k diag(δ_k ⊙ a''(y_k)) J_kᵀ (see :meth:`ICNN._grad_hess`).
:func:`func_stress_and_tangent` computes the same with ``torch.func`` (vmap ∘ jacrev, and
jacfwd ∘ jacrev for the ICNN) and is the reference the tests compare against.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import Tensor, nn
from torch.func import jacfwd, jacrev, vmap

ACTIVATIONS = ("silu", "softplus", "tanh")
ARCHITECTURES = ("mlp", "icnn")


def _act(name: str, a: Tensor) -> tuple[Tensor, Tensor]:
    """Activation h(a) and its derivative h'(a); without autograd in one fused pass where torch
    has one (silu_backward / tanh_backward with a unit cotangent: h' without temporaries)."""
    fused = not (torch.is_grad_enabled() and a.requires_grad)  # the fused kernels have no derivative
    if name == "silu":
        h = nn.functional.silu(a)
        if fused:
            return h, torch.ops.aten.silu_backward(_unit(a), a)
        s = torch.sigmoid(a)
        return h, s + h * (1 - s)
    if name == "softplus":
        return nn.functional.softplus(a), torch.sigmoid(a)
    if name == "tanh":
        t = torch.tanh(a)
        return t, torch.ops.aten.tanh_backward(_unit(a), t) if fused else 1 - t * t
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _unit(a: Tensor) -> Tensor:
    """A tensor of ones shaped like ``a`` without filling memory (a broadcast scalar)."""
    return a.new_ones(()).expand_as(a)


def _first_layer_tangents(weight0: Tensor, slope0: Tensor, weight1_t: Tensor) -> Tensor:
    """Tangents ∂(W₁ h₀)/∂x_k (n,3,H₁) behind a first layer h₀ = a(W₀x + b₀), as one product.

    ∂(W₁h₀)/∂x_k = (a'(y₀) ⊙ W₀[:,k]) W₁ᵀ = a'(y₀) M_k with M_k = diag(W₀[:,k]) W₁ᵀ (H₀,H₁), so
    the three tangents are slope0 (n,H₀) @ [M_0 M_1 M_2] (H₀, 3H₁) — no (n,3,H₀) intermediate.
    weight0: W₀ (H₀,3); slope0: a'(y₀) (n,H₀); weight1_t: W₁ᵀ (H₀,H₁).
    """
    m = (weight0.T[:, :, None] * weight1_t[None]).permute(1, 0, 2).reshape(weight1_t.shape[0], -1)
    return (slope0 @ m).view(slope0.shape[0], 3, weight1_t.shape[1])


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
        """Input / output scales: ``strain_scale`` (3,) [-], ``stress_scale`` (3,) [Pa]."""
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
                 strain_scale: Any = None, stress_scale: Any = None, linear_part: bool = False) -> None:
        super().__init__(strain_scale, stress_scale)
        _act(activation, torch.zeros(1))
        self.hidden, self.activation = [int(h) for h in hidden], activation
        self.linear_part = bool(linear_part)
        sizes = [3, *self.hidden, 3]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        if self.linear_part:
            #: A (3,3), scaled small-strain stiffness: σ ≈ s_σ ⊙ (A x) as ε → 0
            self.linear = nn.Parameter(torch.eye(3))

    @property
    def config(self) -> dict[str, Any]:
        """Architecture record saved in checkpoints: arch, hidden widths, activation, linear part."""
        cfg = {"arch": self.arch, "hidden": list(self.hidden), "activation": self.activation}
        if self.linear_part:
            cfg["linear_part"] = True
        return cfg

    def set_small_strain_stiffness(self, c0: Tensor) -> None:
        """Set the explicit linear part from a stiffness C₀ (3,3) [Pa] (needs ``linear_part``)."""
        if not self.linear_part:
            raise ValueError("this MLP has no explicit linear part (linear_part=False)")
        with torch.no_grad():
            c0 = torch.as_tensor(c0, dtype=self.linear.dtype, device=self.linear.device)
            ss, se = self.stress_scale.to(c0), self.strain_scale.to(c0)
            self.linear.copy_(c0 * se[None, :] / ss[:, None])

    def _g(self, x: Tensor) -> Tensor:
        for layer in self.layers[:-1]:
            x = _act(self.activation, layer(x))[0]
        return self.layers[-1](x)

    def forward(self, strain: Tensor) -> Tensor:
        """σ (N,3) [Pa]; differentiable in the parameters (training)."""
        if self.linear_part:
            return self.stress_and_tangent(strain, need_tangent=False)[0]
        y = self._g(self._with_origin(strain / self.strain_scale))
        return (y[:-1] - y[-1]) * self.stress_scale

    def stress_and_tangent(self, strain: Tensor, need_tangent: bool = True) -> tuple[Tensor, Tensor]:
        """Stress (N,3) [Pa] and autograd-free tangent dσ/dε (N,3,3) [Pa] of strains (N,3)
        (``need_tangent`` False: the tangent is skipped where the model allows it)."""
        x = self._with_origin(strain / self.strain_scale)
        if self.linear_part and not need_tangent:
            # J_g(0) only: forward mode on the origin row alone
            y = self._g(x)
            j0 = self._jac_at(x[-1:])[0]
            lin = self.linear - j0
            return (y[:-1] - y[-1] + x[:-1] @ lin.T) * self.stress_scale, x.new_zeros(0)
        first, n = self.layers[0], x.shape[0]
        h, d = _act(self.activation, torch.addmm(first.bias, x, first.weight.T))
        dh = None  # ∂h/∂x_k (n, 3, H) in row k; behind the first layer it is W₀ᵀ diag(d), implicit
        for layer in self.layers[1:]:
            W = layer.weight.T
            if dh is None:
                dpre = _first_layer_tangents(first.weight, d, W)
            else:
                dpre = ((dh * d[:, None, :]).view(-1, W.shape[0]) @ W).view(n, 3, -1)
            if layer is self.layers[-1]:
                break
            h, d = _act(self.activation, torch.addmm(layer.bias, h, W))
            dh = dpre
        last = self.layers[-1]
        y = torch.addmm(last.bias, h, last.weight.T)
        jac_all = dpre.transpose(1, 2)  # (N+1, 3, 3): ∂y_i/∂x_k
        jac = jac_all[:-1]
        stress = y[:-1] - y[-1]
        if self.linear_part:
            lin = self.linear - jac_all[-1]  # A − J_g(0)
            stress = stress + x[:-1] @ lin.T
            jac = jac + lin
        stress = stress * self.stress_scale
        tangent = jac * (self.stress_scale[:, None] / self.strain_scale[None, :])
        return stress, tangent

    def _jac_at(self, x: Tensor) -> Tensor:
        """∂g/∂x (n,3,3) by forward mode."""
        first = self.layers[0]
        h, d = _act(self.activation, torch.addmm(first.bias, x, first.weight.T))
        dh = first.weight.T[None] * d[:, None, :]
        for layer in self.layers[1:-1]:
            W = layer.weight.T
            h, d = _act(self.activation, torch.addmm(layer.bias, h, W))
            dh = (dh.reshape(-1, W.shape[0]) @ W).reshape(x.shape[0], 3, -1) * d[:, None, :]
        return (dh @ self.layers[-1].weight.T).transpose(1, 2)


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
        """Architecture record saved in checkpoints: arch, hidden widths, quadratic term, c0 floor."""
        return {"arch": self.arch, "hidden": list(self.hidden), "quadratic": self.quadratic,
                "c0_floor": self.c0_floor}

    def c0_hat(self) -> Tensor:
        """Ĉ₀ = L Lᵀ + δ I (3,3) in scaled units."""
        eye = torch.eye(3, dtype=self.out_raw.dtype, device=self.out_raw.device)
        if self.quadratic == "learnable":
            L = torch.tril(self.chol)
            return L @ L.T + self.c0_floor * eye
        return self.c0_floor * eye

    def set_small_strain_stiffness(self, c0: Tensor, network_share: float = 0.1) -> None:
        """Initialise the quadratic term so that the tangent at ε = 0 equals C₀ (3,3) [Pa].

        The network's own curvature at 0, H₀ = ∇²ψ̂(0), is first scaled down (u ← t u, ψ̂ is
        linear in u) to at most ``network_share`` of Ĉ's smallest eigenvalue, then
        L Lᵀ = Ĉ − δI − t H₀ with Ĉ = C₀ ⊙ (s_ε s_εᵀ) / c. Needs ``quadratic = "learnable"``
        and a symmetric positive-definite C₀ (else ValueError); training refines both.
        """
        if self.quadratic != "learnable":
            raise ValueError("the quadratic term is fixed (quadratic='fixed')")
        with torch.no_grad():
            dt = self.out_raw.dtype
            c0 = torch.as_tensor(c0, dtype=dt, device=self.out_raw.device)
            c0 = 0.5 * (c0 + c0.T)
            se = self.strain_scale.to(c0)
            c_hat = c0 * (se[:, None] * se[None, :]) / self.energy_scale.to(c0)
            lam = torch.linalg.eigvalsh(c_hat)
            if not bool(lam[0] > 2 * self.c0_floor):
                raise ValueError(f"C0 is not positive definite enough (scaled eigenvalues {lam.tolist()})")
            h0 = self._grad_hess(c0.new_zeros(1, 3))[1][0]
            h_max = float(torch.linalg.eigvalsh(h0)[-1])
            t = min(1.0, network_share * float(lam[0]) / max(h_max, 1e-30))
            u = nn.functional.softplus(self.out_raw) * t
            self.out_raw.copy_(_softplus_inv(u))
            target = c_hat - self.c0_floor * torch.eye(3, dtype=dt, device=c0.device) - t * h0
            self.chol.copy_(torch.linalg.cholesky(target))

    def _grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Network value ψ̂_net = uᵀz_L (n,) and gradient (n,3) by forward mode."""
        z = dz = None
        for k, lin in enumerate(self.x_layers):
            if k == 0:
                y, dy = lin(x), lin.weight.T[None]
            else:
                U = nn.functional.softplus(self.z_raw[k - 1])
                t = torch.cat([z[:, None, :], dz], 1) @ U.T  # value + 3 tangents, one matmul
                y, dy = t[:, 0] + lin(x), t[:, 1:] + lin.weight.T[None]
            z, dz = nn.functional.softplus(y), dy * torch.sigmoid(y)[:, None, :]
        u = nn.functional.softplus(self.out_raw)
        return z @ u, dz @ u

    def _grad_hess(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Gradient (n,3) and Hessian (n,3,3) of the network part ψ̂ = uᵀ z_L at scaled strains x (n,3).

        With y_k the pre-activations, s_k = a'(y_k) = sigmoid(y_k) and J_k = ∂y_k/∂x (n,3,H_k):

        * forward:  y_0 = W_0 x + b_0, J_0 = W_0ᵀ (constant);
          y_k = U_k z_{k-1} + W_k x + b_k,  J_k = J_{k-1} diag(s_{k-1}) U_kᵀ + W_kᵀ
          (J_1 = s_0 @ [diag(W_0[:,i]) U_1ᵀ]_i + W_1ᵀ in one product, see
          :func:`_first_layer_tangents`); z_L itself is never needed;
        * reverse:  δ_L = u, g_k = δ_k ⊙ s_k = ∂ψ̂/∂y_k,  δ_{k-1} = g_k U_k;
          ∇ψ̂ = Σ_k g_k W_k;
        * curvature only comes from the activations (a'' = s (1 − s)):
          ∇²ψ̂ = Σ_k J_k diag(δ_k ⊙ s_k (1 − s_k)) J_kᵀ, the k = 0 term as
          c_0 @ [W_0[:,i] W_0[:,j]]_{ij} (one (n,H_0) × (H_0,9) product), the others batched.
        """
        n, lins = x.shape[0], self.x_layers
        w0 = lins[0].weight
        y = torch.addmm(lins[0].bias, x, w0.T)
        s = torch.sigmoid(y)
        slopes, jacs = [s], [None]
        for k in range(1, len(lins)):
            u_t = nn.functional.softplus(self.z_raw[k - 1]).T  # U_kᵀ (H_{k-1}, H_k)
            w_t = lins[k].weight.T  # W_kᵀ (3, H_k)
            if k == 1:
                jac = _first_layer_tangents(w0, s, u_t).add_(w_t[None])
            else:
                jac = ((jac * s[:, None, :]).view(-1, u_t.shape[0]) @ u_t).view(n, 3, -1).add_(w_t[None])
            y = torch.addmm(lins[k].bias, nn.functional.softplus(y), u_t).addmm_(x, w_t)
            s = torch.sigmoid(y)
            slopes.append(s)
            jacs.append(jac)
        delta = nn.functional.softplus(self.out_raw).expand(n, -1)
        grad = hess = None
        for k in range(len(lins) - 1, -1, -1):
            s = slopes[k]
            # δ_k ⊙ s_k (1 − s_k): one fused pass (it has no derivative: autograd gets the product)
            c = delta * s * (1 - s) if torch.is_grad_enabled() and s.requires_grad else \
                torch.ops.aten.sigmoid_backward(delta, s)
            g = delta * s
            if k == 0:
                pairs = (w0.T[:, None, :] * w0.T[None, :, :]).reshape(9, -1)
                term = (c @ pairs.T).view(n, 3, 3)
            else:
                term = torch.bmm(jacs[k] * c[:, None, :], jacs[k].transpose(1, 2))
                delta = g @ nn.functional.softplus(self.z_raw[k - 1])
            grad_k = g @ lins[k].weight
            hess = term if hess is None else hess.add_(term)
            grad = grad_k if grad is None else grad.add_(grad_k)
        return grad, hess

    def potential(self, strain: Tensor) -> Tensor:
        """Ψ(ε) (N,) [Pa] up to a constant; σ = ∂Ψ/∂ε (used by the torch.func reference)."""
        x = strain / self.strain_scale
        g0 = self._grad(x.new_zeros(1, 3))[1]
        c0 = self.c0_hat().to(x.dtype)
        psi = self._grad(x)[0] + 0.5 * ((x @ c0) * x).sum(1) - (x * g0).sum(1)
        return self.energy_scale * psi

    def forward(self, strain: Tensor) -> Tensor:
        """σ (N,3) [Pa]; differentiable in the parameters (training)."""
        x = strain / self.strain_scale
        g = self._grad(self._with_origin(x))[1]
        grad = g[:-1] - g[-1] + x @ self.c0_hat()
        return grad * (self.energy_scale / self.strain_scale)

    def stress_and_tangent(self, strain: Tensor) -> tuple[Tensor, Tensor]:
        """σ = ∂ψ/∂ε (N,3) [Pa] and C = ∂²ψ/∂ε² (N,3,3) [Pa] of the convex potential at strains (N,3)."""
        x = strain / self.strain_scale
        g, h = self._grad_hess(self._with_origin(x))
        c0 = self.c0_hat()
        stress = (g[:-1] - g[-1] + x @ c0) * (self.energy_scale / self.strain_scale)
        hess = h[:-1] + c0
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
