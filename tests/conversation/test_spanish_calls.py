"""Callers who speak Spanish: the choice (keypad 2, or speech), then the main paths in Spanish.

Each test ends in what the caller heard (the agent's lines), what the model was told (its
instructions, in Spanish after the switch) and what the book holds.
"""

from __future__ import annotations

import asyncio
from datetime import date

from livekit.agents import UserInputTranscribedEvent
from livekit.agents.language import LanguageCode

from receptionist.call import briefing
from receptionist.domain.calls import Outcome
from receptionist.domain.practice import TransferMode
from tests.conversation.book_support import active_appointments, option_ids, tool_results
from tests.support.harness import example_practice, receptionist_call
from tests.support.scripted_llm import Call, Say, ScriptedLLM
from tests.support.warm import FakeLegs, Staff

SPANISH_PROMPT = "Hable siempre en español"


def said(session) -> list[str]:
    return [
        item.text_content or ""
        for item in session.history.items
        if item.type == "message" and item.role == "assistant"
    ]


def instructions(chat_ctx) -> str:
    return next(
        item.text_content or ""
        for item in chat_ctx.items
        if item.type == "message" and item.role == "system"
    )


async def wait_for(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_the_greeting_offers_spanish_in_spanish():
    async with receptionist_call(ScriptedLLM()) as call:
        await wait_for(lambda: said(call.session))
        [greeting] = said(call.session)
    assert "Thank you for calling Lakeside Family Dental" in greeting
    assert greeting.endswith("Para español, oprima 2 o diga español.")


async def test_pressing_2_switches_the_call_to_spanish_for_good():
    script = ScriptedLLM([Say("Claro, ¿para qué tipo de cita?")])
    async with receptionist_call(script) as call:
        await wait_for(lambda: said(call.session))
        call.state.keypad.press("2")
        await call.state.keypad.drain()
        await wait_for(lambda: len(said(call.session)) == 2)
        assert said(call.session)[1].startswith("Con gusto, seguimos en español.")
        await call.session.run(user_input="Quiero hacer una cita.")
        call.state.keypad.press("1")  # a second choice: the first one sticks
        await call.state.keypad.drain()
    assert call.state.language == "es"
    assert SPANISH_PROMPT in instructions(script.requests[-1])
    assert "Lunes de 08:00 a 17:00" in instructions(script.requests[-1])  # the hours, in Spanish
    assert [e["detail"] for e in call.state.events if e["kind"] == "language"] == ["es by keypad"]


async def test_saying_espanol_switches_with_no_model_turn():
    script = ScriptedLLM([Say("Perfecto. ¿Me dice su nombre completo?")])
    async with receptionist_call(script) as call:
        await call.session.run(user_input="Español, por favor.")
        assert said(call.session)[-1].startswith("Con gusto, seguimos en español.")
        assert not script.requests  # the choice was answered from code
        await call.session.run(user_input="Quiero cambiar mi cita.")
    assert call.state.language == "es"
    assert SPANISH_PROMPT in instructions(script.requests[0])


async def test_speaking_spanish_as_the_stt_heard_it_is_answered_in_spanish():
    script = ScriptedLLM([Say("Con gusto. ¿Qué día le viene bien?")])
    async with receptionist_call(script) as call:
        call.session.emit(
            "user_input_transcribed",
            UserInputTranscribedEvent(
                transcript="Hola, quiero una cita", is_final=True, language=LanguageCode("es")
            ),
        )
        await call.session.run(user_input="Hola, quiero una cita para una limpieza.")
        await wait_for(lambda: len(script.requests) == 1)
    assert call.state.language == "es"
    [request] = script.requests
    assert SPANISH_PROMPT in instructions(request)  # the request answered with the new prompt
    assert "Hola, quiero una cita para una limpieza." in [
        i.text_content for i in request.items if i.type == "message" and i.role == "user"
    ]


async def test_english_heard_first_does_not_lock_out_a_later_choice_of_spanish():
    script = ScriptedLLM([Say("Sure."), Say("Claro.")])
    async with receptionist_call(script) as call:
        call.session.emit(
            "user_input_transcribed",
            UserInputTranscribedEvent(transcript="Hi", is_final=True, language=LanguageCode("en")),
        )
        await call.session.run(user_input="Hi, I have a question.")
        assert call.state.language == "en" and not call.state.language_chosen
        await call.session.run(user_input="Actually, Spanish please.")
    assert call.state.language == "es"


async def test_an_english_caller_stays_in_english():
    script = ScriptedLLM([Say("Sure, what kind of visit?")])
    async with receptionist_call(script) as call:
        await call.session.run(user_input="Hi, I'd like to book a cleaning.")
        call.state.keypad.press("5")  # not a language: ignored
        await call.state.keypad.drain()
    assert call.state.language == "en"
    assert "You are the automated phone assistant" in instructions(script.requests[0])


MARIA = ("María José García López", date(1985, 3, 3))


async def in_spanish(call) -> None:
    """The caller presses 2 during the greeting, as the greeting offers."""
    await wait_for(lambda: said(call.session))
    call.state.keypad.press("2")
    await call.state.keypad.drain()
    await wait_for(lambda: call.state.language == "es" and len(said(call.session)) == 2)


async def test_hours_are_given_the_spanish_way(book):
    script = ScriptedLLM([Call("practice_info", topic="hours"), Say("Abrimos de lunes a viernes.")])
    async with book.call(script) as call:
        await in_spanish(call)
        result = await call.session.run(user_input="¿Qué horario tienen?")
        [(hours, is_error)] = tool_results(result, "practice_info")
    assert not is_error
    assert hours.startswith("Lunes: de 8:00 a 17:00; Martes: de 8:00 a 17:00; Miércoles: de 8:00")
    assert "Sábado: cerrado" in hours


async def test_booking_after_an_identity_check_said_the_spanish_way(book):
    """María gives her name with one surname and her date of birth as Spanish speakers say it;
    the offered times are in Spanish; the visit is booked for her record."""
    patient, _ = await book.store.appointments.register_patient(
        book.practice.id, MARIA[0], MARIA[1], "+14144007103"
    )
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="María García", date_of_birth="3 de marzo de 1985"),
            Call("find_open_times", visit_type="cleaning", part_of_day="morning"),
            Say("Tengo el miércoles a las 10:15. ¿Le viene bien?"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("Listo, su cita está reservada."),
        ]
    )
    async with book.call(script) as call:
        await in_spanish(call)
        result = await call.session.run(
            user_input="Soy María García, nací el 3 de marzo de 1985. Quiero una limpieza."
        )
        [(verified, bad)] = tool_results(result, "verify_patient")
        [(offered, _)] = tool_results(result, "find_open_times")
        assert not bad and call.state.identity.patient_id == patient.id
        assert " a las " in offered and " at " not in offered.split("\n", 1)[1]
        await call.session.run(user_input="Sí, la primera.")
        [appointment] = await active_appointments(book.store, MARIA)
    assert appointment.patient_id == patient.id and appointment.visit_type == "checkup"
    assert call.state.outcomes == [Outcome.BOOKED]


async def test_a_life_threatening_emergency_in_spanish_goes_to_911(book):
    script = ScriptedLLM(
        [
            Call("report_emergency", kind="life_threatening", summary="cara hinchada, no respira"),
            Say("Cuelgue y llame al 911 ahora mismo."),
        ]
    )
    async with book.call(script) as call:
        await in_spanish(call)
        result = await call.session.run(user_input="Se me hincha la cara y no puedo respirar.")
        [(output, _)] = tool_results(result, "report_emergency")
    assert "911" in output and call.state.outcome == Outcome.EMERGENCY
    assert call.api.transfers == []
    assert SPANISH_PROMPT in instructions(script.requests[0])


async def test_a_message_in_spanish_is_stored_for_the_team(book):
    script = ScriptedLLM(
        [
            Call("take_message", caller_name="José Núñez", reason="Pregunta sobre la factura"),
            Say("Le paso el mensaje al equipo."),
        ]
    )
    async with book.call(script) as call:
        await in_spanish(call)
        await call.session.run(user_input="Quiero dejar un mensaje sobre mi factura.")
        [message] = await book.store.records.open_messages("lakeside")
    assert (message.caller_name, message.reason) == ("José Núñez", "Pregunta sobre la factura")
    assert call.state.outcomes == [Outcome.MESSAGE]


async def test_a_transfer_in_spanish_tells_the_staff_the_callers_language():
    practice = example_practice()
    practice = practice.model_copy(
        update={"transfers": practice.transfers.model_copy(update={"mode": TransferMode.WARM})}
    )
    legs = FakeLegs(Staff(presses=["1"]))

    def prepare(state) -> None:
        state.control.legs = legs

    script = ScriptedLLM([Call("transfer_to_staff", reason="una pregunta sobre la factura")])
    async with receptionist_call(script, practice=practice, prepare=prepare) as call:
        await in_spanish(call)
        await call.session.run(user_input="Quiero hablar con alguien, por favor.")
        await wait_for(lambda: any(line.startswith("Hello") for line in legs.told))
        assert call.state.outcomes == [Outcome.TRANSFERRED]
        heard = said(call.session)
    [brief] = [line for line in legs.told if line.startswith("Hello, this is the assistant")]
    assert "The caller speaks Spanish, not English" in brief and brief.endswith(briefing.QUESTION)
    assert "Un momento por favor. Voy a ver si alguien del equipo puede atenderle." in " ".join(
        heard
    )
