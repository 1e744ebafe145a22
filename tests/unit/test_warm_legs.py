"""The room mechanics of a warm transfer (receptionist/call/legs.py) against a recording room and
API client: who may hear the agent's tracks, the unsubscriptions that keep the phone legs apart
(re-applied after every event the bridge may re-subscribe on), joining, ending a leg, the staff's
keys, and the dial request. The real server and bridge are exercised by the e2e calls."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from livekit import api, rtc

from receptionist.call import legs as legs_module
from receptionist.call import sip
from receptionist.call.legs import LegGuard, RoomLegs, StaffCall
from receptionist.call.session import caller_keys
from receptionist.domain.lines import Line
from receptionist.domain.practice import TransferMode, parse_practice
from tests.support.profiles import BASE

CALLER, STAFF = "sip_caller", "staff-1"


@dataclass
class Pub:
    sid: str
    name: str = ""
    kind: int = rtc.TrackKind.KIND_AUDIO
    track: Any = None


@dataclass
class Person:
    identity: str
    track_publications: dict[str, Pub] = field(default_factory=dict)


class Local:
    def __init__(self) -> None:
        self.track_publications = {"TR_voice": Pub("TR_voice", "roomio_audio")}
        self.permissions: list[tuple[bool, list[tuple[str, list[str]]]]] = []

    def set_track_subscription_permissions(
        self, *, allow_all_participants, participant_permissions=None
    ):
        self.permissions.append(
            (
                allow_all_participants,
                [
                    (p.participant_identity, list(p.allowed_track_sids))
                    for p in participant_permissions or []
                ],
            )
        )


class FakeRoom:
    name = "call-test"

    def __init__(self) -> None:
        self.local_participant = Local()
        self.remote_participants: dict[str, Person] = {
            CALLER: Person(CALLER, {"TR_caller": Pub("TR_caller")})
        }
        self.handlers: dict[str, list] = {}

    def on(self, event, handler):
        self.handlers.setdefault(event, []).append(handler)

    def off(self, event, handler):
        self.handlers[event].remove(handler)

    def emit(self, event, *args):
        for handler in list(self.handlers.get(event, [])):
            handler(*args)

    def join_staff(self) -> None:
        self.remote_participants[STAFF] = Person(STAFF, {"TR_staff": Pub("TR_staff")})
        self.emit("participant_connected", self.remote_participants[STAFF])


class Recorder:
    def __init__(self, owner: FakeClient) -> None:
        self.owner = owner


class RoomService(Recorder):
    async def update_subscriptions(self, request):
        self.owner.subscriptions.append(
            (request.identity, tuple(request.track_sids), request.subscribe)
        )

    async def remove_participant(self, request):
        self.owner.removed.append(request.identity)


class SipService(Recorder):
    async def create_sip_participant(self, request, timeout=None):
        self.owner.dialled.append(request)
        if self.owner.dial_error is not None:
            raise self.owner.dial_error
        return api.SIPParticipantInfo()

    async def list_outbound_trunk(self, request):
        trunk = api.SIPOutboundTrunkInfo(sip_trunk_id="ST_found", numbers=["+14145550100"])
        return api.ListSIPOutboundTrunkResponse(items=[trunk])


class FakeClient:
    def __init__(self) -> None:
        self.subscriptions: list[tuple[str, tuple[str, ...], bool]] = []
        self.removed: list[str] = []
        self.dialled: list[api.CreateSIPParticipantRequest] = []
        self.dial_error: Exception | None = None
        self.room = RoomService(self)
        self.sip = SipService(self)


CALL = StaffCall(STAFF, "+14145550101", "ST_x", "+14145550100", ringing_seconds=20)


async def test_during_the_hold_the_caller_hears_hold_and_the_staff_only_the_briefing_track():
    room, client = FakeRoom(), FakeClient()
    legs = RoomLegs(room, client, caller=CALLER)
    legs._hold = type("Hold", (), {"publication": Pub("TR_hold")})()
    legs._briefing_track = Pub("TR_briefing")  # type: ignore[assignment]
    await legs.agent_heard_by(caller=False, staff=STAFF)
    await legs.agent_heard_by(caller=False, staff=None)
    await legs.agent_heard_by(caller=True, staff=None)
    # The caller keeps the agent's (silent) voice throughout: nothing to re-subscribe later.
    assert client.subscriptions == []
    assert room.local_participant.permissions == [
        (False, [(CALLER, ["TR_hold", "TR_voice"]), (STAFF, ["TR_briefing"])]),
        (False, []),  # joined: nobody hears the agent
        (True, []),  # back with the caller: everyone
    ]


async def test_the_guard_unsubscribes_both_ways_once_the_staff_joins_and_again_after_events(
    monkeypatch,
):
    monkeypatch.setattr(legs_module, "GUARD_SCHEDULE", (0.01,) * 3)
    monkeypatch.setattr(legs_module, "GUARD_IDLE", 10.0)
    room, client = FakeRoom(), FakeClient()
    guard = LegGuard(room, client, CALLER, STAFF)
    guard.start()
    await asyncio.sleep(0.1)
    assert client.subscriptions == []  # nobody to keep apart yet: no request at all
    room.join_staff()
    await asyncio.sleep(0.1)
    assert set(client.subscriptions) == {
        (STAFF, ("TR_caller",), False),
        (CALLER, ("TR_staff",), False),
    }
    await asyncio.sleep(0.1)
    settled = len(client.subscriptions)
    room.emit("participant_attributes_changed", {"beat": "1"}, Person("agent"))
    await asyncio.sleep(0.1)
    assert len(client.subscriptions) == settled  # the agent's own heartbeat is not a trigger
    staff = room.remote_participants[STAFF]
    room.emit("participant_attributes_changed", {"sip.callStatus": "active"}, staff)
    await asyncio.sleep(0.1)
    assert len(client.subscriptions) >= settled + 2  # re-applied after the answer
    await guard.stop()
    assert room.handlers["participant_attributes_changed"] == []


async def test_dial_asks_to_wait_until_answered_and_join_subscribes_each_leg_to_the_other():
    room, client = FakeRoom(), FakeClient()
    legs = RoomLegs(room, client, caller=CALLER)
    room.join_staff()
    dialled = await legs.dial(CALL)
    await legs.join(STAFF)
    assert dialled.answered
    [request] = client.dialled
    assert request.wait_until_answered and not request.play_ringtone
    assert request.participant_identity == STAFF and request.sip_call_to == "+14145550101"
    assert set(client.subscriptions[-2:]) == {
        (STAFF, ("TR_caller",), True),
        (CALLER, ("TR_staff",), True),
    }
    await legs.close()


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            api.SipCallError(
                "unavailable", "busy", status=503, metadata={"sip_status_code": "486"}
            ),
            Line.BUSY,
        ),
        (api.TwirpError("canceled", "sip request timed out", status=499), Line.NO_ANSWER),
        (TimeoutError(), Line.FAILED),
    ],
)
async def test_an_unanswered_dial_says_how_the_line_answered(error, line):
    client = FakeClient()
    client.dial_error = error
    legs = RoomLegs(FakeRoom(), client, caller=CALLER)
    assert (await legs.dial(CALL)).line is line
    await legs.close()


async def test_a_removed_leg_that_joins_later_is_removed_again():
    room, client = FakeRoom(), FakeClient()
    legs = RoomLegs(room, client, caller=CALLER)
    await legs.remove(STAFF)
    room.join_staff()  # an abandoned dial that connected after all
    await asyncio.sleep(0.05)
    assert client.removed == [STAFF, STAFF]
    await legs.close()


async def test_keys_and_leaving_are_per_participant():
    room = FakeRoom()
    legs = RoomLegs(room, FakeClient(), caller=CALLER)
    keys, gone = legs.keys(STAFF), legs.left(STAFF)
    room.emit("sip_dtmf_received", rtc.SipDTMF(code=1, digit="1", participant=Person(CALLER)))
    room.emit("sip_dtmf_received", rtc.SipDTMF(code=2, digit="2", participant=Person(STAFF)))
    room.emit("participant_disconnected", Person(CALLER))
    assert keys.get_nowait() == "2" and keys.empty() and not gone.done()
    room.emit("participant_disconnected", Person(STAFF))
    assert gone.done()
    await legs.close()
    assert all(handlers == [] for handlers in room.handlers.values())


async def test_the_outbound_trunk_is_the_named_one_or_the_one_holding_the_practice_number():
    practice = parse_practice(BASE)
    legs = RoomLegs(FakeRoom(), FakeClient(), caller=CALLER)
    assert await legs.outbound_trunk(practice) == "ST_found"
    named = practice.model_copy(
        update={"transfers": practice.transfers.model_copy(update={"outbound_trunk": "ST_mine"})}
    )
    assert await legs.outbound_trunk(named) == "ST_mine"


def test_the_staff_request_bounds_ringing_and_the_call():
    request = sip.request("call-test", CALL)
    assert request.room_name == "call-test" and request.sip_number == "+14145550100"
    assert request.participant_name == "staff" and not request.play_ringtone
    assert request.ringing_timeout.seconds == 20 and request.max_call_duration.seconds == 3600


def test_only_the_callers_keys_reach_the_call_keypad():
    pressed: list[str] = []
    state = type("State", (), {"keypad": type("K", (), {"press": pressed.append})()})()
    press = caller_keys(state, CALLER)
    press(rtc.SipDTMF(code=0, digit="0", participant=Person(CALLER)))
    press(rtc.SipDTMF(code=0, digit="0", participant=Person(STAFF)))
    assert pressed == ["0"]


# --- [practice.transfers] ------------------------------------------------------------------------


def test_transfers_default_to_cold():
    transfers = parse_practice(BASE).transfers
    assert transfers.mode is TransferMode.COLD and not transfers.warm
    assert transfers.hold_limit_seconds == 90 and transfers.hold_audio == ""


def test_warm_settings_are_read_and_a_clip_path_is_resolved(tmp_path):
    clip = tmp_path / "hold.wav"
    clip.write_bytes(b"RIFF")
    transfers = parse_practice(
        {
            **BASE,
            "transfers": {
                "staff": "(414) 555-0101",
                "mode": "Warm_Then_Cold",
                "hold_limit_seconds": 120,
                "hold_audio": str(clip),
                "outbound_trunk": "ST_abc123",
            },
        }
    ).transfers
    assert transfers.mode is TransferMode.WARM_THEN_COLD and transfers.warm
    assert transfers.staff == "tel:+14145550101" and transfers.hold_audio == str(clip)


@pytest.mark.parametrize(
    ("transfers", "expected"),
    [
        ({"mode": "hot"}, "transfers.mode: 'hot' is not a transfer mode: write cold"),
        ({"hold_limit_seconds": 10}, "transfers.hold_limit_seconds: 10 is not a hold limit"),
        ({"hold_limit_seconds": "90"}, "whole seconds between 30 and 600"),
        ({"hold_audio": "music.txt"}, "transfers.hold_audio: 'music.txt' is not an audio clip"),
        ({"hold_audio": "nowhere/hold.wav"}, "'nowhere/hold.wav' is not a file"),
        ({"outbound_trunk": "trunk-1"}, "transfers.outbound_trunk: 'trunk-1' is not an outbound"),
    ],
)
def test_each_transfer_mistake_names_the_field_and_the_fix(transfers, expected):
    from receptionist.domain.practice import PracticeError

    with pytest.raises(PracticeError) as caught:
        parse_practice({**BASE, "transfers": transfers})
    assert expected in str(caught.value)
