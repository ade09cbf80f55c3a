"""core.parsing.parse_decimal: one parser for amounts a channel sends as JSON numbers or as strings, and
parse_money on top of it keeps refusing what a money column cannot hold."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import ValidationFailed
from core.parsing import parse_decimal, parse_money


@pytest.mark.parametrize(("value", "expected"), [
    (20.9, Decimal("20.9")), (3, Decimal("3")), ("41.80", Decimal("41.80")), (" 0.00 ", Decimal("0.00")),
    (10 / 3, Decimal("3.3333333333333335")), (Decimal("1.005"), Decimal("1.005")), ("-6.00", Decimal("-6.00")),
])
def test_numbers_and_strings_parse_exactly_as_written(value, expected):
    parsed = parse_decimal(value, field="price")

    assert parsed == expected
    assert str(parsed) == str(expected)


@pytest.mark.parametrize("value", [True, "", None, "abc", "NaN", "Infinity", float("nan"), float("inf"), "1\x002"])
def test_what_is_no_finite_number_is_a_validation_error_naming_the_field(value):
    with pytest.raises(ValidationFailed) as raised:
        parse_decimal(value, field="price")

    assert raised.value.details == {"field": "price"}


def test_parse_money_takes_a_json_number_and_still_refuses_a_third_decimal():
    assert parse_money(20.9, field="total") == Decimal("20.9")
    with pytest.raises(ValidationFailed):
        parse_money("1.005", field="total")
    with pytest.raises(ValidationFailed):
        parse_money(-1, field="total")
