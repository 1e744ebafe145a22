"""Keypad entries: the caller has time to find the keypad; 0 inside an entry is a digit."""

import asyncio

from receptionist.call.keypad import Keypad


async def test_entry_waits_for_the_first_digit_then_ends_after_a_pause():
    entries: list[tuple[str, str]] = []
    operator: list[bool] = []

    async def on_entry(what, digits):
        entries.append((what, digits))

    async def on_operator():
        operator.append(True)

    keypad = Keypad(
        on_operator=on_operator, on_entry=on_entry, idle_seconds=0.1, first_digit_seconds=1.0
    )
    keypad.start("date_of_birth")
    await asyncio.sleep(0.3)  # the agent is still asking: longer than the pause between digits
    for digit in "0314":
        keypad.press(digit)
    await asyncio.sleep(0.3)  # a pause ends the entry without "#"
    await keypad.drain()
    assert entries == [("date_of_birth", "0314")]
    assert operator == []


async def test_zero_outside_an_entry_calls_the_operator_and_star_restarts_an_entry():
    entries, operator = [], []

    async def on_entry(what, digits):
        entries.append(digits)

    async def on_operator():
        operator.append(True)

    keypad = Keypad(on_operator=on_operator, on_entry=on_entry, idle_seconds=0.1)
    keypad.press("0")
    keypad.start("callback_number")
    for digit in "12*4145550123#":
        keypad.press(digit)
    await keypad.drain()
    assert operator == [True]
    assert entries == ["4145550123"]


async def test_a_language_digit_outside_an_entry_chooses_the_language_and_inside_is_a_digit():
    chosen, entries = [], []

    async def on_language(digit):
        chosen.append(digit)

    async def on_entry(what, digits):
        entries.append(digits)

    async def on_operator():
        pass

    keypad = Keypad(idle_seconds=0.05)
    keypad.connect(
        on_operator=on_operator,
        on_entry=on_entry,
        on_language=on_language,
        language_digits=frozenset("12"),
    )
    keypad.press("2")
    keypad.press("7")  # not a language: nothing
    keypad.start("date_of_birth")
    keypad.press("2")
    keypad.press("#")
    await keypad.drain()
    assert chosen == ["2"] and entries == ["2"]
