from bot.webchat import RateLimit


def test_a_sender_past_its_minute_allowance_is_refused_and_others_are_not() -> None:
    limit = RateLimit(per_minute=3)
    assert [limit.allow("page-a") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("page-b")
