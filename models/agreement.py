r"""One verdict on prior–data agreement: Box's check for disagreement, power-scaling for strength.

Two diagnostics answer two different questions, and reading either as the other misleads:

* **Do prior and data disagree?** Box's prior-predictive check (:mod:`models.prior_conflict`): are
  the events observed in this cohort's exposure surprising under the prior's prediction? Two-sided
  :math:`p < 0.05` is disagreement. It is computed for the whole prior and for the informative
  sources alone (before robustification, on the intervals they inform).
* **How much does the prior move the answer?** Power-scaling prior sensitivity
  (:mod:`models.power_scaling`): a value :math:`\ge 0.05` says the posterior of the quantity changes
  when the prior is slightly strengthened or weakened — the prior is *strong relative to these
  data*. In a small cohort the likelihood is weak as well, so priorsense's label "potential
  prior-data conflict" (both sensitivities above 0.05) appears whenever the prior matters and is not
  evidence of disagreement; the toolkit does not use it as a verdict.

The rule, per quantity (a quantity depends on the transitions of :data:`QUANTITY_TRANSITIONS`; the
smallest p over them is used):

1. whole-prior Box :math:`p < 0.05` → **prior and data disagree**;
2. else sources' Box :math:`p < 0.05` → **the sources disagree with the data; the robust component
   takes over** (the robust mixture is doing its job: say so, and report the posterior weight);
3. else prior sensitivity :math:`\ge 0.05` → **the prior is strong relative to these data** (no
   disagreement: the prior and the data tell a compatible story, and the prior carries much of it);
4. else → **the data dominate**.

References
----------
Box GEP. J R Stat Soc A 1980;143:383–430. Evans M, Moshonov H. Bayesian Anal 2006;1:893–914.
Kallioinen N, Paananen T, Bürkner P-C, Vehtari A. Stat Comput 2023;34:57.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models.power_scaling import SENSITIVITY_THRESHOLD
from models.prior_conflict import CONFLICT_ALPHA

#: Transitions whose prior-predictive check bears on a quantity (its own causes; the competing
#: cause of an incidence moves it much less than its own).
QUANTITY_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "relapse_cif": ("relapse",),
    "nrm_cif": ("nrm",),
    "efs": ("relapse", "nrm"),
    "os": ("relapse", "nrm", "death_after_relapse"),
    "grfs": ("relapse", "nrm", "gvhd"),
}

DISAGREE = "prior and data disagree"
SOURCES_OVERRULED = "the sources disagree with the data; the robust component takes over"
STRONG = "the prior is strong relative to these data"
DATA = "the data dominate"
#: The four verdicts, in the order of the rule.
VERDICTS: tuple[str, ...] = (DISAGREE, SOURCES_OVERRULED, STRONG, DATA)


def verdict(box_p: float, sources_p: float, prior_sensitivity: float) -> str:
    """The rule of the module docstring for one quantity (NaN p-values and sensitivities count as absent)."""
    if math.isfinite(box_p) and box_p < CONFLICT_ALPHA:
        return DISAGREE
    if math.isfinite(sources_p) and sources_p < CONFLICT_ALPHA:
        return SOURCES_OVERRULED
    if math.isfinite(prior_sensitivity) and prior_sensitivity >= SENSITIVITY_THRESHOLD:
        return STRONG
    return DATA


def _base_quantity(name: str) -> str:
    return str(name).split("@")[0]


def agreement_table(conflict: pd.DataFrame, power: pd.DataFrame) -> pd.DataFrame:
    """The verdict for every quantity of a power-scaling table, with the p-values it rests on.

    Parameters
    ----------
    conflict
        :func:`models.prior_conflict.conflict_table` (or its median over tables): one row per
        transition with ``p_value`` and ``sources_p_value``.
    power
        Power-scaling table (:mod:`models.power_scaling`): ``quantity`` (e.g. ``relapse_cif@365``),
        ``prior_sensitivity``, ``likelihood_sensitivity``.

    Returns
    -------
    pandas.DataFrame
        quantity, transitions, box_p, sources_p (smallest over the transitions), prior_sensitivity,
        likelihood_sensitivity, verdict.
    """
    c = conflict.set_index("transition")
    rows = []
    for _, r in power.iterrows():
        q = str(r["quantity"])
        trans = QUANTITY_TRANSITIONS.get(_base_quantity(q), ())
        sub = c.loc[[t for t in trans if t in c.index]]
        box = float(sub["p_value"].min()) if len(sub) else float("nan")
        src = (
            float(np.nanmin(sub["sources_p_value"].to_numpy(float)))
            if "sources_p_value" in sub and sub["sources_p_value"].notna().any()
            else float("nan")
        )
        ps = float(r.get("prior_sensitivity", float("nan")))
        rows.append(
            {
                "quantity": q,
                "transitions": ", ".join(trans),
                "box_p": box,
                "sources_p": src,
                "prior_sensitivity": ps,
                "likelihood_sensitivity": float(r.get("likelihood_sensitivity", float("nan"))),
                "verdict": verdict(box, src, ps),
            }
        )
    return pd.DataFrame(rows)


def sentence(row: pd.Series | dict) -> str:
    """The verdict of one quantity in words, with its numbers."""
    src = row["sources_p"]
    src_txt = f", sources alone p = {src:.2f}" if isinstance(src, float) and math.isfinite(src) else ""
    return (
        f"{row['quantity']}: {row['verdict']} (Box's p = {row['box_p']:.2f}{src_txt}; "
        f"power-scaling prior sensitivity {row['prior_sensitivity']:.3f})"
    )
