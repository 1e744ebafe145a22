"""What the operator sees of a call: the counters it moves and the traces it sends, without the
caller's number, name or date of birth in either.

The call is the real agent and tools on a real book (a new patient registers and books); the
traces go through the production tracer set-up (receptionist/call/traces.py) to a real OTLP/HTTP
receiver on loopback, decoded with opentelemetry-proto.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from livekit.agents import telemetry
from livekit.agents.telemetry import gen_ai
from opentelemetry import trace
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from receptionist.call.session import write_call_record
from receptionist.call.state import CallState
from receptionist.call.traces import start_tracing
from receptionist.domain.calls import Outcome
from receptionist.domain.practice import TransferMode
from receptionist.settings import load_settings
from tests.conversation.book_support import active_appointments, option_ids
from tests.support.harness import (
    CALLER_ATTRIBUTES,
    example_practice,
    receptionist_call,
    sip_error,
)
from tests.support.otlp import OtlpReceiver
from tests.support.scripted_llm import Call, Say, ScriptedLLM
from tests.support.warm import CALLER, FakeLegs, Staff

CARLA = ("Carla Diaz", date(1992, 7, 14))
CALLER_NUMBER = CALLER_ATTRIBUTES["sip.phoneNumber"]  # 4144007103, +14144007103 in E.164
# What must never leave the process: the caller's number (as sent, and its last seven digits),
# the patient's name and date of birth in the forms the call uses.
PATIENT_DATA = (CALLER_NUMBER, "4007103", "Carla", "Diaz", "1992-07-14", "July 14", "07/14/1992")


def new_patient_books() -> ScriptedLLM:
    return ScriptedLLM(
        [
            Call("register_patient", full_name="Carla Diaz", date_of_birth="1992-07-14"),
            Call("find_open_times", visit_type="new-patient"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("You're booked, Carla."),
        ]
    )


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def label_values() -> list[tuple[str, str, str]]:
    """(metric, label, value) of every receptionist_* sample in a scrape of this process."""
    scrape = generate_latest(REGISTRY).decode()
    return [
        (s.name, label, value)
        for family in text_string_to_metric_families(scrape)
        if family.name.startswith("receptionist_")
        for s in family.samples
        for label, value in s.labels.items()
    ]


async def test_a_booking_call_moves_the_counters_and_no_label_carries_patient_data(book):
    practice = book.practice.id
    booked = sample("receptionist_bookings_total", practice=practice, change="booked")
    calls = sample("receptionist_calls_total", practice=practice, outcome="booked")
    replies = sample("receptionist_reply_seconds_count", practice=practice)
    async with book.call(new_patient_books()) as call:
        await call.session.run(user_input="I'm new, Carla Diaz, born July 14 1992, book me in.")
        # Counted when it happened, not when the call ends.
        assert sample("receptionist_bookings_total", practice=practice, change="booked") == (
            booked + 1
        )
        assert sample("receptionist_calls_total", practice=practice, outcome="booked") == calls
        await write_call_record(call.state, {"replies": []}, console=False)
    assert [a.visit_type for a in await active_appointments(book.store, CARLA)] == ["new-patient"]
    assert call.state.outcome is Outcome.BOOKED
    assert sample("receptionist_calls_total", practice=practice, outcome="booked") == calls + 1
    assert sample("receptionist_reply_seconds_count", practice=practice) == replies  # no audio

    found = label_values()
    assert ("receptionist_calls_total", "outcome", "booked") in found
    leaks = [(m, k, v) for m, k, v in found if any(p.lower() in v.lower() for p in PATIENT_DATA)]
    assert leaks == []


async def test_a_console_session_is_not_counted_as_a_call(book):
    practice = book.practice.id
    before = sample("receptionist_calls_total", practice=practice, outcome="abandoned")
    async with book.call(ScriptedLLM([Say("Hello!")])) as call:
        await write_call_record(call.state, None, console=True)
    assert sample("receptionist_calls_total", practice=practice, outcome="abandoned") == before


@pytest.mark.parametrize("refused", [False, True])
async def test_a_cold_transfer_is_counted_by_its_result(refused: bool):
    script = ScriptedLLM([Call("transfer_to_staff", reason="billing"), Say("Anything else?")])
    async with receptionist_call(script) as call:
        practice = call.state.practice.id
        result = "failed" if refused else "connected"
        before = sample(
            "receptionist_transfers_total", practice=practice, mode="cold", result=result
        )
        if refused:
            call.api.transfer_error = sip_error(486, "Busy Here")
        await call.session.run(user_input="Put me through to the front desk.")
    assert len(call.api.transfers) == 1
    after = sample("receptionist_transfers_total", practice=practice, mode="cold", result=result)
    assert after == before + 1


@pytest.mark.parametrize(("staff", "result"), [("1", "connected"), ("2", "failed")])
async def test_a_warm_transfer_is_counted_by_its_result(staff: str, result: str):
    legs = FakeLegs(Staff(presses=[staff]))
    script = ScriptedLLM([Call("transfer_to_staff", reason="billing"), Say("Anything else?")])
    practice = example_practice()
    warm = practice.transfers.model_copy(update={"mode": TransferMode.WARM})
    practice = practice.model_copy(update={"transfers": warm})

    def with_legs(state: CallState) -> None:
        state.control.legs = legs

    before = sample(
        "receptionist_transfers_total", practice=practice.id, mode="warm", result=result
    )
    cold = sample("receptionist_transfers_total", practice=practice.id, mode="cold", result=result)
    async with receptionist_call(script, practice=practice, prepare=with_legs) as call:
        await call.session.run(user_input="Put me through to the front desk.")
        if result == "connected":
            legs.hang_up(CALLER)
            await call.ended()
    after = sample("receptionist_transfers_total", practice=practice.id, mode="warm", result=result)
    assert after == before + 1
    assert (
        sample("receptionist_transfers_total", practice=practice.id, mode="cold", result=result)
        == cold
    )


@pytest.fixture
def receiver(tmp_path) -> Iterator[OtlpReceiver]:
    """A collector on loopback, and the production tracer sending to it; LiveKit's tracer and
    content capture are put back afterwards, for the tests that follow in this process."""
    capture = gen_ai.capture_content_enabled()
    with OtlpReceiver() as collector:
        settings = load_settings(otel_exporter_otlp_endpoint=collector.endpoint)
        provider = start_tracing(settings)
        assert provider is not None
        try:
            yield collector
        finally:
            provider.shutdown()
            telemetry.set_tracer_provider(trace.NoOpTracerProvider())
            gen_ai.set_capture_content(capture)


async def test_call_traces_reach_the_collector_without_patient_data(book, receiver):
    async with book.call(new_patient_books()) as call:
        await call.session.run(user_input="I'm new, Carla Diaz, born July 14 1992, book me in.")
    assert [a.visit_type for a in await active_appointments(book.store, CARLA)] == ["new-patient"]
    assert trace.get_tracer_provider() is not None
    provider = telemetry.tracer._tracer_provider
    assert provider.force_flush(10_000)

    spans = receiver.spans()
    names = {s.name for s in spans}
    assert {"agent_session", "function_tool"} <= names, names
    tools = {s.attributes.get("lk.function_tool.name") for s in spans if s.name == "function_tool"}
    assert {"register_patient", "find_open_times", "book_appointment"} <= tools
    texts = [t for s in spans for t in s.texts()]
    leaks = sorted({p for p in PATIENT_DATA for t in texts if p.lower() in t.lower()})
    assert leaks == []
    assert not any(".pii." in t or t.startswith("gen_ai.input") for t in texts)
