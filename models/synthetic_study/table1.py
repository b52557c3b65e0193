"""Table 1 of a synthetic study: declared columns and how their values are drawn.

:class:`Column` declares one column in ``study.toml`` and draws it; without columns, the
Huang-shaped Table 1 of the default pack is drawn.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from models.schema import Schema


class Column(Schema):
    """One synthetic Table 1 column: its declaration in ``study.toml`` and how its values are drawn.

    ``id``: the patients' IDs. ``integer``: uniform on ``[min, max]``. ``number``: uniform on
    ``[min, max]``, one decimal. ``category``: one of ``values`` with probabilities ``weights``
    (default: equal). ``text``: the constant ``text``.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: Literal["id", "integer", "number", "category", "text"]
    values: list[str] | None = None
    weights: list[float] | None = None
    min: int | float | None = None
    max: int | float | None = None
    text: str | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _drawable(self) -> Column:
        if self.type == "category":
            if not self.values:
                raise ValueError("values = [...] for a category column")
            if self.weights is not None and (
                len(self.weights) != len(self.values) or min(self.weights) < 0 or sum(self.weights) <= 0
            ):
                raise ValueError("weights: one non-negative probability per value")
        elif self.values is not None or self.weights is not None:
            raise ValueError("values/weights only for a category column")
        if self.type in ("integer", "number") and (self.min is None or self.max is None or self.min > self.max):
            raise ValueError("min <= max for a numeric column")
        if self.type == "text" and self.text is None:
            raise ValueError("text = '...' (the constant printed in every row)")
        return self

    def declaration(self) -> dict[str, Any]:
        """The column's entry in ``study.toml`` ``[columns]``."""
        out: dict[str, Any] = {"type": self.type}
        if self.values is not None:
            out["values"] = list(self.values)
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.label is not None:
            out["label"] = self.label
        return out

    def draw(self, rng: np.random.Generator, patients: pd.Series) -> np.ndarray:
        n = len(patients)
        if self.type == "id":
            return patients.astype(str).to_numpy()
        if self.type == "integer":
            return rng.integers(int(self.min or 0), int(self.max or 0) + 1, n)
        if self.type == "number":
            return np.round(rng.uniform(float(self.min or 0), float(self.max or 0), n), 1)
        if self.type == "category":
            p = None if self.weights is None else np.asarray(self.weights, float) / sum(self.weights)
            return rng.choice(np.asarray(self.values), n, p=p)
        return np.full(n, self.text, dtype=object)


def _default_table1(rng: np.random.Generator, patients: pd.Series) -> pd.DataFrame:
    """The Huang-shaped Table 1 of the default pack (about 40% refractory/relapsed)."""
    n = len(patients)
    rr = np.array(["Y" if rng.random() < 0.4 else "N" for _ in range(n)])
    return pd.DataFrame(
        {
            "patient": patients,
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
