"""The Warnings page: who may open it (a collector gets the Portfolio page's refusal), the empty
state, and over warnings, snapshots, reminders, promises, handoffs and cases written by hand:
each signal in words with its figures, what was done since the flag, the order, the signal
filter, the day asked, and a fixed number of queries however many rows."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.cases.models import Case, Handoff
from backend.console import warnings_view
from backend.console.i18n import CATALOG, translator
from backend.console.warning_texts import signal_name, signal_text
from backend.early_warning.models import LoanWarning
from backend.early_warning.policy import RULES
from backend.ledger.models import Loan, Product
from backend.outreach.models import Reminder
from backend.portfolio.models import PortfolioSnapshot
from backend.promises.models import Promise
from tests.backend import factories
from tests.backend.api.console_client import Console

OpenConsole = Callable[..., Console]
NAV_LINK = '<a href="/console/warnings"'
DAY = date(2026, 3, 30)  # the snapshot day flagged (the business date is 1 April)
EARLIER = date(2026, 3, 20)
# 30 March from midnight in Asia/Shanghai (the business time zone): 29 March 16:00 UTC.
AFTER_FLAG = datetime(2026, 3, 30, 2, 0, tzinfo=UTC)
BEFORE_FLAG = datetime(2026, 3, 29, 10, 0, tzinfo=UTC)

SIGNALS: dict[str, list[dict[str, Any]]] = {
    "L1": [
        {"code": "first_payment_missed", "figures": {"due_date": "2026-02-15", "dpd": 43}},
        {"code": "unanswered", "figures": {"contacts": 4, "days": 14}},
        {"code": "charges_jump", "figures": {"charges_minor": 15000, "days": 7, "currency": "CNY"}},
    ],
    "L2": [
        {
            "code": "partial_payment",
            "figures": {"paid_minor": 50000, "overdue_minor": 120000, "currency": "CNY", "days": 7},
        },
        {
            "code": "promise_broken",
            "figures": {"promised_date": "2026-03-25", "amount_minor": 80000, "currency": "CNY"},
        },
    ],
    "L3": [
        {"code": "paying_later", "figures": {"worst_dpd": [3, 9, 17]}},
        {
            "code": "arrangement_at_risk",
            "figures": {"kind": "installment", "overdue_minor": 30000, "currency": "CNY"},
        },
    ],
    "L4": [  # no snapshot row that day; a signal the console has no words for yet
        {"code": "messages_failing", "figures": {"failed": 3, "days": 14}},
        {"code": "sudden_silence", "figures": {}},
    ],
    "L5": [
        {"code": "opted_out", "figures": {"on": "2026-03-28"}},
        {"code": "contact_changed", "figures": {"on": "2026-03-29"}},
    ],
}
TOP = {"L1": "first_payment_missed", "L2": "promise_broken", "L3": "paying_later"}
# (bucket, dpd, total, overdue) on DAY; L4 has none.
POSITIONS = {
    "L1": ("31-60", 43, 1_234_567, 98_765),
    "L2": ("31-60", 45, 500_000, 120_000),
    "L3": ("1-30", 17, 300_000, 30_000),
    "L5": ("1-30", 17, 200_000, 0),
}
ORDER = ["L1", "L2", "L3", "L5", "L4"]  # signals, then days past due, then loan ref


def snapshot(loan: Loan, as_of: date, bucket: str, dpd: int, total: int, overdue: int) -> Any:
    return PortfolioSnapshot(
        as_of=as_of,
        loan_id=loan.id,
        principal_minor=total,
        interest_minor=0,
        fees_minor=0,
        penalty_minor=0,
        total_minor=total,
        overdue_minor=overdue,
        dpd=dpd,
        bucket=bucket,
        credit_minor=0,
        future_principal_minor=0,
        paid_month_minor=0,
    )


def warning(loan: Loan, as_of: date, signals: list[dict[str, Any]], top: str = "") -> LoanWarning:
    return LoanWarning(
        as_of=as_of,
        loan_id=loan.id,
        borrower_id=loan.borrower_id,
        signals=signals,
        top=top or signals[0]["code"],
        severity=len(signals),
    )


def reminder(loan: Loan, occasion: date, step: str, status: str, reason: str | None = None) -> Any:
    return Reminder(
        loan_id=loan.id,
        borrower_id=loan.borrower_id,
        step_id=step,
        variant="champion",
        template=step,
        occasion=occasion,
        status=status,
        reason=reason,
        not_before=datetime(occasion.year, occasion.month, occasion.day, 2, tzinfo=UTC),
    )


def loan_of(db: Session, ref: str, product: Product, name: str) -> Loan:
    who = factories.borrower(db, ref=f"B-{ref}", full_name=name)
    return factories.loan(db, ref=ref, prod=product, who=who)


def write_warnings(db: Session) -> dict[str, Loan]:
    """Five loans flagged on DAY (L1 also ten days earlier), and what was done for them."""
    product = factories.product(db, code="A")
    names = {"L1": "Ann Lee", "L2": "Bo Wang", "L3": "Cai Li", "L4": "Dan Xu", "L5": "Eve Zhou"}
    loans = {ref: loan_of(db, ref, product, name) for ref, name in names.items()}
    for ref, signals in SIGNALS.items():
        db.add(warning(loans[ref], DAY, signals, TOP.get(ref, "")))
    for ref, (bucket, dpd, total, overdue) in POSITIONS.items():
        db.add(snapshot(loans[ref], DAY, bucket, dpd, total, overdue))
    db.add(warning(loans["L1"], EARLIER, SIGNALS["L1"][:1]))
    db.add(snapshot(loans["L1"], EARLIER, "31-60", 33, 1_200_000, 90_000))

    l1, l2 = loans["L1"], loans["L2"]
    db.add_all(
        [
            reminder(l1, DAY - timedelta(days=1), "overdue_30", "sent"),  # before: not shown
            reminder(l1, DAY, "overdue_7", "sent"),
            reminder(l1, DAY + timedelta(days=1), "overdue_15", "planned", "outside_window"),
            reminder(l2, DAY + timedelta(days=2), "promise_broken", "dropped", "opt_out"),
        ]
    )
    db.add_all(
        [
            Promise(
                loan_id=l2.id,
                amount_minor=80_000,
                currency="CNY",
                promised_date=date(2026, 3, 25),
                created_on=date(2026, 3, 20),  # the broken one: before the flag
                status="broken",
                source="bot",
            ),
            Promise(
                loan_id=l2.id,
                amount_minor=60_000,
                currency="CNY",
                promised_date=date(2026, 4, 3),
                created_on=date(2026, 3, 31),
                status="open",
                source="collector",
            ),
        ]
    )
    chat = factories.conversation(db, who=l1.borrower)
    earlier = factories.handoff(db, conversation=chat, created_at=BEFORE_FLAG)
    earlier.status, earlier.closed_at = "closed", BEFORE_FLAG
    db.flush()
    factories.handoff(db, conversation=chat, reason="dispute", created_at=AFTER_FLAG)
    db.add_all(
        [
            Case(
                kind="hardship",
                conversation_id=chat.id,
                borrower_id=l1.borrower_id,
                loan_id=l1.id,
                created_at=AFTER_FLAG,
            ),
            Case(
                kind="complaint",
                conversation_id=chat.id,
                borrower_id=l1.borrower_id,
                created_at=BEFORE_FLAG,  # before: not shown
            ),
        ]
    )
    db.commit()
    return loans


def rows(html: str) -> list[str]:
    """The loan refs of the table's rows, in order."""
    return re.findall(r'<tr data-loan="([^"]+)"', html)


def row(html: str, ref: str) -> str:
    start = html.index(f'<tr data-loan="{ref}"')
    return html[start : html.index("</tr>", start)]


class TestWhoMayOpenIt:
    @pytest.mark.parametrize("role", ["operations", "supervisor", "admin"])
    def test_operations_supervisors_and_admins_open_it_from_the_navigation(
        self, open_console: OpenConsole, role: str
    ) -> None:
        console = open_console("pat", role)
        page = console.get("/console/warnings")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert 'aria-current="page">Warnings</a>' in page.text
        home = console.get("/console/account").text
        assert NAV_LINK in home
        # Right after the Portfolio link.
        assert home.index(NAV_LINK) > home.index('<a href="/console/portfolio"')
        following = home[home.index('<a href="/console/portfolio"') :].split("<a ")[2]
        assert following.startswith('href="/console/warnings"')

    def test_a_collector_gets_the_portfolio_pages_refusal(
        self, open_console: OpenConsole, db: Session
    ) -> None:
        write_warnings(db)
        console = open_console("carl", "collector")
        page = console.get("/console/warnings")
        portfolio = console.get("/console/portfolio")
        assert page.status_code == portfolio.status_code == 403
        assert "Your role does not open this page." in page.text
        assert page.text.replace("/console/warnings", "/console/portfolio") == portfolio.text
        assert "Ann Lee" not in page.text
        assert NAV_LINK not in console.get("/console/inbox").text

    def test_without_logging_in_the_browser_goes_to_the_log_in_page(self, console_app: Any) -> None:
        page = Console(console_app).get("/console/warnings?signal=unanswered")
        assert page.status_code == 303
        assert page.headers["location"] == (
            "/console/login?next=/console/warnings%3Fsignal%3Dunanswered"
        )


class TestThePage:
    def test_before_any_warning_it_says_when_loans_are_flagged(
        self, open_console: OpenConsole
    ) -> None:
        page = open_console("olga", "operations").get("/console/warnings")
        assert page.status_code == 200
        assert 'id="warnings-empty"' in page.text
        assert "No warnings yet: the worker flags loans after each day&#39;s snapshot" in page.text
        assert "<code>python -m backend warnings</code>" in page.text
        assert "<table" not in page.text

    def test_the_latest_days_loans_most_signals_first_each_signal_in_words(
        self, open_console: OpenConsole, db: Session
    ) -> None:
        write_warnings(db)
        page = open_console("olga", "operations").get("/console/warnings")
        assert page.status_code == 200
        html = page.text
        assert '<option value="2026-03-30" selected>' in html
        assert '<option value="2026-03-20" >' in html
        assert "5 loans flagged on 2026-03-30" in html
        assert rows(html) == ORDER
        assert 'id="warnings-truncated"' not in html

        l1 = row(html, "L1")
        assert 'data-severity="3"' in l1
        assert "Ann Lee" in l1 and "B-L1" in l1
        assert "31-60 · 43 days past due" in l1
        assert "owes 12,345.67 CNY" in l1
        assert "987.65 CNY overdue" in l1
        assert "First installment, due 2026-02-15, unpaid: 43 days past due." in l1
        assert "Messages unanswered: 4 in the last 14 days, no reply since." in l1
        assert "Fees and penalty up 150.00 CNY in 7 days." in l1

        l2 = row(html, "L2")
        # The top signal first, though the worker stored it second.
        assert l2.index('data-signal="promise_broken" class="lead"') < l2.index(
            'data-signal="partial_payment"'
        )
        assert "Promised 800.00 CNY by 2026-03-25, not paid." in l2
        assert "Paid 500.00 CNY in the last 7 days, still 1,200.00 CNY overdue." in l2

        l3 = row(html, "L3")
        assert "current" not in l3 and "1-30 · 17 days past due" in l3
        assert "Paying later each month: worst days past due 3 → 9 → 17." in l3
        assert "On a repayment plan (installment plan) with 300.00 CNY overdue." in l3

        l4 = row(html, "L4")
        assert "no snapshot that day" in l4
        assert "Messages to the borrower failing: 3 in the last 14 days." in l4
        assert "sudden silence" in l4  # no words yet: its code, readable

        l5 = row(html, "L5")
        assert "Opted out of contact on 2026-03-28." in l5
        assert "Asked on 2026-03-29 to change contact details." in l5
        assert "overdue" not in l5  # nothing overdue: no "0.00 CNY overdue"

    def test_what_was_done_since_the_flag(self, open_console: OpenConsole, db: Session) -> None:
        write_warnings(db)
        html = open_console("sue", "supervisor").get("/console/warnings").text
        l1 = row(html, "L1")
        assert "Reminder overdue_7 for 2026-03-30: sent" in l1
        assert "Reminder overdue_15 for 2026-03-31: deferred" in l1
        assert "(outside contact hours)" in l1
        assert "overdue_30" not in l1  # the day before the flag
        assert "Handed to a person on 2026-03-30: dispute (waiting)" in l1
        assert l1.count('data-done="handoff"') == 1  # the earlier one was before the flag
        assert "Case of 2026-03-30: hardship (open)" in l1
        assert "complaint" not in l1

        l2 = row(html, "L2")
        assert "Promise of 2026-03-31: 600.00 CNY by 2026-04-03 (open)" in l2
        assert l2.count('data-done="promise"') == 1  # the broken one was made before
        assert "Reminder promise_broken for 2026-04-01: dropped" in l2
        assert "Nothing yet." in row(html, "L3")

    def test_each_row_links_to_where_its_borrower_is_followed_up(
        self, open_console: OpenConsole, db: Session
    ) -> None:
        write_warnings(db)
        # L1's borrower's latest handoff: the one after the flag, in their only chat.
        handoff_id, conversation_id = db.execute(
            select(Handoff.id, Handoff.conversation_id).order_by(Handoff.id.desc()).limit(1)
        ).one()
        supervisor = row(open_console("sue", "supervisor").get("/console/warnings").text, "L1")
        assert f'href="/console/handoffs/{handoff_id}">Open the chat</a>' in supervisor
        chat = open_console("sam", "supervisor").get(f"/console/handoffs/{handoff_id}")
        assert chat.status_code == 200 and "Ann Lee" in chat.text
        assert 'href="/console/compliance?from=2026-03-30&amp;borrower=B-L1"' in supervisor

        operations = row(open_console("olga", "operations").get("/console/warnings").text, "L1")
        assert f'href="/console/conversations/{conversation_id}">Read the chat</a>' in operations
        assert "/console/handoffs/" not in operations
        assert "Open the chat" not in row(
            open_console("ada", "admin").get("/console/warnings").text, "L2"
        )  # no chat with Bo Wang yet

    def test_each_borrower_shown_is_audited(self, open_console: OpenConsole, db: Session) -> None:
        loans = write_warnings(db)
        open_console("olga", "operations").get("/console/warnings")
        audited = db.scalars(
            select(AuditEntry.borrower_id).where(AuditEntry.subject == "warnings of 2026-03-30")
        ).all()
        assert sorted(audited) == sorted(loan.borrower_id for loan in loans.values())

    def test_the_signal_filter(self, open_console: OpenConsole, db: Session) -> None:
        write_warnings(db)
        console = open_console("olga", "operations")
        html = console.get("/console/warnings").text
        chips = re.findall(
            r'data-signal="([a-z_]+)" >([^<]+) <span class="count">(\d+)</span>', html
        )
        # In early warning's order, then codes it does not know; one loan each.
        assert [c for c, _, _ in chips] == [*(c for c in RULES), "sudden_silence"]
        assert {n for _, _, n in chips} == {"1"}
        assert ("unanswered", "No reply", "1") in chips
        assert 'aria-current="page">All signals <span class="count">5</span>' in html

        page = console.get("/console/warnings?day=2026-03-30&signal=promise_broken")
        assert page.status_code == 200
        assert rows(page.text) == ["L2"]
        assert 'data-signal="promise_broken" aria-current="page">' in page.text
        assert '<input type="hidden" name="signal" value="promise_broken">' in page.text

        # The filter alone: the latest day.
        assert rows(console.get("/console/warnings?signal=contact_changed").text) == ["L5"]

        none = console.get("/console/warnings?signal=first_payment_missed&day=2026-03-20").text
        assert rows(none) == ["L1"]
        nothing = console.get("/console/warnings?signal=opted_out&day=2026-03-20").text
        assert rows(nothing) == []
        assert "No loan flagged on 2026-03-20 has this signal." in nothing

    def test_an_earlier_day(self, open_console: OpenConsole, db: Session) -> None:
        write_warnings(db)
        console = open_console("olga", "operations")
        html = console.get("/console/warnings?day=2026-03-20").text
        assert '<option value="2026-03-20" selected>' in html
        assert rows(html) == ["L1"]
        l1 = row(html, "L1")
        assert "31-60 · 33 days past due" in l1 and "owes 12,000.00 CNY" in l1
        assert "Reminder overdue_30 for 2026-03-29: sent" in l1  # since 20 March
        assert "Promise of 2026-03-20" not in l1  # L2's, not L1's

        quiet = console.get("/console/warnings?day=2026-03-25").text
        assert rows(quiet) == []
        assert "No loan was flagged on 2026-03-25." in quiet
        assert '<option value="2026-03-25" selected>' in quiet

    @pytest.mark.parametrize(
        "query", ["day=last-week", "day=2026-02-30", "signal=%3Cscript%3E", "signal=" + "a" * 33]
    )
    def test_a_tampered_parameter_is_a_bad_form_page(
        self, open_console: OpenConsole, query: str
    ) -> None:
        page = open_console("olga", "operations").get(f"/console/warnings?{query}")
        assert page.status_code == 422
        assert "Some of what the form sent is not valid" in page.text

    def test_only_the_first_rows_with_a_note(
        self, open_console: OpenConsole, db: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_warnings(db)
        monkeypatch.setattr(warnings_view, "SHOWN", 2)
        html = open_console("olga", "operations").get("/console/warnings").text
        assert rows(html) == ORDER[:2]
        assert "Showing 2 of 5 loans: the most signals first." in html

    def test_in_chinese(self, open_console: OpenConsole, db: Session) -> None:
        write_warnings(db)
        html = open_console("li", "supervisor", language="zh").get("/console/warnings").text
        assert ">预警</a>" in html
        assert "风险预警" in html
        assert "首期（2026-02-15 到期）未还，已逾期 43 天。" in row(html, "L1")
        assert "处于还款方案（分期还款）中，仍逾期 300.00 CNY。" in row(html, "L3")
        assert "提醒 overdue_7（2026-03-30）：已发送" in row(html, "L1")


@contextmanager
def reads(db: Session) -> Iterator[list[str]]:
    """The page's SELECTs on the test's database while the block runs: not the log-in session's
    (whether its user is still in the session's identity map is up to the garbage collector),
    and not the writes (the audit entries, one per borrower shown by design, as the inbox's)."""
    statements: list[str] = []
    bind = db.get_bind()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "staff_" not in statement:
            statements.append(statement)

    event.listen(bind, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(bind, "before_cursor_execute", count)


def test_the_number_of_queries_does_not_grow_with_the_rows(
    open_console: OpenConsole, db: Session
) -> None:
    loans = write_warnings(db)
    console = open_console("sue", "supervisor")
    with reads(db) as few:
        assert len(rows(console.get("/console/warnings").text)) == 5

    product = db.get_one(Product, loans["L1"].product_id)
    for n in range(20):
        more = loan_of(db, f"M{n:02d}", product, f"Borrower {n}")
        db.add(warning(more, DAY, SIGNALS["L1"]))
        db.add(snapshot(more, DAY, "1-30", n, 100_000, 10_000))
        db.add(reminder(more, DAY, "overdue_7", "sent"))
        chat = factories.conversation(db, who=more.borrower, user_id=f"m{n}")
        factories.handoff(db, conversation=chat, created_at=AFTER_FLAG)
    db.commit()
    with reads(db) as many:
        assert len(rows(console.get("/console/warnings").text)) == 25
    # Days, counts per signal, the day's total, the rows; then reminders, promises, handoffs,
    # cases and each borrower's latest handoff.
    assert len(few) == len(many) == 9, many


class TestSignalTexts:
    def test_every_signal_early_warning_knows_has_a_name_and_a_sentence(self) -> None:
        missing = [
            key
            for code in RULES
            for key in (f"warnings.signal.{code}", f"warnings.text.{code}")
            if key not in CATALOG
        ]
        assert missing == []

    def test_figures_not_as_expected_give_the_signals_name(self) -> None:
        t = translator("en")
        assert signal_text("partial_payment", {"paid_minor": 5}, t) == "Partial payment"
        assert signal_text("paying_later", {"worst_dpd": "soon"}, t) == "Paying later"
        assert signal_text("brand_new", {"x": 1}, t) == "brand new"
        assert signal_name("opted_out", translator("zh")) == "已退订"

    def test_money_in_the_currencys_own_decimals(self) -> None:
        t = translator("en")
        figures = {"charges_minor": 150000, "days": 7, "currency": "JPY"}
        assert (
            signal_text("charges_jump", figures, t) == "Fees and penalty up 150,000 JPY in 7 days."
        )
