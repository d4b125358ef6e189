"""How a delivery report moves an outbound message, and the wait before a retry."""

from datetime import UTC, datetime, timedelta

import pytest

from backend.outbound import rules, texts
from backend.outbound.rules import MAX_ATTEMPTS, Move, RuleBroken, backoff, on_report

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


class TestBackoff:
    def test_ten_seconds_doubling_per_attempt(self) -> None:
        assert [backoff(n).total_seconds() for n in range(1, 8)] == [
            10,
            20,
            40,
            80,
            160,
            320,
            600,
        ]

    @pytest.mark.parametrize("attempts", [7, 8, 20, 10_000])
    def test_never_more_than_ten_minutes(self, attempts: int) -> None:
        assert backoff(attempts) == timedelta(minutes=10)

    def test_a_message_never_tried_waits_the_first_step(self) -> None:
        assert backoff(0) == timedelta(seconds=10)


class TestReports:
    @pytest.mark.parametrize("report", ["delivered", "stored", "failed"])
    def test_a_final_report_on_a_pending_message_is_final(self, report: str) -> None:
        assert on_report(status="pending", attempts=1, report=report, now=NOW) == Move(report)

    @pytest.mark.parametrize("final", ["delivered", "stored", "failed"])
    def test_the_same_final_report_again_changes_nothing(self, final: str) -> None:
        move = on_report(status=final, attempts=3, report=final, now=NOW)
        assert move == Move(final, changed=False)

    @pytest.mark.parametrize(
        ("final", "report"), [("delivered", "failed"), ("failed", "retry"), ("stored", "delivered")]
    )
    def test_a_final_status_does_not_change(self, final: str, report: str) -> None:
        with pytest.raises(RuleBroken) as refused:
            on_report(status=final, attempts=1, report=report, now=NOW)
        assert refused.value.code == "delivery_final"

    def test_a_retry_goes_back_to_the_queue_after_the_backoff(self) -> None:
        move = on_report(status="pending", attempts=3, report="retry", now=NOW)
        assert move == Move("pending", next_attempt_at=NOW + timedelta(seconds=40))

    def test_a_retry_waits_what_the_channel_asks(self) -> None:
        wait = timedelta(seconds=3)
        move = on_report(status="pending", attempts=1, report="retry", now=NOW, retry_after=wait)
        assert move.next_attempt_at == NOW + wait

    def test_the_last_attempt_fails_for_good(self) -> None:
        before_last = on_report(
            status="pending", attempts=MAX_ATTEMPTS - 1, report="retry", now=NOW
        )
        assert before_last.status == "pending"
        assert on_report(status="pending", attempts=MAX_ATTEMPTS, report="retry", now=NOW) == Move(
            "failed"
        )

    def test_a_message_never_claimed_cannot_be_reported(self) -> None:
        with pytest.raises(RuleBroken) as refused:
            on_report(status="pending", attempts=0, report="delivered", now=NOW)
        assert refused.value.code == "not_claimed"

    def test_an_unknown_report_is_refused(self) -> None:
        with pytest.raises(RuleBroken) as refused:
            on_report(status="pending", attempts=1, report="lost", now=NOW)
        assert refused.value.code == "unknown_status"

    def test_every_report_and_status_is_named_once(self) -> None:
        assert set(rules.REPORTS) - {"retry"} == rules.FINAL
        assert set(rules.STATUSES) == rules.FINAL | {"pending"}


class TestTexts:
    def test_the_borrowers_language_then_the_chats_then_chinese(self) -> None:
        assert texts.pick_language("en", "zh") == "en"
        assert texts.pick_language(None, "en") == "en"
        assert texts.pick_language(None, None) == "zh"
        assert texts.pick_language("fr") == "zh"

    def test_every_text_is_in_every_language(self) -> None:
        for key, by_language in texts.TEXTS.items():
            assert set(by_language) == set(texts.LANGUAGES), key

    def test_a_settlement_in_several_parts_says_so(self) -> None:
        figures = {
            "loan": "L9",
            "currency": "CNY",
            "total": "9000.00",
            "discount": "3000.00",
            "first_amount": "3000.00",
            "first_date": "2026-04-01",
        }
        en = texts.settlement_approved("en", parts=3, **figures)
        assert "You pay 9000.00 CNY in all (3000.00 CNY off) in 3 payments;" in en
        assert "分3笔还清" in texts.settlement_approved("zh", parts=3, **figures)
        assert "笔还清" not in texts.settlement_approved("zh", parts=1, **figures)
        assert "payments;" not in texts.settlement_approved("en", parts=1, **figures)
