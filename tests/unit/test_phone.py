"""Phone numbers are normalised to E.164 with libphonenumber semantics, or become "unknown"."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receptionist.domain.phone import UNKNOWN, is_e164, mask, normalize


@pytest.mark.parametrize(
    "raw",
    [
        "14144007103",
        "4144007103",
        "+14144007103",
        "+1 (414) 400-7103",
        "(414) 400-7103",
        "414.400.7103",
        "tel:+14144007103",
        "sip:+14144007103@host;user=phone",
        "sips:14144007103@pbx.example.com",
        "  +1 414 400 7103  ",
    ],
)
def test_us_formats_become_e164(raw):
    assert normalize(raw, "US") == "+14144007103"


@pytest.mark.parametrize(
    "raw",
    [
        "anonymous",
        "unknown",
        "",
        "+",
        "1" * 40,
        "abc",
        "sip:anonymous@anonymous.invalid",
        "Restricted",
        "555",
        "0000000000",
        "+1 800 FLOWERS",
        None,
        "tel:",
        "sip:@host",
    ],
)
def test_withheld_or_unusable_values_are_unknown(raw):
    assert normalize(raw, "US") == UNKNOWN


def test_national_number_is_read_in_the_practice_region():
    assert normalize("020 7183 8750", "GB") == "+442071838750"
    # The same digits mean nothing valid in the US: never invent a number by prefixing "+".
    assert normalize("02071838750", "US") == UNKNOWN


def test_foreign_caller_in_international_form_is_kept():
    assert normalize("+442071838750", "US") == "+442071838750"


def test_mask_keeps_only_last_four_digits():
    assert mask("+14144007103") == "***7103"
    assert mask("") == UNKNOWN


@given(st.text(max_size=80))
def test_any_text_gives_e164_or_unknown_and_never_raises(raw):
    result = normalize(raw, "US")
    assert result == UNKNOWN or is_e164(result)


@given(st.from_regex(r"[2-9][0-8][0-9][2-9][0-9]{6}", fullmatch=True))
def test_ten_digit_us_numbers_get_the_country_code(digits):
    result = normalize(digits, "US")
    assert result in (UNKNOWN, "+1" + digits)


@given(st.from_regex(r"\+1[2-9][0-8][0-9][2-9][0-9]{6}", fullmatch=True))
def test_normalising_is_idempotent(number):
    once = normalize(number, "US")
    assert normalize(once, "US") == once
    if once != UNKNOWN:
        assert normalize(f"tel:{once}", "US") == once
        assert normalize(f"sip:{once}@trunk.example;user=phone", "US") == once
