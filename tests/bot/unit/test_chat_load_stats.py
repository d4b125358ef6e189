"""The web chat load benchmark's pure parts: scripts, percentiles, the printed tables."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.chat_load import (
    CONVERSATIONS,
    START,
    Result,
    answered,
    channel_body,
    format_errors,
    format_ratios,
    format_table,
    gateway_message,
    is_verified,
    parse_levels,
    percentiles,
    rasa_message,
    ratio,
    rounds_at,
    script_for,
    summarise,
)


class TestParseLevels:
    def test_reads_a_comma_separated_list(self) -> None:
        assert parse_levels("10,50,100") == [10, 50, 100]
        assert parse_levels("5") == [5]

    @pytest.mark.parametrize("text", ["", "0", "10,-1", "ten"])
    def test_refuses_what_is_not_positive_integers(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_levels(text)


class TestRounds:
    def test_more_rounds_where_the_given_ones_send_too_few_messages(self) -> None:
        assert rounds_at(1, 6, 3, 60) == 10  # one borrower: 60 messages, not 18
        assert rounds_at(10, 6, 3, 60) == 3  # 180 already
        assert rounds_at(7, 6, 1, 60) == 2  # 42 are too few: 84
        assert rounds_at(3, 2, 1, 1) == 1


class TestScripts:
    def test_a_borrower_holds_its_conversation_cycled_to_the_turns(self) -> None:
        first = CONVERSATIONS[0]
        assert script_for(0, 3) == list(first[:3])
        assert script_for(0, len(first) + 1) == [*first, first[0]]

    def test_borrowers_take_turns_through_the_conversations(self) -> None:
        assert script_for(1, 2) == list(CONVERSATIONS[1][:2])
        assert script_for(len(CONVERSATIONS), 2) == script_for(0, 2)

    def test_the_conversations_mix_chinese_and_english(self) -> None:
        words = " ".join(m for c in CONVERSATIONS for m in c)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in words)
        assert "what can you do" in words

    def test_a_verified_borrower_links_first_then_asks_what_it_owes(self) -> None:
        script = script_for(0, 5, verified=True)
        assert script[:2] == [START, "我还欠多少钱"]
        assert len(script) == 5

    def test_too_few_turns_leave_verification_out(self) -> None:
        assert START not in script_for(0, 1, verified=True)

    def test_every_kth_borrower_is_verified(self) -> None:
        assert [i for i in range(12) if is_verified(i, 5)] == [4, 9]
        assert not any(is_verified(i, 0) for i in range(12))

    def test_the_channel_path_sends_what_the_gateway_sends(self) -> None:
        body = channel_body("webchat:b1", "你好")
        assert body["message"] == body["inbound"]["text"] == "你好"
        assert body["metadata"]["turn"] == body["inbound"]["external_id"]
        assert set(body["inbound"]) == {"text", "external_id", "sent_at", "kind"}
        token = channel_body("webchat:b1", '/verify_token{"token": "secret"}')
        assert "secret" not in token["inbound"]["text"]
        assert answered({"replies": [], "reading": None}) and answered([])
        assert not answered({"error": "the turn failed"})

    def test_each_path_sends_the_token_its_own_way(self) -> None:
        assert gateway_message(START, "abc_12-X") == "/start abc_12-X"
        payload = rasa_message(START, "abc_12-X")
        assert payload.startswith("/verify_token")
        assert json.loads(payload.removeprefix("/verify_token")) == {"token": "abc_12-X"}
        assert gateway_message("你好", None) == rasa_message("你好", None) == "你好"


class TestPercentiles:
    def test_none_without_data(self) -> None:
        assert percentiles([]) is None

    def test_one_sample_is_every_percentile(self) -> None:
        assert percentiles([42.0]) == (42.0, 42.0, 42.0)

    def test_inclusive_percentiles_of_1_to_100(self) -> None:
        p50, p95, p99 = percentiles([float(i) for i in range(1, 101)]) or (0, 0, 0)
        assert p50 == pytest.approx(50.5)
        assert p95 == pytest.approx(95.05)
        assert p99 == pytest.approx(99.01)

    def test_stay_within_the_observed_range(self) -> None:
        p50, p95, p99 = percentiles([10.0, 20.0]) or (0, 0, 0)
        assert 10.0 <= p50 <= p95 <= p99 <= 20.0


class TestSummarise:
    def test_counts_answered_and_failed_messages(self) -> None:
        result = summarise(10, "gateway", [100.0, 200.0, 300.0], Counter({"HTTP 429": 1}), 2.0)
        assert result.messages == 4
        assert result.errors == 1
        assert result.rate == pytest.approx(1.5)  # answered per second
        assert result.p95 == pytest.approx(290.0)
        assert result.error_kinds == {"HTTP 429": 1}

    def test_all_failed_has_no_latency(self) -> None:
        result = summarise(10, "rasa", [], Counter({"ConnectError": 3}), 1.0)
        assert result.latency_ms is None and result.p95 is None and result.rate == 0.0


class TestRatio:
    def test_divides(self) -> None:
        assert ratio(3.0, 2.0) == 1.5

    @pytest.mark.parametrize(("a", "b"), [(None, 1.0), (1.0, None), (1.0, 0.0)])
    def test_none_when_undefined(self, a: float | None, b: float | None) -> None:
        assert ratio(a, b) is None


def results() -> list[Result]:
    return [
        Result(10, "gateway", 60, 0, 2.0, (50.0, 120.0, 150.0)),
        Result(10, "rasa", 60, 0, 1.5, (40.0, 100.0, 110.0)),
        Result(50, "gateway", 300, 2, 10.0, (80.0, 300.0, 400.0), {"HTTP 429": 2}),
        Result(50, "rasa", 300, 0, 8.0, None),
    ]


class TestTables:
    def test_one_row_per_concurrency_and_path_under_a_header(self) -> None:
        lines = format_table(results())
        header = "concurrency path messages msgs/s p50 ms p95 ms p99 ms errors"
        assert lines[0].split() == header.split()
        assert lines[1].split() == ["10", "gateway", "60", "30.0", "50", "120", "150", "0"]
        assert lines[4].split() == ["50", "rasa", "300", "37.5", "-", "-", "-", "0"]
        assert len({len(line) for line in lines}) == 1  # aligned columns

    def test_ratios_gateway_over_rasa(self) -> None:
        lines = format_ratios(results())
        assert lines[1].split() == ["10", "0.75", "1.20"]
        assert lines[2].split() == ["50", "0.79", "-"]

    def test_ratios_of_the_channel_path_beside_the_gateways_when_measured(self) -> None:
        measured = [*results(), Result(10, "channel", 60, 0, 1.8, (45.0, 110.0, 120.0))]
        lines = format_ratios(measured)
        assert lines[0].split()[-4:] == ["msgs/s", "channel/rasa", "p95", "channel/rasa"]
        assert lines[1].split() == ["10", "0.75", "1.20", "0.83", "1.10"]
        assert lines[2].split() == ["50", "0.79", "-", "-", "-"]

    def test_errors_by_kind(self) -> None:
        assert format_errors(results()) == ["[gateway x50] errors: HTTP 429 x2"]
