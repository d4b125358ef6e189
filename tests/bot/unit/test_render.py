from bot.render import (
    CALLBACK_DATA_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    callback_data,
    keyboard_rows,
    parse_callback,
    reply_ref,
    split_text,
)


class TestSplitText:
    def test_keeps_a_short_text_whole(self) -> None:
        assert split_text("您好") == ["您好"]

    def test_cuts_a_long_text_at_line_breaks_within_the_limit(self) -> None:
        text = "\n".join(f"第{i}行：" + "还款" * 60 for i in range(100))
        pieces = split_text(text)
        assert len(pieces) > 1
        assert all(0 < len(p) <= TELEGRAM_TEXT_LIMIT for p in pieces)
        assert "\n".join(pieces) == text

    def test_cuts_text_without_any_break_at_the_limit(self) -> None:
        text = "款" * (TELEGRAM_TEXT_LIMIT * 2 + 5)
        pieces = split_text(text)
        assert [len(p) for p in pieces] == [TELEGRAM_TEXT_LIMIT, TELEGRAM_TEXT_LIMIT, 5]
        assert "".join(pieces) == text


class TestCallbackData:
    def test_a_logged_reply_refers_to_its_button_by_message_and_position(self) -> None:
        ref = reply_ref(123456789012, "m5:r1")
        data = callback_data(ref, 3, '/choose_offer{"offer_id": "installment-12-很长"}')
        assert data == "m123456789012.3"
        assert parse_callback(data) == (123456789012, 3)

    def test_a_reply_not_logged_yet_refers_to_its_button_by_its_own_id(self) -> None:
        # The relay answers before the replies are logged: they are named by the id they
        # will be logged under (the borrower message's id and the reply's place).
        for external_id in ("m4821:r0", "c" + "9" * 19 + ":r2", "g" + "a" * 32 + ":r1"):
            data = callback_data(reply_ref(None, external_id), 1, "/request_human")
            assert data == f"e{external_id}.1" and len(data) <= CALLBACK_DATA_LIMIT
            assert parse_callback(data) == (external_id, 1)

    def test_an_id_that_would_not_fit_carries_the_payload_instead(self) -> None:
        assert reply_ref(None, "x" * 70) is None
        assert reply_ref(None, "with.dot") is None
        assert callback_data(reply_ref(None, "x" * 70), 0, "/request_human") == "p/request_human"

    def test_an_unlogged_reply_carries_a_short_payload_inline(self) -> None:
        data = callback_data(None, 0, "/request_human")
        assert data is not None and len(data.encode()) <= CALLBACK_DATA_LIMIT
        assert parse_callback(data) == "/request_human"

    def test_an_unlogged_payload_over_64_bytes_is_not_offered(self) -> None:
        assert callback_data(None, 0, '/choose_offer{"offer_id": "' + "分期" * 20 + '"}') is None

    def test_unreadable_data_is_none(self) -> None:
        assert parse_callback("hello") is None
        assert parse_callback("m12.x") is None


def test_short_buttons_share_a_row_and_long_ones_stand_alone() -> None:
    buttons = [
        {"title": "查余额", "payload": "/check_balance"},
        {"title": "还款", "payload": "/make_payment"},
        {"title": "I would like to talk to a person please", "payload": "/request_human"},
    ]
    rows = keyboard_rows(buttons, "m7")
    assert [[t for t, _ in row] for row in rows] == [
        ["查余额", "还款"],
        ["I would like to talk to a person please"],
    ]
    assert rows[1][0][1] == "m7.2"
