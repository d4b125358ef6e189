import pytest

from backend.borrowers.identity import (
    InvalidPhone,
    hash_id_number,
    id_last4,
    mask_phone,
    normalise_phone,
)


class TestPhones:
    @pytest.mark.parametrize(
        ("raw", "e164"),
        [
            ("138 0013 8000", "+8613800138000"),
            ("+86-138-0013-8000", "+8613800138000"),
            ("+65 9123 4567", "+6591234567"),
            ("+44 7700 900123", "+447700900123"),
        ],
    )
    def test_normalises_to_e164(self, raw: str, e164: str) -> None:
        assert normalise_phone(raw) == e164

    @pytest.mark.parametrize("raw", ["hello", "12", ""])
    def test_refuses_non_numbers(self, raw: str) -> None:
        with pytest.raises(InvalidPhone):
            normalise_phone(raw)

    def test_mask_keeps_country_code_and_last_four(self) -> None:
        assert mask_phone("+8613800138000") == "+86*******8000"


class TestIdNumbers:
    def test_hash_ignores_spacing_and_case_but_not_digits(self) -> None:
        key = "k"
        assert hash_id_number("110105 19900307 123x", key) == hash_id_number(
            "11010519900307123X", key
        )
        assert hash_id_number("11010519900307123X", key) != hash_id_number(
            "110105199003071234", key
        )
        assert hash_id_number("11010519900307123X", key) != hash_id_number(
            "11010519900307123X", "j"
        )

    def test_last4(self) -> None:
        assert id_last4("110105-19900307-123x") == "123X"
