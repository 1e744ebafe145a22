"""What the try-out's stand-in (standin.py) reads out of the caller's words, without a model.

The requests it knows, names, dates of birth, callback numbers, and above all which of the times
it offered the caller picked. That last one is matched against what was offered: "the Thursday
one", "December 3", "the 2 PM", "eight", "the second", "option 2". A bare number is an option
number only when nothing else in the words names a time ("the Thursday one" is Thursday, not
option 1), and words that fit several offers are reported as such, so the stand-in asks which
one instead of guessing. Pure functions: no LiveKit, no tools.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Intent(StrEnum):
    HOURS = "hours"
    BOOK = "book"
    CANCEL = "cancel"
    PERSON = "person"
    MESSAGE = "message"
    EMERGENCY = "emergency"
    GOODBYE = "goodbye"
    UNKNOWN = "unknown"


# Checked in this order: an emergency comes before everything; "cancel my appointment" is a
# cancellation, not a booking; "have someone call me back" is a message, not a transfer.
_KEYWORDS: tuple[tuple[Intent, tuple[str, ...]], ...] = (
    (Intent.EMERGENCY, ("emergency", "urgent", "pain", "toothache", "tooth ache", "hurt", "ache",
                        "aching", "knocked out", "knocked-out", "broken tooth", "broke a tooth",
                        "broke my tooth", "cracked", "chipped", "swelling", "swollen", "bleeding",
                        "abscess", "can't breathe", "cannot breathe", "trouble breathing",
                        "can't swallow", "cannot swallow")),
    (Intent.GOODBYE, ("goodbye", "bye", "that's all", "that is all", "nothing else", "hang up")),
    (Intent.MESSAGE, ("message", "call me back", "call back", "callback", "ring me back",
                      "get back to me")),
    (Intent.PERSON, ("someone", "somebody", "person", "human", "staff", "operator",
                     "receptionist", "talk to", "speak to", "speak with", "talk with")),
    (Intent.CANCEL, ("cancel",)),
    (Intent.HOURS, ("hour", "open", "close", "closing")),
    (Intent.BOOK, ("book", "appointment", "cleaning", "check-up", "checkup", "schedule",
                   "come in")),
)  # fmt: skip
# What makes an emergency life-threatening (the emergency tool's own definition): these go to
# the emergency number, everything else is an urgent dental problem.
_LIFE_THREATENING = (
    "breath", "swallow", "won't stop bleeding", "will not stop bleeding", "not stopping",
    "heavy bleeding", "bleeding heavily", "bleeding a lot", "lot of blood", "eye", "neck",
    "unconscious", "passed out", "fainted", "serious injury", "seriously injured", "accident",
)  # fmt: skip
_URGENCY = (("urgent", ("urgent", "asap", "as soon as possible", "right away", "emergency")),
            ("soon", ("soon", "today", "this week")))  # fmt: skip
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sept", "sep"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        (("monday",), ("tuesday", "tues"), ("wednesday", "weds"), ("thursday", "thurs", "thur"),
         ("friday",), ("saturday",), ("sunday",))
    )
    for name in names
}  # fmt: skip
_ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                  "ninth", "tenth", "eleventh", "twelfth")  # fmt: skip
_NUMBER_WORDS = {  # "forty five" before "five"
    "forty five": 45, "forty-five": 45, "fifteen": 15, "thirty": 30, "two": 2, "three": 3,
    "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_YES = ("yes", "yeah", "yep", "sure", "please do", "go ahead", "cancel it", "correct", "ok")
_NO = ("no", "nope", "keep it", "don't", "do not", "never mind")
_NAME_PREFIXES = ("my name is", "name is", "this is", "it's", "it is", "i'm", "i am")
_PHONE = re.compile(r"[+(]?\d[\d\s().\-]{5,}\d")
_SAME_NUMBER = ("this number", "same number", "number i'm calling from", "calling from")


def _words(text: str) -> str:
    text = text.lower().replace("’", "'")
    return " " + re.sub(r"[^a-z0-9'\- ]+", " ", text) + " "


def _has(text: str, phrase: str) -> bool:
    """Whole-word match: "open" is not found in "reopen", nor "bye" in "abbey"."""
    return re.search(rf"(?<![a-z]){re.escape(phrase)}", _words(text)) is not None


def recognise(text: str) -> Intent:
    """Which of the stand-in's few requests `text` is, by its words."""
    for intent, phrases in _KEYWORDS:
        if any(_has(text, phrase) for phrase in phrases):
            return intent
    return Intent.UNKNOWN


def emergency_kind(text: str) -> str:
    """`life_threatening` or `urgent_dental`, as the emergency tool's `kind` takes them."""
    if any(_has(text, phrase) for phrase in _LIFE_THREATENING):
        return "life_threatening"
    return "urgent_dental"


def urgency(text: str) -> str:
    """How soon a message asks to be answered: `urgent`, `soon` or `routine` (its words)."""
    for level, phrases in _URGENCY:
        if any(_has(text, phrase) for phrase in phrases):
            return level
    return "routine"


def parse_birth_date(text: str) -> date | None:
    """A date as people say or type it: 1980-02-29, 2/29/1980 (US order), February 29th 1980,
    29 Feb 1980. None when there is no whole date in `text`."""
    lowered = text.lower()
    try:
        if m := re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", lowered):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.search(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b", lowered):
            return date(int(m[3]), int(m[1]), int(m[2]))
        month = next((n for w, n in _MONTHS.items() if re.search(rf"\b{w}\b", lowered)), None)
        year = re.search(r"\b(1[89]\d\d|20\d\d)\b", lowered)
        day = re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\b", re.sub(r"\b\d{4}\b", "", lowered))
        if month and year and day:
            return date(int(year[1]), month, int(day[1]))
    except ValueError:  # February 30th and the like
        return None
    return None


def parse_name(text: str, *, least: int = 2) -> str | None:
    """A name from "Ann Lee", "my name is Ann Lee, born ...": None unless `least` to four words
    of letters (two for verify_patient, which needs a first and last name)."""
    lowered = text.strip().lower()
    for prefix in _NAME_PREFIXES:
        if lowered.startswith(prefix):
            text = text.strip()[len(prefix) :]
            break
    text = re.split(r",|\bborn\b|\bdate of birth\b|\d", text, maxsplit=1)[0]
    words = [w for w in re.findall(r"[^\W\d_][^\W\d_'’.\-]*", text) if w.lower() != "and"]
    if len(words) < least or len(words) > 4:
        return None
    return " ".join(w[:1].upper() + w[1:] for w in words)


def parse_callback(text: str) -> str | None:
    """The number typed in `text` as written ("414-555-0123"), "" for "this number", or None.

    Not validated here: the message tool reads it in the practice's region and says if it is
    not a real number."""
    if m := _PHONE.search(text):
        return m[0].strip()
    if any(_has(text, phrase) for phrase in _SAME_NUMBER):
        return ""
    return None


def is_yes(text: str) -> bool:
    return any(_has(text, w) for w in _YES) and not is_no(text)


def is_no(text: str) -> bool:
    return any(_has(text, w) for w in _NO)


# -- which offered time -----------------------------------------------------------------------


@dataclass(frozen=True)
class Offered:
    """What one offered time's words say: "tomorrow (Wednesday) at 10 AM with Maria Santos"."""

    weekday: int | None
    day: tuple[int, int] | None  # (month, day): the tool's words carry no year
    relative: str  # "today", "tomorrow" or ""
    hour: int | None  # 0-23
    minute: int
    provider: frozenset[str]  # the provider's names, lower case

    @classmethod
    def read(cls, text: str, today: date | None = None) -> Offered:
        """Reads the receptionist's own phrasing (domain/spoken.py's `spoken_time`)."""
        lowered = text.lower()
        weekday = next((i for w, i in _WEEKDAYS.items() if re.search(rf"\b{w}\b", lowered)), None)
        day = None
        if m := re.search(rf"\b({'|'.join(_MONTHS)}) (\d{{1,2}})\b", lowered):
            day = (_MONTHS[m[1]], int(m[2]))
        relative = next((w for w in ("today", "tomorrow") if re.search(rf"\b{w}\b", lowered)), "")
        if relative and today is not None:
            on = today + timedelta(days=1 if relative == "tomorrow" else 0)
            weekday, day = on.weekday(), (on.month, on.day)
        hour, minute = None, 0
        if m := re.search(r"\b(\d{1,2})(?::(\d\d))? ?([ap])m\b", lowered):
            hour = int(m[1]) % 12 + (12 if m[3] == "p" else 0)
            minute = int(m[2] or 0)
        _, with_, provider = lowered.partition(" with ")
        names = frozenset(re.findall(r"[a-z]+", provider)) - {"dr", "and"} if with_ else frozenset()
        return cls(weekday, day, relative, hour, minute, names)


@dataclass(frozen=True)
class Choice:
    """Which offers the caller's words fit: one is a choice, several need a question."""

    fits: tuple[int, ...]  # 0-based, in the order offered
    understood: bool  # the words named a time or an option (even one that was not offered)

    @property
    def picked(self) -> int | None:
        return self.fits[0] if len(self.fits) == 1 else None


# "one" is a number only where a time or an option is meant ("at one", "option one", "one pm",
# "one thirty"); in "the Thursday one" or "that one works" it points at an offer.
_ONE_AS_NUMBER = re.compile(
    r"(?:(?<=\bat )|(?<=\boption )|(?<=\bnumber )|(?<=\bchoice )|(?<=\bpast )|(?<=\bto ))one\b"
    r"|\bone(?= (?:o'?clock|[ap]m|15|30|45)\b)"
)
_PERIODS = {"morning": range(0, 12), "afternoon": range(12, 17), "evening": range(17, 24)}
_MONTH_NAMES = "|".join(_MONTHS)
_ORDINALS = "|".join(_ORDINAL_WORDS)


def _normalised(text: str) -> str:
    """Lower case, punctuation gone, "2 p.m." as "2pm", number words as digits (see above)."""
    text = _words(text.replace("a.m.", "am").replace("p.m.", "pm")).replace("-", " ")
    for word, number in _NUMBER_WORDS.items():
        text = re.sub(rf"\b{word}\b", str(number), text)
    text = _ONE_AS_NUMBER.sub("1", text)
    if text.split() in (["one"], ["one", "please"], ["the", "one"]):
        text = " 1 "
    return re.sub(r"\b(\d{1,2}) ?([ap])m\b", r"\1\2m", text)


class _Reading:
    """One reading of the caller's words against the offers: each phrase found is taken out of
    the words (so "December 3" is not also a bare 3) and becomes a set of offers it fits."""

    def __init__(self, text: str, offers: list[Offered]) -> None:
        self.words = _normalised(text)
        self.offers = offers
        self.narrowed: list[frozenset[int]] = []  # one set per phrase naming a time
        self.ordinal: set[int] = set()  # "the second", "option 2"
        self.unknown_option = False  # "option 5" of three

    def where(self, test: Callable[[Offered], bool]) -> frozenset[int]:
        return frozenset(i for i, offer in enumerate(self.offers) if test(offer))

    def take(self, pattern: str, each: Callable[[re.Match[str]], None]) -> None:
        for match in re.finditer(pattern, self.words):
            each(match)
        self.words = re.sub(pattern, " ", self.words)

    def narrow(self, test: Callable[[Offered], bool]) -> None:
        self.narrowed.append(self.where(test))

    def said(self, pattern: str, flags: Iterable[bool]) -> None:
        """Wherever `pattern` is said, the caller means an offer flagged True (one flag per
        offer, in order). Flags rather than a test: the callers loop, and a lambda made in a loop
        binds the loop's value only through a default argument, which mypy cannot type."""
        fits = frozenset(i for i, flag in enumerate(flags) if flag)
        self.take(pattern, lambda _: self.narrowed.append(fits))

    def picks(self, pattern: str, number: int) -> None:
        """Wherever `pattern` is said, the caller picks option `number`."""
        self.take(pattern, lambda _: self.option(number))

    def option(self, number: int) -> None:
        if 1 <= number <= len(self.offers):
            self.ordinal.add(number - 1)
        else:
            self.unknown_option = True

    def on_day(self, month: int, day: int) -> None:
        self.narrow(lambda o: o.day == (month, day))

    def day_or_ordinal(self, number: int) -> None:
        """A day with no month ("the 3rd"): the offer on the 3rd, or the third offer."""
        fits = self.where(lambda o: o.day is not None and o.day[1] == number)
        in_range = 1 <= number <= len(self.offers)
        self.narrowed.append(fits | ({number - 1} if in_range else set()))

    def at(self, hour: int, minute: int | None, half: str = "") -> None:
        """A clock time; without AM or PM, 8 fits 8 AM and 8 PM; without minutes, any."""

        def fits(o: Offered) -> bool:
            if o.hour is None or (minute is not None and o.minute != minute):
                return False
            if half:
                return o.hour == hour % 12 + (12 if half == "p" else 0)
            return o.hour % 12 == hour % 12

        self.narrow(fits)

    def read(self) -> None:
        take, months, ordinals = self.take, _MONTH_NAMES, _ORDINALS
        take(r"\b(?:option|number|choice) (\d{1,2})\b", lambda m: self.option(int(m[1])))
        # Dates first: the numbers in them are days, not times or options.
        take(rf"\b({months}) (?:the )?(\d{{1,2}})(?:st|nd|rd|th)?\b",
             lambda m: self.on_day(_MONTHS[m[1]], int(m[2])))  # fmt: skip
        take(rf"\b(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?({months})\b",
             lambda m: self.on_day(_MONTHS[m[2]], int(m[1])))  # fmt: skip
        take(rf"\b({months}) (?:the )?({ordinals})\b",
             lambda m: self.on_day(_MONTHS[m[1]], _ORDINAL_WORDS.index(m[2]) + 1))  # fmt: skip
        take(rf"\b(?:the )?({ordinals}) of ({months})\b",
             lambda m: self.on_day(_MONTHS[m[2]], _ORDINAL_WORDS.index(m[1]) + 1))  # fmt: skip
        take(r"\b(\d{1,2})(?:st|nd|rd|th)\b", lambda m: self.day_or_ordinal(int(m[1])))
        # Clock times.
        take(r"\bhalf past (\d{1,2})\b", lambda m: self.at(int(m[1]), 30))
        take(r"\bquarter past (\d{1,2})\b", lambda m: self.at(int(m[1]), 15))
        take(r"\bquarter to (\d{1,2})\b", lambda m: self.at(int(m[1]) - 1, 45))
        take(r"\b(\d{1,2})(?::| )?(\d\d)?([ap])m\b",
             lambda m: self.at(int(m[1]), int(m[2]) if m[2] else None, m[3]))  # fmt: skip
        take(r"\b(\d{1,2})[: ](00|15|30|45)\b", lambda m: self.at(int(m[1]), int(m[2])))
        take(r"\b(\d{1,2}) ?o'?clock\b", lambda m: self.at(int(m[1]), 0))
        take(r"\b(?:noon|midday)\b", lambda m: self.at(12, 0, "p"))
        take(r"\bat (\d{1,2})\b", lambda m: self.at(int(m[1]), None))
        offers = self.offers
        for period, hours in _PERIODS.items():
            self.said(rf"\b{period}\b", [o.hour in hours for o in offers])
        # Days and people.
        for name, index in _WEEKDAYS.items():
            self.said(rf"\b{name}s?\b", [o.weekday == index for o in offers])
        for word in ("today", "tomorrow"):
            self.said(rf"\b{word}\b", [o.relative == word for o in offers])
        for name in sorted(set().union(*(offer.provider for offer in offers))):
            self.said(rf"\b{name}\b", [name in o.provider for o in offers])
        # Positions in the list.
        for index, word in enumerate(_ORDINAL_WORDS):
            self.picks(rf"\b{word}\b", index + 1)
        take(r"\b(?:earliest|soonest)\b", lambda m: self.option(1))
        take(r"\b(?:last|latest|final)\b", lambda m: self.option(len(self.offers)))
        # What is left: a bare number is a clock time if an offer is at that hour; with nothing
        # else said it may also be an option number ("3" of three, with a 3 PM offered: ask).
        alone = not self.narrowed and not self.ordinal
        for number in (int(n) for n in re.findall(r"\b(\d{1,2})\b", self.words)):
            fits = frozenset(
                i for i, o in enumerate(offers) if o.hour is not None and o.hour % 12 == number % 12
            )
            if alone and 1 <= number <= len(self.offers):
                fits |= {number - 1}
            if fits:
                self.narrowed.append(fits)
            elif alone:
                self.unknown_option = True


def choose(text: str, offered: Sequence[str], today: date | None = None) -> Choice:
    """Which of the `offered` times (their spoken descriptions) the caller's `text` picks.

    Everything naming a time narrows the offers down together (weekday, today or tomorrow, the
    date, the clock time, morning or afternoon, the provider). A position ("the second", "the
    last one", "option 2") must agree with them; when the two disagree, both fit and the caller
    is asked. `today` (the practice's date) tells which weekday "tomorrow" is."""
    offers = [Offered.read(description, today) for description in offered]
    reading = _Reading(text, offers)
    reading.read()
    if not reading.narrowed and not reading.ordinal and len(offers) == 1 and is_yes(text):
        return Choice((0,), True)
    understood = bool(reading.narrowed or reading.ordinal or reading.unknown_option)
    named = frozenset(range(len(offers))).intersection(*reading.narrowed)
    position = frozenset(reading.ordinal)
    if reading.unknown_option and not position:
        fits: frozenset[int] = frozenset()
    elif reading.narrowed and position:
        fits = (named & position) or (named | position if named else frozenset())
    elif reading.narrowed:
        fits = named
    else:
        fits = position
    return Choice(tuple(sorted(fits)), understood)
