"""Recognising resident ID numbers and mobile numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from geomap.privacy import THRESHOLD, is_mobile, is_phone, is_resident_id, personal_kind


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
        "138 0013 8000",
        "138-0013-8000",
        "008613800138000",
        "１３８００１３８０００",  # full-width digits
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


def test_threshold_is_half_for_numbers() -> None:
    assert THRESHOLD == 0.5
    # Half of the numbers personal: flagged; just under half: an amount column, not phones.
    assert personal_kind(pd.Series([13800138000, 13800138001, 5, 6])) == MOBILE
    assert personal_kind(pd.Series([13800138000, 5, 6])) is None


def test_one_personal_text_value_is_enough() -> None:
    # A text column publishes every value it holds: one phone or ID in it is a leak.
    assert personal_kind(pd.Series([VALID[0], "张三", "李四", "王五"])) == ID
    assert personal_kind(pd.Series(["x"] * 50 + ["13800138000"])) == MOBILE
    assert personal_kind(pd.Series(["备注", "联系人 王 138-0013-8000 白天"])) == MOBILE


def test_empty_and_missing_values_do_not_count() -> None:
    values = pd.Series([VALID[0], None, "", "   ", float("nan"), "张三"])
    assert personal_kind(values) == ID
    assert personal_kind(pd.Series([None, "", "  "], dtype=object)) is None
    assert personal_kind(pd.Series([], dtype=object)) is None


def test_invalid_check_digits_are_not_ids() -> None:
    assert personal_kind(pd.Series([wrong_check(v) for v in VALID])) is None


def test_ordinary_columns_are_not_personal() -> None:
    assert personal_kind(pd.Series(["西一村", "六村", "九村"])) is None
    assert personal_kind(pd.Series([120, 95, 210])) is None
    assert personal_kind(pd.Series(["V1", "V2"])) is None
    assert personal_kind(pd.Series(["2024-01-15", "2023-12-31 08:00", "12.5万元"])) is None
    assert personal_kind(pd.Series([13.8, 215.507, 2323.12, 1352.87])) is None
    assert personal_kind(pd.Series([True, False])) is None
    # Parcel codes (19 characters), project numbers, 12-digit administrative codes.
    assert personal_kind(pd.Series(["3311251010010010001", "XP-2024-001", "331125001001"])) is None


def test_ids_win_over_mobiles_when_both_pass() -> None:
    values = pd.Series([VALID[0], VALID[1], "13800138000", "13800138001"])
    assert personal_kind(values) == ID


# --- normalised values (issue 11): what drivers and spreadsheets make of the numbers ----


def test_float_mobiles_with_a_missing_cell() -> None:
    # A numeric column with one empty cell is float64: 13812345678.0.
    assert personal_kind(pd.Series([13812345678.0, float("nan"), 13912345678.0])) == MOBILE
    assert personal_kind(pd.Series(pd.array([13812345678, None], dtype="Int64"))) == MOBILE


@pytest.mark.parametrize(
    "text",
    ["138-1234-5678", "138 1234 5678", "+86 138 1234 5678", "+86-13812345678", "0086 13812345678"],
)
def test_grouped_and_prefixed_mobiles(text: str) -> None:
    assert personal_kind(pd.Series([text])) == MOBILE


@pytest.mark.parametrize(
    "text", ["0578-1234567", "(0578)1234567", "（0578）12345678", "010-12345678", "+86-578-1234567"]
)
def test_landlines(text: str) -> None:
    assert is_phone(text)
    assert personal_kind(pd.Series([text])) == "电话号码 phone number"


@pytest.mark.parametrize("text", ["2024-1234567", "578-1234567", "0578-123456", "05781234567"])
def test_not_landlines(text: str) -> None:
    assert not is_phone(text)


def test_phones_among_placeholders() -> None:
    column = pd.Series(["13812345678"] * 4 + ["无"] * 3 + ["—"] * 3)
    assert personal_kind(column) == MOBILE
    mixed = pd.Series([13812345678, "无", "—", "无", 13912345678, "/", "暂无"], dtype=object)
    assert personal_kind(mixed) == MOBILE


def test_every_value_is_examined() -> None:
    # 1000 blanks first, then the phones: a sample of the first values would miss them.
    column = pd.Series([None] * 1000 + [""] * 1000 + ["13812345678", "13912345678"])
    assert personal_kind(column) == MOBILE


def test_ids_stored_as_numbers() -> None:
    exact = int(VALID[1])
    assert personal_kind(pd.Series([exact, int(VALID[2])], dtype="int64")) == ID
    # As a float (JSON number, numeric DBF field) the last digits are lost, the region and
    # birth date are not.
    as_float = float(VALID[1])
    assert f"{as_float:.6e}".startswith("4.405")
    assert personal_kind(pd.Series([as_float, float(VALID[2]), float("nan")])) == ID
    # The exponent text a spreadsheet shows, and its 15-digit rounding.
    assert personal_kind(pd.Series(["3.31125198506123E+17"])) == ID
    assert personal_kind(pd.Series([VALID[2][:15] + "000"])) == ID


def test_implausible_float_ids_are_not_ids() -> None:
    # 18-digit numbers whose "birth date" is impossible, or whose region does not exist.
    assert personal_kind(pd.Series([331125199913456789.0])) is None
    assert personal_kind(pd.Series([991125198506123012.0])) is None
