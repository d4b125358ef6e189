"""Pure rules of cases and handoffs: what may be filed, queue priority, when contact is held."""

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.cases import rules
from backend.cases.rules import CaseFact, RuleBroken, contact_hold, queue_key

ME, OTHER = 1, 2
LOAN, OTHER_LOAN = 10, 11
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def fact(kind: str, **kw: object) -> CaseFact:
    fields: dict[str, object] = {
        "kind": kind,
        "status": "open",
        "borrower_id": ME,
        "loan_id": None,
        "channel": "telegram",
        "hold": False,
    } | kw
    return CaseFact(**fields)  # type: ignore[arg-type]


def hold(*cases: CaseFact, loan: int | None = LOAN, channel: str = "telegram") -> str | None:
    return contact_hold(cases, borrower_id=ME, loan_id=loan, channel=channel)


def test_rules_module_imports_no_io() -> None:
    source = Path(rules.__file__).read_text()
    tree = ast.parse(source)
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.startswith(("sqlalchemy", "fastapi", "backend.db"))]


class TestFilingRules:
    def test_unknown_kind_is_refused_with_its_code(self) -> None:
        with pytest.raises(RuleBroken) as err:
            rules.check_case_request("refund", has_loan=False, hold=False)
        assert err.value.code == "unknown_kind"
        assert "dispute" in str(err.value)

    @pytest.mark.parametrize("kind", ["distress", "opt_out"])
    def test_distress_and_opt_out_never_name_a_loan(self, kind: str) -> None:
        with pytest.raises(RuleBroken, match="leave out loan_ref"):
            rules.check_case_request(kind, has_loan=True, hold=False)

    def test_only_hardship_asks_for_a_hold(self) -> None:
        rules.check_case_request("hardship", has_loan=True, hold=True)
        with pytest.raises(RuleBroken) as err:
            rules.check_case_request("dispute", has_loan=True, hold=True)
        assert err.value.code == "hold_not_applicable"

    def test_a_resolved_case_cannot_move_again(self) -> None:
        with pytest.raises(RuleBroken) as err:
            rules.check_case_move("resolved", "open")
        assert err.value.code == "case_closed"

    def test_an_open_case_can_be_worked_and_resolved(self) -> None:
        rules.check_case_move("open", "in_progress")
        rules.check_case_move("in_progress", "resolved")


class TestContactHold:
    def test_nothing_on_file_lets_contact_go(self) -> None:
        assert hold() is None

    def test_a_dispute_pauses_its_loan_only(self) -> None:
        dispute = fact("dispute", loan_id=LOAN)
        assert hold(dispute, loan=LOAN) == "dispute"
        assert hold(dispute, loan=OTHER_LOAN) is None

    def test_a_dispute_naming_no_loan_pauses_all_loans(self) -> None:
        assert hold(fact("dispute"), loan=OTHER_LOAN) == "dispute"

    def test_distress_pauses_every_loan_and_channel(self) -> None:
        distress = fact("distress")
        assert hold(distress, loan=OTHER_LOAN, channel="webchat") == "distress"
        assert hold(distress, loan=None) == "distress"

    def test_an_opt_out_stops_its_channel_only(self) -> None:
        opt_out = fact("opt_out", channel="telegram")
        assert hold(opt_out, channel="telegram") == "opt_out"
        assert hold(opt_out, channel="webchat") is None

    def test_an_opt_out_holds_until_withdrawn_even_once_resolved(self) -> None:
        assert hold(fact("opt_out", status="resolved")) == "opt_out"
        assert hold(fact("opt_out", status="withdrawn")) is None

    def test_hardship_holds_only_when_a_hold_was_asked(self) -> None:
        assert hold(fact("hardship", loan_id=LOAN)) is None
        assert hold(fact("hardship", loan_id=LOAN, hold=True)) == "hardship_hold"

    def test_complaints_and_contact_updates_do_not_hold(self) -> None:
        assert hold(fact("complaint"), fact("contact_update")) is None

    def test_a_live_handoff_holds_everything(self) -> None:
        assert contact_hold([], borrower_id=ME, loan_id=None, channel="x", live_handoff=True) == (
            "live_handoff"
        )

    def test_the_most_serious_reason_is_given(self) -> None:
        assert hold(fact("dispute", loan_id=LOAN), fact("opt_out"), fact("distress")) == "distress"

    @given(
        kind=st.sampled_from(rules.CASE_KINDS),
        status=st.sampled_from(rules.CASE_STATUSES),
        loan_id=st.one_of(st.none(), st.sampled_from([LOAN, OTHER_LOAN])),
        channel=st.sampled_from(["telegram", "webchat"]),
        hold_asked=st.booleans(),
    )
    def test_another_borrowers_case_never_holds_mine(
        self, kind: str, status: str, loan_id: int | None, channel: str, hold_asked: bool
    ) -> None:
        theirs = CaseFact(kind, status, OTHER, loan_id, channel, hold_asked)
        assert hold(theirs, loan=loan_id, channel=channel) is None

    @given(
        kind=st.sampled_from(sorted(set(rules.CASE_KINDS) - {"opt_out"})),
        status=st.sampled_from(["resolved", "withdrawn"]),
        hold_asked=st.booleans(),
        loan=st.one_of(st.none(), st.sampled_from([LOAN, OTHER_LOAN])),
    )
    def test_a_closed_case_never_holds(
        self, kind: str, status: str, hold_asked: bool, loan: int | None
    ) -> None:
        assert hold(fact(kind, status=status, hold=hold_asked, loan_id=LOAN), loan=loan) is None

    @given(
        cases=st.lists(
            st.builds(
                CaseFact,
                kind=st.sampled_from(rules.CASE_KINDS),
                status=st.sampled_from(rules.CASE_STATUSES),
                borrower_id=st.sampled_from([ME, OTHER, None]),
                loan_id=st.one_of(st.none(), st.sampled_from([LOAN, OTHER_LOAN])),
                channel=st.sampled_from(["telegram", "webchat"]),
                hold=st.booleans(),
            ),
            max_size=6,
        ),
        loan=st.one_of(st.none(), st.sampled_from([LOAN, OTHER_LOAN])),
        channel=st.sampled_from(["telegram", "webchat"]),
    )
    def test_one_more_case_never_lifts_a_hold(
        self, cases: list[CaseFact], loan: int | None, channel: str
    ) -> None:
        before = hold(*cases[:-1], loan=loan, channel=channel)
        after = hold(*cases, loan=loan, channel=channel)
        if before is not None:
            assert after is not None
            assert rules.HOLD_REASONS.index(after) <= rules.HOLD_REASONS.index(before)


class TestHandoffQueue:
    def test_distress_first_then_complaint_and_dispute_then_the_rest_by_wait(self) -> None:
        waiting = [
            (1, "borrower_request", T0),
            (2, "misunderstood", T0 - timedelta(minutes=30)),
            (3, "dispute", T0 + timedelta(minutes=5)),
            (4, "complaint", T0 + timedelta(minutes=1)),
            (5, "distress", T0 + timedelta(minutes=20)),
        ]
        ordered = sorted(waiting, key=lambda w: queue_key(w[1], w[2], w[0]))
        assert [w[0] for w in ordered] == [5, 4, 3, 2, 1]

    def test_priority_labels(self) -> None:
        assert [rules.priority_label(r) for r in ("distress", "complaint", "other")] == [
            "urgent",
            "high",
            "normal",
        ]

    @given(
        reasons=st.lists(st.sampled_from(rules.HANDOFF_REASONS), min_size=1, max_size=10),
        minutes=st.lists(st.integers(0, 600), min_size=10, max_size=10),
    )
    def test_no_handoff_waits_behind_a_less_urgent_one(
        self, reasons: list[str], minutes: list[int]
    ) -> None:
        entries = [(i, r, T0 + timedelta(minutes=minutes[i])) for i, r in enumerate(reasons)]
        ordered = sorted(entries, key=lambda e: queue_key(e[1], e[2], e[0]))
        ranks = [rules.priority_rank(e[1]) for e in ordered]
        assert ranks == sorted(ranks)

    def test_unknown_reason_is_refused(self) -> None:
        with pytest.raises(RuleBroken) as err:
            rules.check_handoff_reason("bored")
        assert err.value.code == "unknown_reason"

    def test_taking_a_chat_another_collector_has_is_refused(self) -> None:
        assert rules.check_take("waiting", None, "alice") is True
        assert rules.check_take("taken", "alice", "alice") is False
        with pytest.raises(RuleBroken) as err:
            rules.check_take("taken", "alice", "bob")
        assert err.value.code == "handoff_taken"

    def test_closing_a_closed_handoff_is_refused(self) -> None:
        with pytest.raises(RuleBroken) as err:
            rules.check_close("closed")
        assert err.value.code == "handoff_closed"

    def test_waiting_time_stops_when_taken(self) -> None:
        taken = T0 + timedelta(minutes=3)
        later = T0 + timedelta(hours=1)
        assert rules.waited_seconds(T0, taken_at=taken, closed_at=None, now=later) == 180
        assert rules.waited_seconds(T0, taken_at=None, closed_at=None, now=later) == 3600


class TestInATakenChat:
    def test_the_holder_passes_a_chat_to_someone_else(self) -> None:
        rules.check_transfer("taken", "alice", by="alice", to="bob", by_supervisor=False)

    def test_a_supervisor_passes_any_open_chat(self) -> None:
        rules.check_transfer("waiting", None, by="sue", to="bob", by_supervisor=True)
        rules.check_transfer("taken", "alice", by="sue", to="bob", by_supervisor=True)
        rules.check_transfer("taken", "alice", by="sue", to="sue", by_supervisor=True)

    @pytest.mark.parametrize(
        ("status", "taken_by", "by", "to", "by_supervisor", "code"),
        [
            ("closed", "alice", "sue", "bob", True, "handoff_closed"),
            ("waiting", None, "alice", "bob", False, "handoff_waiting"),
            ("taken", "alice", "carol", "bob", False, "not_your_handoff"),
            ("taken", "alice", "alice", "alice", False, "same_collector"),
            ("taken", "alice", "sue", "alice", True, "same_collector"),
        ],
    )
    def test_refused_transfers(
        self,
        status: str,
        taken_by: str | None,
        by: str,
        to: str,
        by_supervisor: bool,
        code: str,
    ) -> None:
        with pytest.raises(RuleBroken) as err:
            rules.check_transfer(status, taken_by, by=by, to=to, by_supervisor=by_supervisor)
        assert err.value.code == code

    def test_a_collector_opens_disputes_and_hardship_reports_only(self) -> None:
        for kind in ("dispute", "hardship"):
            rules.check_collector_case(kind)
        for kind in set(rules.CASE_KINDS) - {"dispute", "hardship"}:
            with pytest.raises(RuleBroken) as err:
                rules.check_collector_case(kind)
            assert err.value.code == "unknown_kind"

    def test_a_note_is_kept_without_surrounding_blanks(self) -> None:
        assert rules.clean_note("  call back after 6pm \n") == "call back after 6pm"

    @pytest.mark.parametrize(
        ("text", "code"),
        [("", "empty_note"), (" \n\t", "empty_note"), ("x" * 2001, "note_too_long")],
    )
    def test_blank_or_overlong_notes_are_refused(self, text: str, code: str) -> None:
        with pytest.raises(RuleBroken) as err:
            rules.clean_note(text)
        assert err.value.code == code

    @given(st.text(max_size=2100))
    def test_a_kept_note_is_never_blank_nor_longer_than_the_limit(self, text: str) -> None:
        try:
            kept = rules.clean_note(text)
        except RuleBroken:
            assert not text.strip() or len(text.strip()) > rules.NOTE_MAX_CHARS
        else:
            assert kept == kept.strip() and 0 < len(kept) <= rules.NOTE_MAX_CHARS
