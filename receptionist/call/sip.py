"""The phone legs the agent dials out: which trunk, the request, the dial and how the line answered.

Two kinds of call dial out: a reminder call rings the patient (receptionist/call/outbound.py) and
a warm transfer rings the staff into the caller's room (receptionist/call/legs.py). Both go
through here, so they pick their trunk, shape their `CreateSIPParticipant` and read the answer
the same way; the runner (`receptionist reminders run`) asks `outbound_trunk` too before it
dispatches reminder jobs.

`LiveKitClient` is the part of LiveKit's server API a call uses (the job's `ctx.api`, a
`livekit.api.LiveKitAPI`; a recording fake in tests).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from livekit import api

from receptionist.domain.lines import Line
from receptionist.domain.practice import Practice

log = logging.getLogger("receptionist.call")

# Twirp codes of a bridge that rang out: the ringing timeout passed with no SIP status
# (livekit-sip: "sip request timed out").
RANG_OUT = ("canceled", "deadline_exceeded")
# Twirp codes of a bridge refusing to dial at all, with no SIP status ("cpu exhausted":
# livekit-sip above its CPU limit): not the callee's line being busy.
BRIDGE_BUSY = ("unavailable", "resource_exhausted")
BUSY_PAUSE = 3.0  # seconds before a busy bridge is asked again
# How much longer than the ringing timeout the request may take: the bridge answers soon after
# the ringing ends, and a request that gave up first would leave a call ringing unheard.
DIAL_MARGIN = 20
# SIP final responses to an INVITE, as the line's outcome.
_BUSY = {486, 600}
_NO_ANSWER = {408, 480, 487}

Purpose = Literal["transfers", "reminders"]


class SipApi(Protocol):
    """The SIP service calls of the LiveKit API a call makes."""

    async def create_sip_participant(
        self, create: api.CreateSIPParticipantRequest, /, *, timeout: float | None = None
    ) -> api.SIPParticipantInfo: ...

    async def transfer_sip_participant(
        self, transfer: api.TransferSIPParticipantRequest, /
    ) -> api.TransferSIPParticipantResponse: ...

    async def list_outbound_trunk(
        self, request: api.ListSIPOutboundTrunkRequest, /
    ) -> api.ListSIPOutboundTrunkResponse: ...


class RoomApi(Protocol):
    """The room service calls of the LiveKit API a call makes."""

    async def update_subscriptions(
        self, update: api.UpdateSubscriptionsRequest, /
    ) -> api.UpdateSubscriptionsResponse: ...

    async def remove_participant(
        self, remove: api.RoomParticipantIdentity, /
    ) -> api.RemoveParticipantResponse: ...

    async def delete_room(self, delete: api.DeleteRoomRequest, /) -> api.DeleteRoomResponse: ...


class LiveKitClient(Protocol):
    """What a call uses of LiveKit's server API (`livekit.api.LiveKitAPI` has it all)."""

    @property
    def sip(self) -> SipApi: ...

    @property
    def room(self) -> RoomApi: ...


# --- the trunk -----------------------------------------------------------------------------------


def named_trunk(practice: Practice, purpose: Purpose) -> str:
    """The outbound trunk practice.toml names for `purpose` ("" when it names none).

    A warm transfer takes `[practice.transfers] outbound_trunk`, else the reminders' one: a trunk
    that reaches patients' phones reaches the staff's numbers too, so one trunk named once
    serves both. A reminder call takes only `[practice.reminders] outbound_trunk`: a trunk named
    for transfers may lead to the practice's own phone system (staff extensions) and no further."""
    if purpose == "transfers":
        return practice.transfers.outbound_trunk or practice.reminders.outbound_trunk
    return practice.reminders.outbound_trunk


async def outbound_trunk(client: LiveKitClient, practice: Practice, purpose: Purpose) -> str | None:
    """The trunk `practice`'s outgoing call goes over, or None if there is none.

    One rule for every caller (the warm transfer, the reminder runner): the trunk practice.toml
    names for the purpose (`named_trunk`), else the server's outbound trunk whose numbers include
    the practice's phone, its caller id (the trunk `receptionist sip setup` creates from
    `SIP_OUTBOUND_NUMBERS`). Only the second asks the server."""
    if named := named_trunk(practice, purpose):
        return named
    if not practice.numbers:
        return None
    listed = await client.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
    for trunk in listed.items:
        if practice.numbers[0] in trunk.numbers:
            return trunk.sip_trunk_id
    return None


# --- the leg -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A phone leg to dial into a room: who it is there, what the trunk dials, for how long."""

    identity: str  # the participant's identity in the room: never a phone number
    number: str  # what the trunk dials: +E.164, or a SIP URI's user part
    trunk_id: str
    caller_id: str  # the practice's number, shown to the person called
    ringing_seconds: int
    max_seconds: int
    name: str  # the participant's name: its role ("staff", "patient"), never the person's


def request(room: str, leg: Outgoing) -> api.CreateSIPParticipantRequest:
    """The `CreateSIPParticipant` for `leg`: the practice's number as caller id, a ringing
    timeout, a longest call, no dial tone or ringback into the room, and the request returns only
    once the phone answered (or the call failed), so the agent speaks to a person, not a ring."""
    made = api.CreateSIPParticipantRequest(
        sip_trunk_id=leg.trunk_id,
        sip_call_to=leg.number,
        sip_number=leg.caller_id,
        room_name=room,
        participant_identity=leg.identity,
        participant_name=leg.name,
        wait_until_answered=True,
        play_dialtone=False,
        play_ringtone=False,
        krisp_enabled=False,
    )
    made.ringing_timeout.FromSeconds(leg.ringing_seconds)
    made.max_call_duration.FromSeconds(leg.max_seconds)
    return made


@dataclass(frozen=True)
class Dialled:
    """How a dialled line answered."""

    line: Line
    sip_status: int | None = None
    reason: str = ""  # not answered: the Twirp code, or the type of the error
    call_id: str = ""  # answered: the SIP call id (the bridge's, for its logs)

    @property
    def answered(self) -> bool:
        return self.line is Line.ANSWERED


def line_for_sip(status: int | None) -> Line:
    """The line for a SIP status the bridge reported (None: the call never got a status)."""
    if status is None:
        return Line.FAILED
    if 200 <= status < 300:
        return Line.ANSWERED
    if status in _BUSY:
        return Line.BUSY
    if status in _NO_ANSWER:
        return Line.NO_ANSWER
    return Line.FAILED


def refused(exc: api.TwirpError) -> Dialled:
    """How the line answered a dial the server turned down: the SIP status when there is one; a
    bridge that rang out without one (RANG_OUT) is no answer, anything else failed."""
    status = exc.sip_status_code if isinstance(exc, api.SipCallError) else None
    rang_out = status is None and exc.code in RANG_OUT
    return Dialled(Line.NO_ANSWER if rang_out else line_for_sip(status), status, exc.code)


async def dial(
    client: LiveKitClient,
    room: str,
    leg: Outgoing,
    *,
    label: str,
    logger: logging.Logger = log,
    wanted: Callable[[], Awaitable[bool]] | None = None,
    tries: int = 1,
    busy_pause: float = BUSY_PAUSE,
) -> Dialled:
    """Dials `leg` into `room` and says how its line answered (never raises: whoever is waiting
    must still be told). `label` names the leg in the logs ("staff leg", "reminder call").

    A bridge that refuses before dialling (BRIDGE_BUSY, no SIP status) is asked again after
    `busy_pause`, up to `tries` tries in all. `wanted`, when given, is asked before each try
    whether the call is still wanted: if not, nothing is dialled (NOT_DIALLED)."""
    made, attempt = request(room, leg), 1
    while True:
        if wanted is not None and not await wanted():
            return Dialled(Line.NOT_DIALLED)
        try:
            info = await client.sip.create_sip_participant(
                made, timeout=leg.ringing_seconds + DIAL_MARGIN
            )
        except api.TwirpError as exc:
            dialled = refused(exc)
            if dialled.sip_status is None and exc.code in BRIDGE_BUSY and attempt < tries:
                logger.info("the SIP bridge is busy; dialling again", extra={"code": exc.code})
                attempt += 1
                await asyncio.sleep(busy_pause)
                continue
            logger.info(
                "%s not answered",
                label,
                extra={"sip_status_code": dialled.sip_status, "code": exc.code},
            )
            return dialled
        except Exception as exc:  # timeouts, connection errors: a line that failed
            logger.warning("%s could not be dialled (%s)", label, type(exc).__name__)
            return Dialled(Line.FAILED, None, type(exc).__name__)
        return Dialled(Line.ANSWERED, 200, call_id=info.sip_call_id)
