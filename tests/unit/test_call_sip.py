"""The legs a call dials out (receptionist/call/sip.py), against a recording API client: the
trunk each kind of call takes, the CreateSIPParticipant request, and how each answer of the
server reads as a line (answered, busy, no answer, rang out, failed, a busy bridge asked again,
a call no longer wanted). The real server and bridge are exercised by the e2e calls."""

from __future__ import annotations

import pytest
from livekit import api

from receptionist.call import sip
from receptionist.call.sip import Dialled, Outgoing
from receptionist.domain.lines import Line
from receptionist.domain.practice import Practice, parse_practice
from tests.support.profiles import BASE

LEG = Outgoing(
    identity="patient",
    number="+14144007103",
    trunk_id="ST_out",
    caller_id="+14145550100",
    ringing_seconds=25,
    max_seconds=600,
    name="patient",
)
BRIDGE_BUSY = api.TwirpError("resource_exhausted", "cpu exhausted", status=503)


class Sip:
    """The SIP service: answers each CreateSIPParticipant with the next of `answers` (an
    exception is raised), and lists `trunks`."""

    def __init__(self, answers: list[object], trunks: list[api.SIPOutboundTrunkInfo]) -> None:
        self.answers = answers
        self.trunks = trunks
        self.dialled: list[tuple[api.CreateSIPParticipantRequest, float | None]] = []
        self.listed = 0

    async def create_sip_participant(self, request, *, timeout=None):
        self.dialled.append((request, timeout))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def list_outbound_trunk(self, request):
        self.listed += 1
        return api.ListSIPOutboundTrunkResponse(items=self.trunks)


class Client:
    def __init__(self, *answers: object, trunks: list[api.SIPOutboundTrunkInfo] = ()) -> None:
        self.sip = Sip(list(answers), list(trunks))


def sip_refusal(code: str, status: int) -> api.SipCallError:
    return api.SipCallError(
        code, "sip call failed", status=503, metadata={"sip_status_code": str(status)}
    )


# --- how the line answered ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "line"),
    [
        (200, Line.ANSWERED),
        (486, Line.BUSY),
        (600, Line.BUSY),
        (408, Line.NO_ANSWER),
        (480, Line.NO_ANSWER),
        (487, Line.NO_ANSWER),
        (404, Line.FAILED),
        (503, Line.FAILED),
        (None, Line.FAILED),
    ],
)
def test_sip_statuses_read_as_lines(status, line):
    assert sip.line_for_sip(status) is line


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sip_refusal("unavailable", 486), Dialled(Line.BUSY, 486, "unavailable")),
        (sip_refusal("canceled", 603), Dialled(Line.FAILED, 603, "canceled")),  # a status wins
        (
            api.TwirpError("canceled", "sip request timed out", status=499),
            Dialled(Line.NO_ANSWER, None, "canceled"),
        ),
        (
            api.TwirpError("deadline_exceeded", "timed out", status=504),
            Dialled(Line.NO_ANSWER, None, "deadline_exceeded"),
        ),
        (
            api.TwirpError("not_found", "no such trunk", status=404),
            Dialled(Line.FAILED, None, "not_found"),
        ),
    ],
)
def test_a_refusal_reads_as_the_line_it_tells_of(error, expected):
    assert sip.refused(error) == expected


# --- the request --------------------------------------------------------------------------------


def test_the_request_waits_for_the_answer_and_bounds_ringing_and_the_call():
    request = sip.request("reminder-room", LEG)
    assert (request.room_name, request.sip_trunk_id) == ("reminder-room", "ST_out")
    assert (request.sip_call_to, request.sip_number) == ("+14144007103", "+14145550100")
    assert (request.participant_identity, request.participant_name) == ("patient", "patient")
    assert request.wait_until_answered
    assert not (request.play_dialtone or request.play_ringtone or request.krisp_enabled)
    assert request.ringing_timeout.seconds == 25 and request.max_call_duration.seconds == 600


# --- the dial -----------------------------------------------------------------------------------


async def test_an_answered_leg_gives_its_call_id_and_the_request_outlasts_the_ringing():
    client = Client(api.SIPParticipantInfo(sip_call_id="SCL_1"))
    dialled = await sip.dial(client, "room", LEG, label="test leg")
    assert dialled == Dialled(Line.ANSWERED, 200, call_id="SCL_1") and dialled.answered
    [(request, timeout)] = client.sip.dialled
    assert request == sip.request("room", LEG) and timeout == 25 + sip.DIAL_MARGIN


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (sip_refusal("unavailable", 486), Line.BUSY),
        (api.TwirpError("canceled", "sip request timed out", status=499), Line.NO_ANSWER),
        (TimeoutError(), Line.FAILED),
        (ConnectionError(), Line.FAILED),
    ],
)
async def test_an_unanswered_leg_says_how_its_line_answered_and_is_dialled_once(error, line):
    client = Client(error, api.SIPParticipantInfo())
    dialled = await sip.dial(client, "room", LEG, label="test leg", tries=4, busy_pause=0)
    assert dialled.line is line and not dialled.answered
    assert len(client.sip.dialled) == 1


async def test_a_busy_bridge_is_asked_again_up_to_the_tries():
    answered = await sip.dial(
        Client(BRIDGE_BUSY, BRIDGE_BUSY, api.SIPParticipantInfo()),
        "room",
        LEG,
        label="test leg",
        tries=3,
        busy_pause=0,
    )
    assert answered.line is Line.ANSWERED
    client = Client(BRIDGE_BUSY, BRIDGE_BUSY, BRIDGE_BUSY)
    gave_up = await sip.dial(client, "room", LEG, label="test leg", tries=3, busy_pause=0)
    assert gave_up == Dialled(Line.FAILED, None, "resource_exhausted")
    assert len(client.sip.dialled) == 3


async def test_one_try_by_default_a_busy_bridge_is_a_failed_line():
    client = Client(BRIDGE_BUSY, api.SIPParticipantInfo())
    dialled = await sip.dial(client, "room", LEG, label="test leg")
    assert dialled.line is Line.FAILED and len(client.sip.dialled) == 1


async def test_each_try_first_asks_whether_the_call_is_still_wanted():
    answers = [True, False]
    asked: list[bool] = []

    async def wanted() -> bool:
        asked.append(answers.pop(0))
        return asked[-1]

    client = Client(BRIDGE_BUSY, api.SIPParticipantInfo())
    dialled = await sip.dial(
        client, "room", LEG, label="test leg", wanted=wanted, tries=4, busy_pause=0
    )
    assert dialled == Dialled(Line.NOT_DIALLED) and not dialled.answered
    assert asked == [True, False] and len(client.sip.dialled) == 1  # no second INVITE


# --- the trunk ----------------------------------------------------------------------------------

CARRYING = api.SIPOutboundTrunkInfo(sip_trunk_id="ST_found", numbers=["+14145550100"])
OTHER = api.SIPOutboundTrunkInfo(sip_trunk_id="ST_other", numbers=["+14145559999"])


def practice(transfers: str = "", reminders: str = "", *, phone: str = "+14145550100") -> Practice:
    base = parse_practice(BASE)
    return base.model_copy(
        update={
            "phone": phone,
            "transfers": base.transfers.model_copy(update={"outbound_trunk": transfers}),
            "reminders": base.reminders.model_copy(update={"outbound_trunk": reminders}),
        }
    )


@pytest.mark.parametrize(
    ("transfers", "reminders", "purpose", "trunk"),
    [
        ("ST_t", "ST_r", "transfers", "ST_t"),
        ("", "ST_r", "transfers", "ST_r"),  # a transfer borrows the reminders' trunk
        ("ST_t", "ST_r", "reminders", "ST_r"),
        ("ST_t", "", "reminders", "ST_found"),  # ... but not the other way round
        ("", "", "transfers", "ST_found"),
        ("", "", "reminders", "ST_found"),
    ],
)
async def test_the_named_trunk_first_then_the_one_carrying_the_practice_number(
    transfers, reminders, purpose, trunk
):
    client = Client(trunks=[OTHER, CARRYING])
    chosen = await sip.outbound_trunk(client, practice(transfers, reminders), purpose)
    assert chosen == trunk
    assert client.sip.listed == (0 if trunk != "ST_found" else 1)  # a named trunk asks nothing


async def test_no_trunk_when_none_is_named_and_none_carries_the_number():
    client = Client(trunks=[OTHER])
    assert await sip.outbound_trunk(client, practice(), "transfers") is None
    no_phone = Client(trunks=[CARRYING])
    assert await sip.outbound_trunk(no_phone, practice(phone=""), "transfers") is None
    assert no_phone.sip.listed == 0
