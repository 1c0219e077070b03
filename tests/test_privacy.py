"""Recognising resident ID numbers and mobile numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from geomap.privacy import THRESHOLD, is_mobile, is_resident_id, personal_kind


def check_digit(first17: str) -> str:
    """GB 11643-1999: weight of position i (from the right, check digit = 1) is 2^(i-1) mod 11;
    the check digit makes the weighted sum ≡ 1 (mod 11)."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(first17: str) -> str:
    return first17 + check_digit(first17)


def test_check_digit_helper_matches_the_standard_example() -> None:
    assert check_digit("11010519491231002") == "X"
    assert check_digit("44052418800101001") == "4"


VALID = [
    make_id("11010519491231002"),  # ends in X
    make_id("44052418800101001"),
    make_id("33112519850612301"),
    make_id("33112520010229456"),
    make_id("51010419700101123"),
]


@pytest.mark.parametrize("text", VALID)
def test_valid_resident_ids(text: str) -> None:
    assert is_resident_id(text)


def test_lower_case_x_is_accepted() -> None:
    assert VALID[0].endswith("X")
    assert is_resident_id(VALID[0][:-1] + "x")


def wrong_check(text: str) -> str:
    digits = "0123456789X"
    return text[:17] + digits[(digits.index(text[17]) + 1) % 11]


@pytest.mark.parametrize(
    "text",
    [
        *(wrong_check(v) for v in VALID),
        "11010519491231002",  # 17 digits
        "11010519491231002X1",  # 19 characters
        "1101051949123100XX",
        "11010519491231002Y",
        "A10105194912310025",
        "110105 19491231002X",
        "",
        "330000000000000000",  # the check digit would be 8
    ],
)
def test_invalid_resident_ids(text: str) -> None:
    assert not is_resident_id(text)


@pytest.mark.parametrize(
    "text",
    [
        "13800138000",
        "19912345678",
        "15012345678",
        "+8613800138000",
        "8613800138000",
        "86-13800138000",
        "+86 13800138000",
    ],
)
def test_mobile_numbers(text: str) -> None:
    assert is_mobile(text)


@pytest.mark.parametrize(
    "text",
    [
        "12800138000",
        "10800138000",
        "1380013800",
        "138001380001",
        "23800138000",
        "0578-8123456",
        "1380013800a",
        "138 0013 8000",
        "",
        "+87 13800138000",
    ],
)
def test_not_mobile_numbers(text: str) -> None:
    assert not is_mobile(text)


ID = "身份证号 resident ID"
MOBILE = "手机号 mobile number"


def test_personal_kind_resident_ids() -> None:
    assert personal_kind(pd.Series(VALID)) == ID


def test_personal_kind_mobiles_as_numbers() -> None:
    assert personal_kind(pd.Series([13800138000, 19912345678, 15012345678])) == MOBILE


def test_threshold_is_half() -> None:
    assert THRESHOLD == 0.5
    # Exactly half personal: flagged.
    assert personal_kind(pd.Series([VALID[0], VALID[1], "张三", "李四"])) == ID
    assert personal_kind(pd.Series(["13800138000", "x"])) == MOBILE
    # Just under half: not flagged.
    assert personal_kind(pd.Series([VALID[0], "张三", "李四"])) is None
    assert personal_kind(pd.Series(["13800138000", "x", "y"])) is None


def test_empty_and_missing_values_do_not_count() -> None:
    values = pd.Series([VALID[0], None, "", "   ", float("nan"), "张三"])
    assert personal_kind(values) == ID  # 1 of 2 non-empty values
    assert personal_kind(pd.Series([None, "", "  "], dtype=object)) is None
    assert personal_kind(pd.Series([], dtype=object)) is None


def test_invalid_check_digits_are_not_ids() -> None:
    assert personal_kind(pd.Series([wrong_check(v) for v in VALID])) is None


def test_ordinary_columns_are_not_personal() -> None:
    assert personal_kind(pd.Series(["西一村", "六村", "九村"])) is None
    assert personal_kind(pd.Series([120, 95, 210])) is None
    assert personal_kind(pd.Series(["V1", "V2"])) is None


def test_sample_limits_the_values_examined() -> None:
    values = pd.Series([VALID[0], VALID[1], "a", "b", "c", "d", "e"])
    assert personal_kind(values) is None  # 2 of 7
    assert personal_kind(values, sample=2) == ID  # only the first two are examined
    assert personal_kind(values, sample=4) == ID  # 2 of 4
    assert personal_kind(values, sample=5) is None  # 2 of 5


def test_ids_win_over_mobiles_when_both_pass() -> None:
    values = pd.Series([VALID[0], VALID[1], "13800138000", "13800138001"])
    assert personal_kind(values) == ID
