r"""Posterior checks the report needs beyond the fit's own tables.

Two checks:

* **Posterior predictive event counts.** Given a posterior draw of the hazard
  :math:`\lambda_{kj}` and the exposure :math:`E_{mkj}` of table :math:`m`, the replicated number of
  events is :math:`\tilde D \sim \text{Poisson}(\lambda_{kj} E_{mkj})`. The check compares the
  observed :math:`D_{mkj}` with that distribution, pooled over draws and tables: the mid-p
  posterior predictive p-value :math:`p = P(\tilde D > D) + \tfrac12 P(\tilde D = D)`, computed
  exactly from the Poisson pmf per draw rather than by simulating :math:`\tilde D`. Values near 0
  or 1 mean the model predicts too many or too few events for that interval. With events counted
  on the same exposure that fitted the model, the check is conservative (the data were used
  twice; Gelman, Meng & Stern 1996).
* **MCMC diagnostics of derived values.** BARG item 2.B/2.C asks for R-hat and ESS of every derived
  value, not only of the parameters: the landmark incidences and survivals are recomputed per
  chain and draw from the hazards, and :func:`arviz.rhat` / :func:`arviz.ess` are applied to them.

References
----------
Gelman A, Meng XL, Stern H. Posterior predictive assessment of model fitness via realized
discrepancies. Statistica Sinica 1996;6:733-807.
Kruschke JK. Bayesian Analysis Reporting Guidelines. Nat Hum Behav 2021;5:1282-1291.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import arviz as az  # InferenceData groups (posterior, ...) are attributes its types do not declare: ignores below
import numpy as np
import pandas as pd
from scipy import stats

from models.derived import conditional_curves, curves
from models.intervals import TRANSITIONS
from models.posterior_io import posterior_attrs
from models.pwe import hazard_var, interval_dim


def posterior_predictive_counts(idata: az.InferenceData, exposure: pd.DataFrame) -> pd.DataFrame:
    """Observed events against their posterior predictive distribution, per transition and interval.

    Parameters
    ----------
    idata : InferenceData
        A fit of :class:`models.pwe.Model` (``table`` dimension, hazards per day).
    exposure : DataFrame
        ``exposure.csv`` of the same fit: table, transition, interval, events, exposure_days.

    Returns
    -------
    DataFrame
        transition, interval, observed (mean over tables), predicted_mean, predicted_lower,
        predicted_upper (95% interval of the pooled predictive), p_value (mid-p, see module).
    """
    post = idata.posterior  # type: ignore[attr-defined]
    rows = []
    for k in TRANSITIONS:
        lam = post[hazard_var(k)].transpose("table", "chain", "draw", interval_dim(k))
        labels = [str(x) for x in lam[interval_dim(k)].to_numpy()]
        arr = lam.to_numpy().reshape(lam.shape[0], -1, lam.shape[-1])  # (table, draws, J)
        sub = exposure[exposure["transition"] == k]
        for j, lab in enumerate(labels):
            cell = sub[sub["interval"].astype(str) == lab].set_index("table")
            if cell.empty:
                continue
            obs = cell["events"].reindex(range(arr.shape[0])).to_numpy(float)
            expo = cell["exposure_days"].reindex(range(arr.shape[0])).to_numpy(float)
            mu = arr[:, :, j] * expo[:, None]  # (table, draws)
            d = obs[:, None]
            p = stats.poisson.sf(d, mu) + 0.5 * stats.poisson.pmf(d, mu)
            # pooled predictive quantiles: mixture of Poissons over draws and tables
            grid = np.arange(0, int(max(10, np.nanmax(obs) + 10 * np.sqrt(np.nanmax(mu) + 1) + np.nanmax(mu))) + 1)
            cdf = stats.poisson.cdf(grid[:, None, None], mu[None]).mean(axis=(1, 2))
            lo = int(grid[np.searchsorted(cdf, 0.025)])
            hi = int(grid[min(int(np.searchsorted(cdf, 0.975)), grid.size - 1)])
            rows.append(
                {
                    "transition": k,
                    "interval": lab,
                    "observed": float(np.nanmean(obs)),
                    "exposure_days": float(np.nanmean(expo)),
                    "predicted_mean": float(np.nanmean(mu)),
                    "predicted_lower": lo,
                    "predicted_upper": hi,
                    "p_value": float(np.nanmean(p)),
                }
            )
    return pd.DataFrame(rows)


def landmark_diagnostics(
    idata: az.InferenceData,
    *,
    day: int = 365,
    landmark: int | None = None,
    quantities: Sequence[str] = ("relapse_cif", "nrm_cif", "efs", "os", "grfs"),
) -> pd.DataFrame:
    """R-hat and bulk/tail ESS of derived landmark values, per table.

    Parameters
    ----------
    idata : InferenceData
        A fit with ``cuts`` and ``relapse_death_cuts`` attributes (as written by ``scripts/fit.py``).
    day : int
        Landmark day from transplant.
    landmark : int, optional
        Also the values conditional on alive in remission at this day (default: the fit's
        ``landmark_day`` attribute when present).

    Returns
    -------
    DataFrame
        quantity, scale, table, r_hat, ess_bulk, ess_tail.
    """
    post = idata.posterior  # type: ignore[attr-defined]
    attrs = posterior_attrs(idata)
    cuts = np.asarray(attrs["cuts"], dtype=float)
    rcuts = np.asarray(attrs["relapse_death_cuts"], dtype=float)
    if landmark is None and "landmark_day" in post.attrs:
        landmark = int(post.attrs["landmark_day"])
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    rows = []
    for t in range(post.sizes["table"]):
        hz = {
            k: post[hazard_var(k)]
            .isel(table=t)
            .transpose("chain", "draw", ...)
            .to_numpy()
            .reshape(n_chain * n_draw, -1)
            for k in TRANSITIONS
        }
        cv = curves(hz, cuts, rcuts, horizon=day)
        scales = {"from_transplant": cv}
        if landmark is not None and landmark < day:
            scales["conditional"] = conditional_curves(cv, landmark)
        for scale, c in scales.items():
            for q in quantities:
                x = c.get(q)[:, day].reshape(n_chain, n_draw)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rows.append(
                        {
                            "quantity": q,
                            "scale": scale,
                            "table": t,
                            "r_hat": float(az.rhat(x)),
                            "ess_bulk": float(az.ess(x, method="bulk")),
                            "ess_tail": float(az.ess(x, method="tail")),
                        }
                    )
    return pd.DataFrame(rows)
