"""Two phone legs in one room: the LiveKit mechanics of a warm transfer on a self-hosted server.

LiveKit's `WarmTransferTask` moves the caller between rooms with `MoveParticipant`, which the
open-source server answers with "not implemented". So the staff member is dialled into the
caller's own room, and who hears what is set with the server API alone:

- the agent's own tracks by publisher track permissions: during the hold the caller may
  subscribe to the hold track and the agent's usual voice (silent meanwhile), the staff only to a
  briefing track of its own that the agent speaks to them on. The caller never loses the agent's
  voice, so it is back the moment a declined transfer returns them: a track the caller was denied
  and then allowed again is re-subscribed by the bridge 0.1-1.6 s later (measured), with no event
  that says when, and the caller heard silence or missed the first words;
- between the two phone legs by RoomService `UpdateSubscriptions`. livekit-sip subscribes its
  participant to every audio track in the room and mixes them, and it subscribes again on its own
  (the staff's leg when it answers, any leg after a reconnect), so the unsubscription is not
  sticky: `LegGuard` re-applies it (it is idempotent) at once on every event after which the
  bridge may subscribe, then on a short schedule, then every second, until the legs are joined;
- a leg is ended with `RemoveParticipant` (the bridge then hangs that phone up); the whole call
  with `DeleteRoom`. Once the legs talk to each other nobody else ends the call when one phone
  hangs up: the agent must.

`RoomLegs` is the production implementation; `Legs` is what the warm transfer needs of it, so
the conversation tests can stand a scripted staff member in for the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from livekit import api, rtc
from livekit.agents import AgentSession
from livekit.agents.voice.background_audio import BackgroundAudioPlayer, BuiltinAudioClip
from livekit.rtc.room import EventTypes

from receptionist.call import sip
from receptionist.call.ears import Ears
from receptionist.call.sip import Dialled, LiveKitClient, Outgoing
from receptionist.domain.practice import Practice

log = logging.getLogger("receptionist.call")

SPEECH_TRACK = "roomio_audio"  # the name AgentSession's room output publishes the agent's voice as
BRIEFING_TRACK = "briefing"  # the agent's voice for the staff member only
STAFF_NAME = "staff"
# After an event that may make the bridge subscribe again: re-apply at once, then after each of
# these pauses (seconds, about 3 s in all), then every GUARD_IDLE seconds. The bridge subscribes
# right after it marks a leg active, and a subscription needs a signalling round trip before
# audio flows, so the first re-applications come before any audio can.
GUARD_SCHEDULE = (0.02, 0.02, 0.02, 0.04, 0.05, 0.05, 0.1, 0.2, 0.25, 0.25, 0.5, 0.5, 1.0)
GUARD_IDLE = 1.0
GUARD_STOP_SECONDS = 2.0
BRIEFING_SAMPLE_RATE = 24000
UNPUBLISH_WAIT = 2.0  # seconds


@dataclass(frozen=True)
class StaffCall(Outgoing):
    """The staff member's leg: who to dial, over which trunk, and for how long it may ring; in
    the room as "staff", for an hour at most."""

    max_seconds: int = 3600
    name: str = STAFF_NAME


class Legs(Protocol):
    """What a warm transfer does to the room (RoomLegs; a scripted stand-in in tests)."""

    caller: str

    async def outbound_trunk(self, practice: Practice) -> str | None: ...

    async def ready_hold(self) -> None: ...

    async def tell_staff(self, text: str, session: AgentSession) -> None: ...

    def quiet_staff(self) -> None: ...

    async def start_hold(self, audio: str) -> None: ...

    async def stop_hold(self) -> None: ...

    async def agent_heard_by(self, *, caller: bool, staff: str | None) -> None: ...

    async def dial(self, call: StaffCall) -> Dialled: ...

    async def join(self, staff: str) -> None: ...

    async def remove(self, identity: str) -> None: ...

    def left(self, identity: str) -> asyncio.Future[None]: ...

    def keys(self, identity: str) -> asyncio.Queue[str]: ...

    def words(self, identity: str, session: AgentSession) -> asyncio.Queue[str]: ...

    async def close(self) -> None: ...


def dialled_number(destination: str) -> str:
    """What the outbound trunk dials for a transfer destination (`tel:+1...` or `sip:user@host`)."""
    if destination.lower().startswith("tel:"):
        return destination[4:]
    if destination.lower().startswith("sip:"):
        return destination[4:].partition("@")[0]
    return destination


class RoomLegs:
    """The caller's room with a staff leg added: hold, permissions, the guard, dial, join, end."""

    def __init__(self, room: rtc.Room, client: LiveKitClient, *, caller: str) -> None:
        self._room = room
        self._client = client
        self.caller = caller
        self._hold: BackgroundAudioPlayer | None = None
        self._briefing: rtc.AudioSource | None = None
        self._briefing_track: rtc.LocalTrackPublication | None = None
        self._guard: LegGuard | None = None
        self._ears: list[Ears] = []
        self._handlers: list[tuple[EventTypes, Callable[..., None]]] = []

    # --- the trunk ---------------------------------------------------------------------------

    async def outbound_trunk(self, practice: Practice) -> str | None:
        """The trunk the staff are dialled over (receptionist/call/sip.py: `outbound_trunk`)."""
        return await sip.outbound_trunk(self._client, practice, "transfers")

    # --- the agent's tracks ------------------------------------------------------------------

    async def ready_hold(self) -> None:
        """Publishes the hold track and the briefing track, silent, while the hold line still
        plays, so each leg is subscribed to its track before anything is played on it."""
        if self._hold is None:
            player = BackgroundAudioPlayer()
            await player.start(room=self._room)
            self._hold = player
        if self._briefing is None:
            source = rtc.AudioSource(BRIEFING_SAMPLE_RATE, 1)
            track = rtc.LocalAudioTrack.create_audio_track(BRIEFING_TRACK, source)
            self._briefing = source
            self._briefing_track = await self._room.local_participant.publish_track(
                track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            )

    async def tell_staff(self, text: str, session: AgentSession) -> None:
        """Says `text` on the briefing track, in the session's own voice, and waits until it
        has played. Only the staff member may hear that track."""
        source, tts = self._briefing, session.tts
        if source is None or tts is None:
            return
        resampler: rtc.AudioResampler | None = None
        async with tts.synthesize(text) as stream:
            async for audio in stream:
                frame = audio.frame
                if frame.sample_rate != BRIEFING_SAMPLE_RATE and resampler is None:
                    resampler = rtc.AudioResampler(frame.sample_rate, BRIEFING_SAMPLE_RATE)
                for out in resampler.push(frame) if resampler else [frame]:
                    await source.capture_frame(out)
        for out in resampler.flush() if resampler else []:
            await source.capture_frame(out)
        await source.wait_for_playout()

    async def _retire_briefing(self) -> None:
        """Unpublishes the briefing track once no staff member is being briefed. Bounded: an
        unpublish never answers once the room is gone (the call ended), and must not hold up
        the end of the call."""
        publication, self._briefing_track = self._briefing_track, None
        source, self._briefing = self._briefing, None
        if publication is not None and self._room.isconnected():
            with contextlib.suppress(Exception):
                async with asyncio.timeout(UNPUBLISH_WAIT):
                    await self._room.local_participant.unpublish_track(publication.sid)
        if source is not None:
            await source.aclose()

    def quiet_staff(self) -> None:
        """Drops what is still queued on the briefing track (the staff answered mid-line)."""
        if self._briefing is not None:
            self._briefing.clear_queue()

    async def start_hold(self, audio: str) -> None:
        """Hold audio on a track of its own: the practice's clip, or LiveKit's hold music."""
        await self.ready_hold()
        if self._hold is not None:
            self._hold.play(audio or BuiltinAudioClip.HOLD_MUSIC, loop=True)

    async def stop_hold(self) -> None:
        player, self._hold = self._hold, None
        if player is not None:
            await player.aclose()  # unpublishes the hold track

    async def agent_heard_by(self, *, caller: bool, staff: str | None) -> None:
        """Who may subscribe to the agent's tracks.

        caller=True, staff=None: everyone (the normal call). caller=False, staff=id: the hold
        track and the agent's usual voice for the caller, the briefing track for the staff
        member. caller=False, staff=None: nobody (the legs are joined and the agent is out of
        the audio path)."""
        local = self._room.local_participant
        if caller and staff is None:
            local.set_track_subscription_permissions(allow_all_participants=True)
            return
        allowed = []
        if staff is not None:
            hold = self._hold.publication.sid if self._hold and self._hold.publication else ""
            voice = [p.sid for p in _named(local, SPEECH_TRACK)]
            briefing = self._briefing_track.sid if self._briefing_track else ""
            allowed = [_only(self.caller, [hold, *voice]), _only(staff, [briefing])]
        local.set_track_subscription_permissions(
            allow_all_participants=False, participant_permissions=allowed
        )

    # --- the staff leg -----------------------------------------------------------------------

    async def dial(self, call: StaffCall) -> Dialled:
        """Dials the staff member into this room (the caller hears hold, not their ringing); the
        legs are kept apart from the moment the staff's participant joins (before it answers).
        One try: a busy bridge is a failed line, and the caller is told at once."""
        guard = self._guard = LegGuard(self._room, self._client, self.caller, call.identity)
        guard.start()
        dialled = await sip.dial(self._client, self._room.name, call, label="staff leg")
        if dialled.answered:
            guard.poke()  # the bridge subscribes the staff's leg to the room now
        return dialled

    async def join(self, staff: str) -> None:
        """Connects the two phone legs: the guard stops and each leg subscribes to the other."""
        if self._guard is not None:
            await self._guard.stop()
            self._guard = None
        await asyncio.gather(
            self._subscribe(staff, self.caller, True), self._subscribe(self.caller, staff, True)
        )
        await self._retire_briefing()  # after: the legs hear each other without waiting for it

    async def remove(self, identity: str) -> None:
        """Ends one leg (the bridge hangs that phone up), now and if it joins later (a dial
        whose request was abandoned may still connect)."""
        await self._retire_briefing()
        # Kept past close(): the attempt may be over before an abandoned dial joins.
        self._room.on("participant_connected", lambda p: self._drop_if(p, identity))
        try:
            await self._client.room.remove_participant(
                api.RoomParticipantIdentity(room=self._room.name, identity=identity)
            )
        except api.TwirpError as exc:
            if exc.code != "not_found":
                log.warning("could not end a leg", extra={"twirp_code": exc.code})
        except Exception as exc:
            log.warning("could not end a leg (%s)", type(exc).__name__)

    def _drop_if(self, participant: rtc.RemoteParticipant, identity: str) -> None:
        if participant.identity == identity:
            _spawn(self.remove(identity))

    # --- what happens on the legs ------------------------------------------------------------

    def left(self, identity: str) -> asyncio.Future[None]:
        """Resolves when `identity` leaves the room (or is not in it), or the room is gone."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def settle(*_: Any) -> None:
            if not done.done():
                done.set_result(None)

        def on_left(participant: rtc.RemoteParticipant) -> None:
            if participant.identity == identity:
                settle()

        self._on("participant_disconnected", on_left)
        self._on("disconnected", settle)
        return done

    def keys(self, identity: str) -> asyncio.Queue[str]:
        """The digits `identity` presses, as they arrive."""
        pressed: asyncio.Queue[str] = asyncio.Queue()

        def on_dtmf(event: rtc.SipDTMF) -> None:
            if event.participant is not None and event.participant.identity == identity:
                pressed.put_nowait(event.digit)

        self._on("sip_dtmf_received", on_dtmf)
        return pressed

    def words(self, identity: str, session: AgentSession) -> asyncio.Queue[str]:
        """What `identity` says, as final transcripts, heard by the session's own STT."""
        ears = Ears(self._room, identity, session)
        self._ears.append(ears)
        ears.start()
        return ears.heard

    async def close(self) -> None:
        """Stops what one attempt started (listeners, guard, ears, hold); the room can take
        another attempt afterwards (the caller may ask again after a decline)."""
        for event, handler in self._handlers:
            with contextlib.suppress(Exception):
                self._room.off(event, handler)
        self._handlers.clear()
        guard, self._guard = self._guard, None
        if guard is not None:
            await guard.stop()
        ears, self._ears = self._ears, []
        for one in ears:
            await one.aclose()
        await self.stop_hold()
        await self._retire_briefing()

    def _on(self, event: EventTypes, handler: Callable[..., None]) -> None:
        self._room.on(event, handler)
        self._handlers.append((event, handler))

    async def _subscribe(self, listener: str, speaker: str, subscribe: bool) -> None:
        await update_subscriptions(self._client, self._room, listener, speaker, subscribe)


class LegGuard:
    """Keeps two phone legs from hearing each other until they are joined.

    Unsubscribes each leg from the other's audio at once on every event after which the bridge
    may subscribe again (a leg joins, publishes, changes call status, the room reconnects), then
    again on GUARD_SCHEDULE after it, then every GUARD_IDLE seconds."""

    EVENTS: tuple[EventTypes, ...] = (
        "participant_connected",
        "track_published",
        "participant_attributes_changed",
        "reconnected",
    )

    def __init__(self, room: rtc.Room, client: LiveKitClient, caller: str, staff: str) -> None:
        self._room = room
        self._client = client
        self._legs = (caller, staff)
        self._poked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.applied = 0  # how many times the unsubscription was sent (tests, logs)

    def start(self) -> None:
        for event in self.EVENTS:
            self._room.on(event, self._on_event)
        self._task = asyncio.create_task(self._run())
        self.poke()

    def poke(self) -> None:
        self._poked.set()

    async def stop(self) -> None:
        for event in self.EVENTS:
            with contextlib.suppress(Exception):
                self._room.off(event, self._on_event)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # Bounded: joining the legs must never wait on a request stuck in the guard.
            await asyncio.wait({task}, timeout=GUARD_STOP_SECONDS)
        log.info("legs kept apart", extra={"unsubscriptions": self.applied})

    def _on_event(self, *args: Any) -> None:
        """Pokes for events of the two legs, or the room reconnecting (no participant); not for
        the agent's own (its heartbeat changes its attributes every second)."""
        people = [a for a in args if hasattr(a, "identity")]
        if not people or any(p.identity in self._legs for p in people):
            self.poke()

    async def _run(self) -> None:
        pending = list(GUARD_SCHEDULE)
        while True:
            delay = pending[0] if pending else GUARD_IDLE
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the guard's own
            # cancellation when the wait ends at the same moment, and the guard then never stops.
            try:
                async with asyncio.timeout(delay):
                    await self._poked.wait()
            except TimeoutError:
                if pending:
                    pending.pop(0)
            else:
                self._poked.clear()
                pending = list(GUARD_SCHEDULE)
            await self.apply()

    async def apply(self) -> None:
        """Unsubscribes each leg from the other's audio tracks (idempotent)."""
        caller, staff = self._legs
        await asyncio.gather(
            update_subscriptions(self._client, self._room, staff, caller, False),
            update_subscriptions(self._client, self._room, caller, staff, False),
        )
        self.applied += 1


async def update_subscriptions(
    client: LiveKitClient, room: rtc.Room, listener: str, speaker: str, subscribe: bool
) -> None:
    """(Un)subscribes `listener` to `speaker`'s audio, when both are in the room."""
    people = room.remote_participants
    if listener not in people or speaker not in people:
        return
    sids = [
        p.sid
        for p in people[speaker].track_publications.values()
        if p.kind == rtc.TrackKind.KIND_AUDIO
    ]
    await _request_subscriptions(client, room.name, listener, sids, subscribe)


async def _request_subscriptions(
    client: LiveKitClient, room: str, listener: str, sids: list[str], subscribe: bool
) -> None:
    if not sids:
        return
    request = api.UpdateSubscriptionsRequest(
        room=room, identity=listener, track_sids=sids, subscribe=subscribe
    )
    try:
        await client.room.update_subscriptions(request)
    except api.TwirpError as exc:
        if exc.code != "not_found":  # the leg left meanwhile: nothing to keep apart
            log.warning("could not update a leg's subscriptions", extra={"twirp_code": exc.code})
    except Exception as exc:
        log.warning("could not update a leg's subscriptions (%s)", type(exc).__name__)


def _only(identity: str, sids: list[str]) -> rtc.ParticipantTrackPermission:
    return rtc.ParticipantTrackPermission(
        participant_identity=identity, allow_all=False, allowed_track_sids=[s for s in sids if s]
    )


def _named(local: rtc.LocalParticipant, name: str) -> list[rtc.LocalTrackPublication]:
    return [p for p in local.track_publications.values() if p.name == name]


_BACKGROUND: set[asyncio.Task[None]] = set()


def _spawn(coro: Awaitable[None]) -> None:
    task = asyncio.ensure_future(coro)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)
