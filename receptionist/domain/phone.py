"""Phone numbers: normalised to E.164 where they enter, masked wherever they are logged.

Trunk providers send numbers in whatever format their connection is set to (`14144007103`,
`4144007103`, `tel:+1...`, `sip:+1...@host`), and withheld callers arrive as `anonymous` or garbage.
libphonenumber parses them with the practice's region; anything it cannot validate is "unknown"
rather than a guess, because a wrong number is worse than none.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

UNKNOWN = "unknown"
_MAX_INPUT = 64
_URI_SCHEME = re.compile(r"^(?:tel|sips?):", re.IGNORECASE)


def normalize(raw: str | None, region: str) -> str:
    """`raw` as an E.164 number (`+14144007103`), or `UNKNOWN` if it is not a real number."""
    text = _strip_uri(raw or "")
    if not text or len(text) > _MAX_INPUT or any(ch.isalpha() for ch in text):
        return UNKNOWN
    for candidate in _candidates(text, region):
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return UNKNOWN


def _strip_uri(raw: str) -> str:
    """`sip:+1414...@host;user=phone` -> `+1414...`; `tel:+1414...;ext=1` -> `+1414...`."""
    text = _URI_SCHEME.sub("", raw.strip())
    return text.split("@", 1)[0].split(";", 1)[0].strip()


def _candidates(text: str, region: str) -> list[str]:
    """National form first; then, for bare digits, the same digits read as international.

    `14144007103` is not a valid US national number but `+14144007103` is: providers that drop
    the `+` still send the country code. Bare digits are read as international only when they
    start with the region's country code or are too long to be national, so an invalid national
    number (`4602000000`) is never turned into a foreign one (`+46 ...`).
    """
    candidates = [text]
    country_code = str(phonenumbers.country_code_for_region(region))
    if text.isdigit() and (text.startswith(country_code) or len(text) > 10):
        candidates.append("+" + text)
    return candidates


def mask(number: str | None) -> str:
    """Keeps only the last four digits, for logs: `+14144007103` -> `***7103`."""
    digits = re.sub(r"\D", "", number or "")
    if not digits:
        return UNKNOWN
    return "***" + digits[-4:]


@functools.lru_cache(maxsize=4096)  # pages check the same few hundred numbers on every view
def is_e164(number: str) -> bool:
    return bool(re.fullmatch(r"\+[1-9]\d{6,14}", number)) and normalize(number, "ZZ") == number
