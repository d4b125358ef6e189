"""A trained score as plain numbers (pure): a logistic regression on standardised features,
kept as JSON (never a pickle), scored without numpy, and able to say which features pushed a
loan's score up the most."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Reason:
    feature: str
    weight: float  # its share of the log-odds, above the average loan's
    high: bool  # the loan's value is above the average (else below): what the reason says

    @property
    def key(self) -> str:
        return f"{self.feature}.{'high' if self.high else 'low'}"


@dataclass(frozen=True, slots=True)
class LinearScore:
    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefs: tuple[float, ...]
    intercept: float

    def _terms(self, x: Sequence[float]) -> list[float]:
        return [
            c * (v - m) / s
            for c, v, m, s in zip(self.coefs, x, self.means, self.scales, strict=True)
        ]

    def probability(self, x: Sequence[float]) -> float:
        z = self.intercept + sum(self._terms(x))
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def reasons(self, x: Sequence[float], top: int = 3) -> list[Reason]:
        """The features that raised this loan's score most against an average loan's."""
        terms = sorted(
            zip(self.features, self._terms(x), x, self.means, strict=True), key=lambda t: -t[1]
        )
        return [Reason(name, round(w, 3), v > m) for name, w, v, m in terms[:top] if w > 0]

    def json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "means": list(self.means),
            "scales": list(self.scales),
            "coefs": list(self.coefs),
            "intercept": self.intercept,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> LinearScore:
        return cls(
            tuple(data["features"]),
            tuple(data["means"]),
            tuple(data["scales"]),
            tuple(data["coefs"]),
            float(data["intercept"]),
        )
