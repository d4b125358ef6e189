"""Training a score on the snapshots (`python -m backend risk train`): a time split (train on
the older month ends, test on the latest), the model against two simple baselines (the bucket
alone; days past due alone), AUC, Brier score and a calibration table, a drift check of the
latest month against the training months, and a model card. A new version goes into use only
when it beats both baselines on the test month's AUC and Brier score."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.metrics import brier_score_loss, roc_auc_score  # type: ignore[import-untyped]
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.portfolio.models import SnapshotRun
from backend.risk.dataset import (
    PAY_DAYS,
    Example,
    can_roll,
    contracts,
    examples,
    month_ends,
    paid,
    rolled,
)
from backend.risk.features import FEATURES
from backend.risk.model import LinearScore
from backend.risk.models import RiskModel

KINDS = {
    "roll_30": "a loan rolls to a worse bucket by the next month end (about 30 days)",
    "pay_7": f"an overdue borrower pays something within {PAY_DAYS} days",
}
MIN_POSITIVES = 10  # fewer in training or test: nothing is learned, nothing is claimed
# Loans drawn from each month end to train and test on: a large book's year of month ends fits
# in memory (the worker trains each month), and 50,000 a month is plenty for 21 weights.
MONTH_SAMPLE = 50_000


class NotEnoughData(Exception):
    """Too few month ends or outcomes in the snapshots to train or test on."""


@dataclass(frozen=True)
class Trained:
    model: RiskModel
    used: bool  # went into use (beat both baselines)


def _split(session: Session, kind: str) -> tuple[list[tuple[date, list[Example], list[int]]], date]:
    """(month end, examples, labels) of every usable month end, oldest first; and the test
    month (the latest)."""
    ends = month_ends(session)
    terms = contracts(session)
    last_day = session.scalar(select(func.max(SnapshotRun.as_of)))
    months: list[tuple[date, list[Example], list[int]]] = []
    for k, day in enumerate(ends):
        if kind == "roll_30":
            if k + 1 >= len(ends):
                break
            rows = [
                e for e in examples(session, day, ends, terms, limit=MONTH_SAMPLE) if can_roll(e)
            ]
            labels = rolled(session, day, ends[k + 1], rows)
        else:
            if last_day is None or day + timedelta(days=PAY_DAYS) > last_day:
                break
            rows = [e for e in examples(session, day, ends, terms, limit=MONTH_SAMPLE) if e.dpd > 0]
            labels = paid(session, day, rows)
        if rows:
            months.append((day, rows, labels))
    if len(months) < 3:
        raise NotEnoughData(
            f"{kind}: {len(months)} month ends with an outcome; at least 3 are needed "
            "(take month-end snapshots: python -m backend snapshot --months 12)"
        )
    return months, months[-1][0]


def newest_test_month(session: Session, kind: str) -> date | None:
    """The latest month end whose outcome is known by now: roll_30 needs the next month end's
    snapshot, pay_7 the snapshots of the PAY_DAYS days after it."""
    ends = month_ends(session)
    if kind == "roll_30":
        return ends[-2] if len(ends) > 1 else None
    last_day = session.scalar(select(func.max(SnapshotRun.as_of)))
    known = [d for d in ends if last_day is not None and d + timedelta(days=PAY_DAYS) <= last_day]
    return known[-1] if known else None


def due(session: Session, kind: str) -> bool:
    """A month's outcome has come in since the latest version was trained: train again (the
    worker does, each month; the new version goes into use only if it beats the baselines)."""
    newest = newest_test_month(session, kind)
    if newest is None:
        return False
    tested = session.scalar(select(func.max(RiskModel.tested_on)).where(RiskModel.kind == kind))
    return tested is None or tested < newest


def _fit(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> LinearScore:
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    fitted = LogisticRegression(C=1.0, max_iter=2000).fit((x - means) / scales, y)
    return LinearScore(
        tuple(names),
        tuple(float(v) for v in means),
        tuple(float(v) for v in scales),
        tuple(float(v) for v in fitted.coef_[0]),
        float(fitted.intercept_[0]),
    )


def _bucket_rates(train: list[Example], y: np.ndarray) -> dict[int, float]:
    """The outcome's rate per bucket in training (smoothed towards the overall rate)."""
    overall = float(y.mean())
    seen: Counter[int] = Counter(e.bucket_rank for e in train)
    hits: Counter[int] = Counter(e.bucket_rank for e, v in zip(train, y, strict=True) if v)
    return {b: (hits[b] + overall * 5) / (n + 5) for b, n in seen.items()} | {-1: overall}


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None
    return {"auc": auc, "brier": float(brier_score_loss(y, p))}


def _calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Predicted against observed, in equal-width bins of the predicted probability."""
    table = []
    index = np.minimum((p * bins).astype(int), bins - 1)
    for b in range(bins):
        mask = index == b
        if mask.any():
            table.append(
                {
                    "from": b / bins,
                    "to": (b + 1) / bins,
                    "loans": int(mask.sum()),
                    "predicted": float(p[mask].mean()),
                    "observed": float(y[mask].mean()),
                }
            )
    return table


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """Population stability index of `actual` against `expected`, on `expected`'s deciles: under
    0.1 stable, 0.1 to 0.25 shifting, over 0.25 drifted."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)))
    if len(edges) < 3:  # (nearly) one value in training: bins where either month has mass
        edges = np.unique(np.quantile(np.concatenate([expected, actual]), np.linspace(0, 1, 11)))
    if len(edges) < 2:
        return 0.0
    edges[0], edges[-1] = -np.inf, np.inf
    e = np.histogram(expected, edges)[0] / len(expected) + 1e-4
    a = np.histogram(actual, edges)[0] / len(actual) + 1e-4
    return float(((a - e) * np.log(a / e)).sum())


def train(session: Session, kind: str) -> Trained:
    if kind not in KINDS:
        raise ValueError(f"unknown score {kind!r}; expected one of {', '.join(KINDS)}")
    months, tested_on = _split(session, kind)
    train_rows = [e for _, rows, _ in months[:-1] for e in rows]
    y_train = np.array([v for _, _, labels in months[:-1] for v in labels])
    test_rows, y_test = months[-1][1], np.array(months[-1][2])
    for what, y in (("training", y_train), ("the test month", y_test)):
        if y.sum() < MIN_POSITIVES or len(y) - y.sum() < MIN_POSITIVES:
            raise NotEnoughData(
                f"{kind}: {int(y.sum())} outcomes of {len(y)} in {what}; at least "
                f"{MIN_POSITIVES} of each kind are needed"
            )
    x_train = np.array([e.x for e in train_rows])
    x_test = np.array([e.x for e in test_rows])
    score = _fit(x_train, y_train, FEATURES)
    dpd_only = _fit(x_train[:, [0]], y_train, FEATURES[:1])
    rates = _bucket_rates(train_rows, y_train)
    p_model = np.array([score.probability(x) for x in x_test])
    p_dpd = np.array([dpd_only.probability(x[:1]) for x in x_test])
    p_bucket = np.array([rates.get(e.bucket_rank, rates[-1]) for e in test_rows])
    metrics: dict[str, Any] = {
        "model": _scores(y_test, p_model),
        "bucket_alone": _scores(y_test, p_bucket),
        "dpd_alone": _scores(y_test, p_dpd),
        "train": {"examples": len(y_train), "positives": int(y_train.sum())},
        "test": {"examples": len(y_test), "positives": int(y_test.sum())},
        "calibration": _calibration(y_test, p_model),
        "drift": {
            name: round(psi(x_train[:, k], x_test[:, k]), 4) for k, name in enumerate(FEATURES)
        },
    }
    p_train = np.array([score.probability(x) for x in x_train])
    metrics["drift"]["score"] = round(psi(p_train, p_model), 4)
    beats = all(
        metrics["model"]["auc"] is not None
        and (metrics[b]["auc"] is None or metrics["model"]["auc"] > metrics[b]["auc"])
        and metrics["model"]["brier"] < metrics[b]["brier"]
        for b in ("bucket_alone", "dpd_alone")
    )
    version = (
        session.scalar(select(func.max(RiskModel.version)).where(RiskModel.kind == kind)) or 0
    ) + 1
    if beats:
        session.execute(update(RiskModel).where(RiskModel.kind == kind).values(active=False))
    model = RiskModel(
        kind=kind,
        version=version,
        params=score.json(),
        metrics=metrics,
        card="",
        trained_from=months[0][0],
        trained_to=months[-2][0],
        tested_on=tested_on,
        active=beats,
    )
    model.card = card(model, score)
    session.add(model)
    session.flush()
    return Trained(model, beats)


def summary(done: Trained) -> str:
    """One line on a training: the version, its test figures against the baselines, in use."""
    got = done.model.metrics
    return (
        f"{done.model.kind} v{done.model.version}: AUC {fmt(got['model']['auc'])} "
        f"(bucket alone {fmt(got['bucket_alone']['auc'])}, days past due alone "
        f"{fmt(got['dpd_alone']['auc'])}), Brier {fmt(got['model']['brier'])} on "
        f"{done.model.tested_on}; "
        + ("in use" if done.used else "not in use: it did not beat both baselines")
    )


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def card(model: RiskModel, score: LinearScore) -> str:
    """The model card: what it predicts, from what, how well against the baselines, how
    calibrated, what drifted, and what it is not for."""
    m = model.metrics
    lines = [
        f"# Model card: {model.kind} v{model.version}",
        "",
        f"**Predicts**: the probability that {KINDS[model.kind]}.",
        "**Model**: logistic regression on standardised features (scikit-learn), kept as "
        "numbers; the reasons shown for a loan are the features that raise its log-odds most.",
        f"**Data**: the portfolio snapshots' month ends, {model.trained_from} to "
        f"{model.trained_to} for training ({m['train']['examples']} loan-months, "
        f"{m['train']['positives']} outcomes), {model.tested_on} to test "
        f"({m['test']['examples']} loans, {m['test']['positives']} outcomes): a time split, "
        "the test month never seen in training.",
        f"**In use**: {'yes' if model.active else 'no: it did not beat both baselines'}.",
        "",
        "## On the test month",
        "",
        "| | AUC | Brier score |",
        "| --- | --- | --- |",
    ]
    for key, label in (
        ("model", "this model"),
        ("bucket_alone", "baseline: the bucket alone"),
        ("dpd_alone", "baseline: days past due alone"),
    ):
        lines.append(f"| {label} | {fmt(m[key]['auc'])} | {fmt(m[key]['brier'])} |")
    lines += [
        "",
        "## Calibration (test month)",
        "",
        "| predicted | loans | mean predicted | observed |",
    ]
    lines.append("| --- | --- | --- | --- |")
    for row in m["calibration"]:
        lines.append(
            f"| {row['from']:.1f}-{row['to']:.1f} | {row['loans']} | {row['predicted']:.3f} "
            f"| {row['observed']:.3f} |"
        )
    lines += ["", "## Drift: the test month against training (PSI)", ""]
    lines.append("| feature | PSI | |")
    lines.append("| --- | --- | --- |")
    for name, value in m["drift"].items():
        verdict = "drifted" if value > 0.25 else "shifting" if value > 0.1 else "stable"
        lines.append(f"| {name} | {value:.3f} | {verdict} |")
    lines += ["", "## Features and weights (per standard deviation)", ""]
    lines.append("| feature | weight |")
    lines.append("| --- | --- |")
    for name, coef in sorted(
        zip(score.features, score.coefs, strict=True), key=lambda t: -abs(t[1])
    ):
        lines.append(f"| {name} | {coef:+.3f} |")
    lines += [
        "",
        "## Use and limits",
        "",
        "- Orders work (the collectors' inbox within a priority, reminders when a cap binds); it "
        "decides nothing about a borrower on its own, and no rule depends on it.",
        "- Learned from this lender's own history: a new product, market or collection policy "
        "changes what it learned; retrain monthly and watch the drift table.",
        "- On demo data the figures show the machinery, not a result.",
    ]
    return "\n".join(lines) + "\n"
