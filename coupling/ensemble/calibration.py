"""Inverse calibration through a surrogate, confirmed by the physics solver.

Method: **random-walk Metropolis MCMC** on the free parameters in the unit cube u ∈ [0, 1]^d
(:class:`coupling.ensemble.design.Parameter` maps u to x), prior uniform in u (uniform in x,
or log-uniform for ``:log`` parameters) over the ``--free`` ranges. Likelihood of the
observations y_k = VALUE_k ± SIGMA_k, with the surrogate's mean f_k(x) and ensemble spread
s_k(x):

    log L(x) = −½ Σ_k (f_k(x) − y_k)² / (σ_k² + s_k(x)²) − ½ Σ_k log(σ_k² + s_k(x)²)

(the surrogate's own uncertainty widens the likelihood). C chains start at the best C of a prior sample (2000 points or 100 per chain), one
Gaussian proposal step for all chains is adapted during burn-in towards an acceptance rate of ~0.3 and
then frozen; the posterior is the pooled post-burn-in states. The solver then runs at the
posterior mean and at a few posterior samples (an ensemble with explicit points, so on the
same mpi4py.futures workers), and the report puts observed, surrogate and solver values side
by side.

The report also says whether the fit means anything (:func:`consistency`): each observation's
posterior-predictive score z (an observation the model does not reach over the free ranges,
|z| > 3, makes the posterior a statement about which corner of the ranges comes closest, not
an estimate), and each parameter's posterior variance against its prior's (a parameter the
observations cannot move keeps the prior's spread).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from coupling.ensemble.design import Parameter
from coupling.errors import CaseError

OBSERVE_ALLOWED = "NAME=VALUE±SIGMA (or NAME=VALUE+-SIGMA) with SIGMA > 0, NAME an output of the surrogate"
_OBS = re.compile(r"^(?P<name>[^=]+)=(?P<value>[^±+]+?)(?:±|\+-|\+/-)(?P<sigma>.+)$")


@dataclass(frozen=True)
class Observation:
    """One observed result: output ``name`` = ``value`` ± ``sigma`` (one standard deviation)."""

    name: str
    value: float
    sigma: float


def parse_observe(text: str) -> Observation:
    """``NAME=VALUE±SIGMA`` → :class:`Observation` (one-line error when malformed)."""
    m = _OBS.match(text.strip())
    try:
        obs = Observation(m.group("name").strip(), float(m.group("value")), float(m.group("sigma")))
    except (AttributeError, ValueError):
        raise CaseError("--observe", None, f"found {text!r}", OBSERVE_ALLOWED) from None
    if not (np.isfinite(obs.value) and np.isfinite(obs.sigma) and obs.sigma > 0):
        raise CaseError("--observe", None, f"found {text!r}", OBSERVE_ALLOWED)
    return obs


def log_likelihood(net, params: Sequence[Parameter], obs: Sequence[Observation], u: np.ndarray) -> np.ndarray:
    """log L at unit-cube points u (C, d) (see the module doc); −inf outside the cube."""
    x = np.stack([p.from_unit(u[:, j]) for j, p in enumerate(params)], axis=1)
    mean, spread = net.predict(x)
    names = net.output_names
    cols = [names.index(o.name) for o in obs]
    y = np.array([o.value for o in obs])
    var = np.array([o.sigma for o in obs]) ** 2 + spread[:, cols] ** 2
    ll = -0.5 * np.sum((mean[:, cols] - y) ** 2 / var + np.log(var), axis=1)
    inside = np.all((u >= 0) & (u <= 1), axis=1)
    return np.where(inside, ll, -np.inf)


def metropolis(net, params: Sequence[Parameter], obs: Sequence[Observation], *, chains: int = 16,
               steps: int = 3000, burn_in: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Random-walk Metropolis (see the module doc). Returns samples (S, d) in the parameters'
    units, the acceptance rate after burn-in and the final step size (unit-cube units)."""
    rng = np.random.default_rng(seed)
    d = len(params)
    # starts: the best `chains` of a prior sample (a sharp likelihood leaves a chain started far
    # from the mode stuck: seen with per-chain steps, chains at a prior bound moved a mean 18 % off)
    pool = rng.random((max(2000, 100 * chains), d))
    ll_pool = log_likelihood(net, params, obs, pool)
    best = np.argsort(ll_pool)[::-1][:chains]
    u, ll = pool[best], ll_pool[best]
    step = 0.1  # one step for all chains (unit-cube units), adapted during burn-in
    kept, accepted, window = [], 0, 0
    for it in range(steps):
        prop = u + step * rng.standard_normal((chains, d))
        llp = log_likelihood(net, params, obs, prop)
        accept = np.log(rng.random(chains)) < llp - ll
        u = np.where(accept[:, None], prop, u)
        ll = np.where(accept, llp, ll)
        if it < burn_in:
            window += int(accept.sum())
            if (it + 1) % 25 == 0:  # adapt towards acceptance ~0.3
                rate = window / (25 * chains)
                step = float(np.clip(step * np.exp(2.0 * (rate - 0.3)), 1e-7, 1.0))
                window = 0
        else:
            accepted += int(accept.sum())
            kept.append(u.copy())
    samples_u = np.concatenate(kept) if kept else u
    samples = np.stack([p.from_unit(samples_u[:, j]) for j, p in enumerate(params)], axis=1)
    return {"samples": samples, "acceptance": accepted / max(1, chains * (steps - burn_in)),
            "step": float(step), "chains": chains, "steps": steps, "burn_in": burn_in}


#: an observation the model does not reach: its posterior-predictive score |z| exceeds this
CONFLICT_Z = 3.0

#: a parameter the observations leave where the prior had it: posterior variance above this
#: fraction of the prior's (both in the unit cube)
UNCONSTRAINED_RATIO = 0.8


def consistency(net, params: Sequence[Parameter], obs: Sequence[Observation], samples: np.ndarray, *,
                n_prior: int = 4000, n_post: int = 4000, seed: int = 0) -> dict[str, Any]:
    """Can the model reach the observations, and what do they constrain? (a posterior-predictive
    check and the posterior's contraction; Gelman et al., Bayesian Data Analysis, ch. 6)

    Per observation y ± σ: the surrogate's mean output f over the prior (5 / 50 / 95 % at
    ``n_prior`` prior draws) and over the posterior (mean m, standard deviation sd, at up to
    ``n_post`` posterior samples; s the surrogate's mean ensemble spread there), and the
    posterior-predictive score

        z = (m − y) / √(σ² + sd² + s²).

    |z| > :data:`CONFLICT_Z`: over the free ranges the model does not come within reach of the
    observation; the posterior then only says which corner of the ranges comes closest, and
    is no estimate of the parameters.

    Per parameter: the posterior variance of u (the unit-cube coordinate, in which the prior
    is uniform, variance 1/12) relative to the prior's, r = 12·var(u); 1 − r is the
    contraction. r > :data:`UNCONSTRAINED_RATIO`: the observations leave the parameter about
    where the prior had it (the outputs do not depend on it enough, against σ, to say more)."""
    rng = np.random.default_rng(seed)
    d = len(params)
    prior_x = np.stack([p.from_unit(u) for p, u in zip(params, rng.random((d, n_prior)))], axis=1)
    post_x = samples[rng.choice(len(samples), size=min(n_post, len(samples)), replace=False)]
    prior_f, _ = net.predict(prior_x)
    post_f, post_s = net.predict(post_x)
    names = net.output_names
    rows = []
    for o in obs:
        k = names.index(o.name)
        q = np.quantile(prior_f[:, k], [0.05, 0.5, 0.95])
        m, sd, s = float(post_f[:, k].mean()), float(post_f[:, k].std()), float(post_s[:, k].mean())
        z = (m - o.value) / float(np.sqrt(o.sigma**2 + sd**2 + s**2))
        rows.append({"name": o.name, "observed": o.value, "sigma": o.sigma,
                     "prior_q05": float(q[0]), "prior_median": float(q[1]), "prior_q95": float(q[2]),
                     "posterior_mean": m, "posterior_std": sd, "surrogate_spread": s, "z": z,
                     "reached": bool(abs(z) <= CONFLICT_Z)})
    contraction = {}
    for j, p in enumerate(params):
        r = float(12.0 * np.var(p.to_unit(samples[:, j])))
        contraction[p.key] = {"variance_ratio": r, "contraction": 1.0 - r, "constrained": bool(r <= UNCONSTRAINED_RATIO)}
    return {"conflict_z": CONFLICT_Z, "unconstrained_ratio": UNCONSTRAINED_RATIO, "observations": rows,
            "parameters": contraction}


def consistency_lines(check: dict[str, Any]) -> list[str]:
    """One line for each observation the model does not reach and each parameter the
    observations leave unconstrained (the findings of :func:`consistency`)."""
    lines = []
    for r in check["observations"]:
        if not r["reached"]:
            lines.append(f"{r['name']}: not reached: observed {r['observed']:.4g} ± {r['sigma']:.2g}; the model gives "
                         f"{r['prior_q05']:.4g} .. {r['prior_q95']:.4g} over the prior (5-95 %), "
                         f"{r['posterior_mean']:.4g} ± {r['posterior_std']:.2g} over the posterior (z = {r['z']:+.1f})")
    for key, c in check["parameters"].items():
        if not c["constrained"]:
            lines.append(f"{key}: not constrained by the observations (posterior variance {100 * c['variance_ratio']:.0f} % "
                         "of the prior's)")
    return lines


def summarise(samples: np.ndarray, params: Sequence[Parameter]) -> dict[str, dict[str, float]]:
    """Per parameter: posterior mean, standard deviation and the 5/50/95 % quantiles."""
    out = {}
    for j, p in enumerate(params):
        s = samples[:, j]
        q = np.quantile(s, [0.05, 0.5, 0.95])
        out[p.key] = {"mean": float(s.mean()), "std": float(s.std()), "q05": float(q[0]), "median": float(q[1]),
                      "q95": float(q[2]), "prior_lo": p.lo, "prior_hi": p.hi, "log": p.log}
    return out


def plot(path, params: Sequence[Parameter], samples: np.ndarray, rows: list[dict[str, Any]]) -> None:
    """calibration.png: the posterior marginals, and observed / surrogate / solver per observation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(params) + len(rows)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.2), squeeze=False)
    for j, p in enumerate(params):
        ax = axes[0, j]
        ax.hist(samples[:, j], bins=40, color="tab:blue", alpha=0.8, density=True)
        ax.set_xlim(p.lo, p.hi)
        ax.set_xlabel(p.label)
        ax.set_ylabel("posterior density [1 / parameter unit]")
        ax.set_title("posterior")
    for k, row in enumerate(rows):
        ax = axes[0, len(params) + k]
        ax.errorbar([0], [row["observed"]], yerr=[row["sigma"]], fmt="o", color="k", label="observed ± σ")
        ax.errorbar([1], [row["surrogate"]], yerr=[row["surrogate_spread"]], fmt="s", color="tab:blue",
                    label="surrogate (posterior mean)")
        if row.get("solver") is not None:
            ax.plot([2], [row["solver"]], "D", color="tab:red", label="solver (posterior mean)")
        samples_solver = [v for v in row.get("solver_samples", []) if v is not None]
        if samples_solver:
            ax.plot([2] * len(samples_solver), samples_solver, ".", color="tab:orange", label="solver (samples)")
        ax.set_xticks([0, 1, 2], ["observed", "surrogate", "solver"])
        unit = row.get("unit") or ""
        ax.set_ylabel(f"{row['name']} [{unit}]" if unit else f"{row['name']} (SI, as in summary.json)")
        ax.set_title(row["name"])
        ax.legend(fontsize=7)
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)


def _save_figure(fig, path) -> None:
    """``fig`` to ``path`` atomically (a temporary file, then a rename: an interrupted command
    leaves no half-written image), in the format of its suffix (PNG without one)."""
    from learned.files import atomic_write

    fmt = Path(path).suffix.lstrip(".") or "png"
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, dpi=110, format=fmt))


def _log_ticks(lo: float, hi: float) -> np.ndarray:
    """At most four tick values for a log axis over [lo, hi]: 1, 2, 5 × 10^k (or the decades alone
    when the range spans more than two decades), else lo, √(lo·hi), hi."""
    k = np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
    steps = (1.0,) if np.log10(hi / lo) > 2 else (1.0, 2.0, 5.0)
    ticks = np.array([m * 10.0**e for e in k for m in steps])
    ticks = ticks[(ticks >= lo * (1 - 1e-9)) & (ticks <= hi * (1 + 1e-9))]
    if ticks.size > 4:
        ticks = ticks[:: int(np.ceil(ticks.size / 4))]
    return ticks if ticks.size >= 2 else np.array([lo, np.sqrt(lo * hi), hi])


def _log_axis(axis, ticks: np.ndarray) -> None:
    """A log axis with the given ticks labelled in one style (``%.3g``: 3e+04, 0.001)
    and no minor-tick labels: matplotlib labels minor ticks of a range under one decade in a
    larger font than the decade, and they overlap."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    if axis.axis_name == "x":
        axis.axes.set_xscale("log")
    else:
        axis.axes.set_yscale("log")
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.3g}"))
    axis.set_minor_formatter(NullFormatter())


def corner(path, params: Sequence[Parameter], samples: np.ndarray, truth: Sequence[float] | None = None) -> None:
    """corner.png: the posterior's marginal histograms on the diagonal and the pairwise joint
    densities (2D histograms) below it, each axis over the parameter's prior range; the
    posterior mean marked (+). ``samples`` (S, d) in the parameters' units; log parameters on
    log axes. ``truth`` (d,): values to mark (e.g. a synthetic truth), optional."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = len(params)
    fig, axes = plt.subplots(d, d, figsize=(2.4 * d + 0.6, 2.4 * d + 0.6), squeeze=False)
    mean = samples.mean(axis=0)

    def edges(p: Parameter) -> np.ndarray:
        return np.geomspace(p.lo, p.hi, 31) if p.log else np.linspace(p.lo, p.hi, 31)

    for i, pi in enumerate(params):
        for j, pj in enumerate(params):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(samples[:, i], bins=edges(pi), color="tab:blue", alpha=0.8)
                ax.axvline(mean[i], color="k", lw=0.8)
                if truth is not None:
                    ax.axvline(truth[i], color="tab:red", lw=0.8)
                ax.set_yticks([])
            else:
                ax.hist2d(samples[:, j], samples[:, i], bins=[edges(pj), edges(pi)], cmap="Blues")
                ax.plot(mean[j], mean[i], "k+", ms=8)
                if truth is not None:
                    ax.plot(truth[j], truth[i], "x", color="tab:red", ms=6)
                ax.set_ylim(pi.lo, pi.hi)
                if pi.log:
                    _log_axis(ax.yaxis, _log_ticks(pi.lo, pi.hi))
            ax.set_xlim(pj.lo, pj.hi)
            if pj.log:
                _log_axis(ax.xaxis, _log_ticks(pj.lo, pj.hi))
            if i == d - 1:
                ax.set_xlabel(pj.label, fontsize=8)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(pi.label, fontsize=8)
            elif i != j:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=7)
    fig.suptitle(f"posterior ({len(samples)} MCMC states; + mean)", fontsize=9)
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)
