"""The Warnings page in a real headless Chromium: the backend as `make run` starts it (migrated,
demo data seeded, with its snapshots), three warnings written by hand on the latest snapshot day
in place of the ones the demo flagged, and the demo users: operations reads the rows and filters
them by a signal under the console's Content-Security-Policy without an error, a supervisor
sees the page too, a collector is refused. Screenshot: tests/artifacts/warnings.png."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.console.amounts import Amount
from backend.db import make_engine
from backend.demo.users import DEMO_PASSWORD
from backend.early_warning.models import LoanWarning
from backend.ledger.models import Loan
from backend.portfolio.models import PortfolioSnapshot, SnapshotRun
from tests.browser import browser, screenshot  # noqa: F401  (the session's Chromium)
from tests.e2e.conftest import demo_backend
from tests.e2e.console_pages import watched

# Processes of its own: beside the shared stack, on the other pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("own-processes")

TOKEN = "e2e-warnings-token"


@dataclass(frozen=True)
class Flagged:
    """A loan the test flagged, with the sentences its row must show."""

    ref: str
    total: str  # the snapshot's total, as the console writes it
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Demo:
    url: str
    day: date
    flagged: tuple[Flagged, ...]  # in the page's order: the most signals first


def flag_by_hand(database_url: str) -> tuple[date, tuple[Flagged, ...]]:
    """Three of the latest snapshot day's loans (the most days past due) flagged with known
    signals: three, two and one."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            day = session.scalar(select(func.max(SnapshotRun.as_of)))
            assert day is not None, "seed-demo took no snapshot"
            picked = session.execute(
                select(
                    Loan.id,
                    Loan.ref,
                    Loan.borrower_id,
                    Loan.currency,
                    PortfolioSnapshot.total_minor,
                    PortfolioSnapshot.dpd,
                )
                .join(PortfolioSnapshot, PortfolioSnapshot.loan_id == Loan.id)
                .where(PortfolioSnapshot.as_of == day, PortfolioSnapshot.total_minor > 0)
                .order_by(PortfolioSnapshot.dpd.desc(), Loan.ref)
                .limit(3)
            ).all()
            assert len(picked) == 3
            session.execute(delete(LoanWarning))  # the demo's own: the page shows only these
            flagged = []
            for (loan_id, ref, borrower_id, currency, total, _), signals in zip(
                picked, _signals(day, dpd=picked[0].dpd), strict=True
            ):
                session.add(
                    LoanWarning(
                        as_of=day,
                        loan_id=loan_id,
                        borrower_id=borrower_id,
                        signals=[
                            {"code": code, "figures": figures | {"currency": currency}}
                            for code, figures, _ in signals
                        ],
                        top=signals[0][0],
                        severity=len(signals),
                    )
                )
                texts = tuple(text(currency) for _, _, text in signals)
                flagged.append(Flagged(ref, Amount(total, currency).text, texts))
            return day, tuple(flagged)
    finally:
        engine.dispose()


Sentence = Callable[[str], str]  # a signal's sentence for the loan's currency


def _signals(day: date, *, dpd: int) -> list[list[tuple[str, dict[str, object], Sentence]]]:
    """Each loan's signals: (code, figures, its sentence for a currency). The first loan's first
    installment is the one `dpd` days past due."""
    due = (day - timedelta(days=dpd)).isoformat()
    return [
        [
            (
                "first_payment_missed",
                {"due_date": due, "dpd": dpd},
                lambda c: f"First installment, due {due}, unpaid: {dpd} days past due.",
            ),
            (
                "unanswered",
                {"contacts": 4, "days": 14},
                lambda c: "Messages unanswered: 4 in the last 14 days, no reply since.",
            ),
            (
                "charges_jump",
                {"charges_minor": 15000, "days": 7},
                lambda c: f"Fees and penalty up {Amount(15000, c).text} in 7 days.",
            ),
        ],
        [
            (
                "promise_broken",
                {"promised_date": day.isoformat(), "amount_minor": 80000},
                lambda c: f"Promised {Amount(80000, c).text} by {day.isoformat()}, not paid.",
            ),
            (
                "partial_payment",
                {"paid_minor": 5000, "overdue_minor": 120000, "days": 7},
                lambda c: (
                    f"Paid {Amount(5000, c).text} in the last 7 days, "
                    f"still {Amount(120000, c).text} overdue."
                ),
            ),
        ],
        [("opted_out", {"on": day.isoformat()}, lambda c: f"Opted out of contact on {day}.")],
    ]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Only the backend, over the demo data with the test's warnings."""
    with demo_backend(tmp_path_factory, "warnings", token=TOKEN) as running:
        day, flagged = flag_by_hand(running.database_url)
        yield Demo(running.url, day, flagged)


def log_in(page: Page, demo: Demo, username: str) -> None:
    page.goto(f"{demo.url}/console/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_operations_reads_the_warnings_and_filters_them_by_a_signal(
    demo: Demo,
    browser: Browser,  # noqa: F811
) -> None:
    errors: list[str] = []
    with watched(browser, errors) as page:
        log_in(page, demo, "operations")
        page.get_by_role("link", name="Warnings", exact=True).click()
        expect(page).to_have_url(re.compile("/console/warnings$"))
        expect(page.get_by_role("heading", name="Early warnings")).to_be_visible()
        expect(page.locator("#warnings-scope")).to_contain_text(
            f"3 loans flagged on {demo.day.isoformat()}"
        )

        rows = page.locator("tr[data-loan]")
        expect(rows).to_have_count(3)
        assert [r.get_attribute("data-loan") for r in rows.all()] == [f.ref for f in demo.flagged]
        for flagged in demo.flagged:
            row = page.locator(f'tr[data-loan="{flagged.ref}"]')
            expect(row).to_contain_text(f"owes {flagged.total}")
            for sentence in flagged.texts:
                expect(row).to_contain_text(sentence)
            expect(row.get_by_role("link", name="Contact record")).to_be_visible()
        expect(page.locator("#signal-filter a")).to_have_count(1 + 6)  # all, and six signals
        assert page.evaluate("window.cspViolations || []") == []
        assert errors == []
        screenshot(page, "warnings")

        page.locator("#signal-filter").get_by_role("link", name="Promise broken").click()
        expect(page).to_have_url(
            re.compile(r"/console/warnings\?day=[\d-]+&signal=promise_broken$")
        )
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-loan", demo.flagged[1].ref)
        expect(page.locator('#signal-filter a[aria-current="page"]')).to_contain_text(
            "Promise broken"
        )

        # Another day: the select and its button, no script needed.
        page.get_by_role("link", name="All signals").click()
        expect(rows).to_have_count(3)
        page.get_by_label("Snapshot day").select_option(demo.day.isoformat())
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(rf"/console/warnings\?day={demo.day.isoformat()}$"))
        expect(rows).to_have_count(3)
        assert page.evaluate("window.cspViolations || []") == []
        assert errors == []


def test_a_supervisor_sees_it_and_a_collector_is_refused(
    demo: Demo,
    browser: Browser,  # noqa: F811
) -> None:
    errors: list[str] = []
    with watched(browser, errors) as page:
        log_in(page, demo, "supervisor")
        page.get_by_role("link", name="Warnings", exact=True).click()
        expect(page.locator("tr[data-loan]")).to_have_count(3)
        page.get_by_role("button", name="Log out").click()

        log_in(page, demo, "collector")
        expect(page.get_by_role("link", name="Warnings", exact=True)).to_have_count(0)
        refused = page.goto(f"{demo.url}/console/warnings")
        assert refused is not None and refused.status == 403
        expect(page.get_by_text("Your role does not open this page.")).to_be_visible()
        expect(page.locator("tr[data-loan]")).to_have_count(0)
        assert page.evaluate("window.cspViolations || []") == []
