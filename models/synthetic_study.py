"""A synthetic study published the way a paper would be, to test reconstruction end to end.

:func:`simulate_outcomes` draws individual patient data (entry into maintenance, relapse and
non-relapse death competing, death after relapse, administrative censoring at a study cut-off);
:func:`publish` writes what a letter would print — rounded Kaplan–Meier landmark estimates with
R's log interval, a cumulative incidence of relapse, counts, median (range) of follow-up and of
entry — as ``published.toml``, with a Table-1-like ``baseline.csv`` and a ``constraints.toml``.
Reconstruction from these files must reproduce every printed number.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.constants import EVENT_RELAPSE
from models.data import validate_outcomes
from models.endpoints import derive
from models.nonparametric import cif_at, km_at

LAST_FOLLOWUP = dt.date(2024, 3, 10)
WINDOW = ("2022-01", "2023-10")
LANDMARK = 365


def _admin_days(rng: np.random.Generator, n: int) -> np.ndarray:
    start, end = dt.date(2022, 1, 1), dt.date(2023, 10, 31)
    offsets = rng.integers(0, (end - start).days + 1, n)
    return np.array([(LAST_FOLLOWUP - (start + dt.timedelta(days=int(o)))).days for o in offsets])


def simulate_outcomes(
    n: int,
    seed: int,
    *,
    nrm_rate: float = 0.0006,
    relapse_rate: float = 0.0008,
    death_after_relapse_rate: float = 0.004,
) -> pd.DataFrame:
    """Per-patient outcomes (days from transplant) with distinct event and last-contact days.

    Exponential hazards (per day) from entry; alive patients are censored at the study's last
    follow-up date. Distinct days keep every event time untied, as the reconstruction assumes.
    """
    rng = np.random.default_rng(seed)
    while True:
        admin = _admin_days(rng, n)
        # maintenance starts before the study's cut-off (a patient is seen at least once on it)
        entry = np.array([rng.integers(40, min(201, a - 10)) for a in admin])
        rows = []
        for i in range(n):
            e, a = int(entry[i]), int(admin[i])
            t_rel = e + 1 + int(rng.exponential(1 / relapse_rate))
            t_nrm = e + 1 + int(rng.exponential(1 / nrm_rate))
            row: dict[str, Any] = {
                "patient": f"P{i + 1}",
                "entry_day": e,
                "relapse_day": math.nan,
                "gvhd_day": math.nan,
                "death_day": math.nan,
                "death_cause": "",
                "last_followup_day": a,
            }
            if t_rel < min(t_nrm, a):
                row["relapse_day"] = t_rel
                t_d = t_rel + 1 + int(rng.exponential(1 / death_after_relapse_rate))
                if t_d < a:
                    row.update(death_day=t_d, death_cause="relapse", last_followup_day=t_d)
            elif t_nrm < a:
                row.update(death_day=t_nrm, death_cause="nrm", last_followup_day=t_nrm)
            rows.append(row)
        days = [d for r in rows for d in (r["relapse_day"], r["last_followup_day"]) if not math.isnan(d)]
        if (
            len(days) == len(set(days))
            and LANDMARK not in days
            and LANDMARK not in {r["last_followup_day"] for r in rows}
        ):
            return validate_outcomes(pd.DataFrame(rows), "synthetic outcomes")


def _median_range(values: np.ndarray) -> tuple[float, float, float]:
    v = np.sort(np.asarray(values, float))
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return float(med), float(v[0]), float(v[-1])


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _pct(x: float) -> float:
    return round(100 * x, 1)


def publish(outcomes: pd.DataFrame, folder: Path, *, seed: int, subgroup: bool = True) -> dict[str, Path]:
    """Write ``published.toml``, ``baseline.csv`` and ``constraints.toml`` for ``outcomes``.

    About 40% of patients are "refractory/relapsed"; with ``subgroup`` the 1-year OS of the others
    is printed besides the cohort's, as papers do.
    """
    folder.mkdir(parents=True, exist_ok=True)
    n = len(outcomes)
    rng = np.random.default_rng(seed)
    rr = np.array(["Y" if rng.random() < 0.4 else "N" for _ in range(n)])
    base = pd.DataFrame(
        {
            "patient": outcomes["patient"],
            "age": rng.integers(18, 70, n),
            "sex": rng.choice(["Male", "Female"], n),
            "diagnosis": "Ph-negative B-ALL",
            "molecular_alterations": "NA",
            "r_dri": "High risk",
            "cytogenetic_molecular_risk": "High risk",
            "refractory_relapsed": rr,
            "disease_status_pre_hsct": "CR1 with undetectable MRD",
            "molecular_alterations_pre_hsct": "NA",
            "donor_type": "HID",
            "days_diagnosis_to_hsct": rng.integers(90, 400, n),
        }
    )
    base.to_csv(folder / "baseline.csv", index=False)
    figs: list[str] = []

    def km_fig(key: str, endpoint: str, population: str, mask: np.ndarray) -> None:
        d = derive(outcomes[mask], endpoint, from_transplant=True)
        est = km_at(d["duration"], d["event"], LANDMARK)
        figs.append(
            f'[figure.{key}]\nstatistic = "km_survival"\nvalue = {_pct(est.estimate)}\n'
            f'ci = [{_pct(est.lower)}, {_pct(est.upper)}]\nunit = "percent"\ndenominator = {int(mask.sum())}\n'
            f'population = "{population}"\nendpoint = "{endpoint}"\nlandmark_days = {LANDMARK}\ndecimals = 1\n'
            f'quote = "synthetic 1-year {endpoint} estimate"\n'
        )

    everyone = np.ones(n, bool)
    km_fig("os_1y", "os", "cohort", everyone)
    km_fig("efs_1y", "efs", "cohort", everyone)
    if subgroup:
        km_fig("os_1y_non_rr", "os", "non_refractory_relapsed", rr == "N")
    d = derive(outcomes, "relapse", from_transplant=True)
    cif = cif_at(d["duration"], d["event"], EVENT_RELAPSE, float(d["duration"].max()))
    relapses = int(outcomes["relapse_day"].notna().sum())
    figs.append(
        f'[figure.relapse_rate]\nstatistic = "cumulative_incidence"\nvalue = {_pct(cif)}\ncount = {relapses}\n'
        f'unit = "percent"\ndenominator = {n}\nendpoint = "relapse"\ndecimals = 1\n'
        'quote = "synthetic relapse incidence"\n'
    )
    dr = int((outcomes["death_cause"] == "relapse").sum())
    dn = int((outcomes["death_cause"] == "nrm").sum())
    for key, val, unit in (
        ("n_included", n, "patients"),
        ("deaths_relapse", dr, "deaths"),
        ("deaths_nrm", dn, "deaths"),
        ("alive", n - dr - dn, "patients"),
    ):
        figs.append(
            f'[figure.{key}]\nstatistic = "count"\nvalue = {val}\nunit = "{unit}"\nquote = "synthetic count {key}"\n'
        )
    for key, col in (("followup", "last_followup_day"), ("transplant_to_blinatumomab", "entry_day")):
        med, lo, hi = _median_range(outcomes[col].to_numpy())
        figs.append(
            f'[figure.{key}]\nstatistic = "median"\nvalue = {_num(med)}\nrange = [{_num(lo)}, {_num(hi)}]\n'
            f'unit = "days"\ndenominator = {n}\nquote = "synthetic median {key}"\n'
        )
    study = (
        f'[study]\nn_patients = {n}\ntransplant_window = ["{WINDOW[0]}", "{WINDOW[1]}"]\n'
        f"last_followup_date = {LAST_FOLLOWUP.isoformat()}\n"
    )
    (folder / "published.toml").write_text(study + "\n" + "\n".join(figs), encoding="utf-8")
    cons = (
        '[study]\npopulation_size = "n_included"\n'
        '[[km]]\nfigure = "os_1y"\n[[km]]\nfigure = "efs_1y"\n'
        + ('[[km]]\nfigure = "os_1y_non_rr"\n' if subgroup else "")
        + '[[cif]]\nfigure = "relapse_rate"\nlandmark = "plateau"\n'
        '[events]\nrelapse = "relapse_rate"\ndeath_relapse = "deaths_relapse"\n'
        'death_nrm = "deaths_nrm"\nalive = "alive"\n'
        '[followup]\nfigure = "followup"\nreading = "all"\n'
        '[entry]\nfigure = "transplant_to_blinatumomab"\n'
        "[admin_censoring]\nenabled = true\n"
    )
    (folder / "constraints.toml").write_text(cons, encoding="utf-8")
    return {
        "published": folder / "published.toml",
        "baseline": folder / "baseline.csv",
        "constraints": folder / "constraints.toml",
    }
