"""One phone call, wired: the `Receptionist` agent and the session around it.

This is the LiveKit edge of the domain: it turns a job into a call (who is calling, which practice),
builds the session from settings, and attaches the keypad, silence and end-of-call handling.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from livekit import rtc
from livekit.agents import (
    NOT_GIVEN,
    Agent,
    AgentSession,
    ConversationItemAddedEvent,
    FlushSentinel,
    JobContext,
    ModelSettings,
    cli,
    get_job_context,
    llm,
    room_io,
)
from livekit.agents.vad import VAD
from livekit.agents.voice.agent_session import SessionConnectOptions
from livekit.agents.voice.room_io.types import NoiseCancellationParams, NoiseCancellationSelector
from rich.text import Text

from receptionist.call import language, records
from receptionist.call.clips import RoomClipPlayer
from receptionist.call.console import quiet_provider_failures
from receptionist.call.control import CallControl
from receptionist.call.heartbeat import Heartbeat
from receptionist.call.legs import RoomLegs
from receptionist.call.lifecycle import CallLifecycle, SilenceWatch
from receptionist.call.prompts import greeting, render_instructions, resumed_greeting
from receptionist.call.providers import Providers, build_llm, build_providers, turn_handling
from receptionist.call.recovery import Recovery
from receptionist.call.state import CallState
from receptionist.call.transfer import operator_escape
from receptionist.call.usage import count_usage
from receptionist.domain.calls import DIALLED, CallInfo, attribute
from receptionist.domain.closures import practice_today
from receptionist.domain.practice import Practice, PracticeDirectory
from receptionist.domain.replies import MAX_REPLIES, reply_time
from receptionist.logs import bind_call
from receptionist.pms.books import Books
from receptionist.settings import Settings
from receptionist.store import Store, StoreError
from receptionist.telemetry import metrics

log = logging.getLogger("receptionist")

# LiveKit's AgentSession builds a default turn detector even when it is given one (it evaluates
# the default eagerly); in console/dev mode without LiveKit Cloud keys that unused detector warns
# about LIVEKIT_INFERENCE_URL, a variable nobody set. This agent pins the local detector
# (providers.turn_handling), so the warning describes nothing that runs.
UNUSED_DETECTOR_NOTICE = "LIVEKIT_INFERENCE_URL is set but"

# `console --text`: the silence checks are for a phone line (ask after 12 s, hang up after 24 s);
# someone typing to the console gets an hour before the session ends.
TYPING_SILENCE_TIMEOUT = 3600.0

# Each failed turn is silence on the phone: after two in a row (each already retried by the
# provider plugins and fallback adapters) the session gives up and the rescue path takes over.
CONNECT_OPTIONS = SessionConnectOptions(max_unrecoverable_errors=1)

# One call's tools, as the framework's Agent takes them: function tools and toolsets (EndCallTool).
AgentTools = Sequence[llm.Tool | llm.Toolset]


class Receptionist(Agent):
    """The practice's automated receptionist. Greets from code so the first words come fast.

    Its tools are handed in (`tools.receptionist_tools()`, by `agent.py` and the test harness):
    the call package never imports the tools package, which imports it. `resumed` is for an agent
    sent back into a call whose agent was lost (receptionist/call/recovery.py): the caller is
    already on the line, so it says they were cut off instead of the opening line.
    """

    def __init__(self, practice: Practice, tools: AgentTools, *, resumed: bool = False) -> None:
        super().__init__(instructions=render_instructions(practice), tools=list(tools))
        self.practice = practice
        self.resumed = resumed

    async def on_enter(self) -> None:
        state: CallState = self.session.userdata
        if self.resumed:
            self.session.say(resumed_greeting(self.practice, state.language))
            return
        self.session.say(greeting(self.practice, self.practice.is_open(state.now())))

    async def llm_node(
        self, chat_ctx: llm.ChatContext, tools: list[llm.Tool], model_settings: ModelSettings
    ) -> AsyncIterable[llm.ChatChunk | str | FlushSentinel]:
        """Before each reply: a caller naming a language ("español"), or speaking one the STT
        recognised, switches the call to it (receptionist/call/language.py). A bare choice is
        answered from code at once; anything else by the model, with this reply's instructions
        already in the new language. Here rather than in `on_user_turn_completed`, which typed
        turns (the console, the tests) never reach."""
        state: CallState = self.session.userdata
        first_words = await language.at_reply(self.session, state, chat_ctx)
        if first_words is not None:
            yield first_words
            return
        async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
            yield chunk


def build_session(
    settings: Settings, providers: Providers, state: CallState, vad: VAD | None
) -> AgentSession[CallState]:
    """The session for one call. A provider that is None is left out (a typed conversation);
    `vad` None turns the framework's default VAD off rather than loading another."""
    return AgentSession[CallState](
        stt=NOT_GIVEN if providers.stt is None else providers.stt,
        llm=providers.llm,
        tts=NOT_GIVEN if providers.tts is None else providers.tts,
        vad=vad,
        turn_handling=turn_handling(settings, providers),
        userdata=state,
        user_away_timeout=settings.silence_timeout,
        max_tool_steps=4,
        conn_options=CONNECT_OPTIONS,
    )


def quiet_framework_notices() -> None:
    """Drops LiveKit log notices that do not apply to this agent (see UNUSED_DETECTOR_NOTICE)."""
    framework = logging.getLogger("livekit.agents")
    if not any(getattr(f, "__name__", "") == "_unused_detector" for f in framework.filters):
        framework.addFilter(_unused_detector)


def _unused_detector(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(UNUSED_DETECTOR_NOTICE)


def console_text_mode() -> bool:
    """Whether this job runs in `agent.py console --text` (LiveKit's local console, typing)."""
    console = cli.AgentsConsole.get_instance()
    return console.enabled and console.console_mode == "text"


def call_providers(settings: Settings, practice: Practice, *, text_only: bool) -> Providers:
    """The providers for a call. Typing in the console needs only the model: without a Deepgram
    key no STT or TTS is built (both would refuse an empty key), so `console --text` runs with
    OPENAI_API_KEY alone; with the key, Ctrl-T can still switch the console to voice."""
    missing_speech = not settings.deepgram_api_key.get_secret_value()
    if text_only and missing_speech and not settings.provider_factory:
        return Providers(stt=None, llm=build_llm(settings), tts=None, turn_detection="manual")
    return build_providers(settings, keyterms=[practice.name])


def show_greeting_in_console(session: AgentSession[CallState]) -> None:
    """LiveKit's text console prints only the replies to what was typed, so the greeting, said
    from code before anyone types, never appeared: print it first, as the console prints replies
    (a caller hears it first too)."""
    console = getattr(cli.AgentsConsole.get_instance(), "console", None)  # rich, when local
    if console is None:
        return

    def on_item(ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if item.type != "message" or item.role != "assistant" or not item.text_content:
            return
        session.off("conversation_item_added", on_item)
        lines = "".join(f"\n    {line}" for line in item.text_content.split("\n"))
        console.print(Text.assemble(("  \u25cf ", "#6BCB77"), ("Agent", "bold #6BCB77"), lines))

    session.on("conversation_item_added", on_item)


def say_in_console(text: str) -> None:
    """One line in the console's own style (rich, when local), else on stderr."""
    console = getattr(cli.AgentsConsole.get_instance(), "console", None)
    if console is None:
        print(text, file=sys.stderr)
        return
    console.print(Text.assemble(("  \u25cf ", "bold red"), (text, "red")))


def noise_filter(settings: Settings) -> NoiseCancellationSelector | None:
    """BVCTelephony for phone callers, BVC for others; only where it can run (LiveKit Cloud)."""
    if not settings.agent_cancels_noise:
        return None

    # Imported only when used: loading the plugin registers an audio filter that a self-hosted
    # server refuses with an error on every call.
    from livekit.plugins import noise_cancellation

    def choose(params: NoiseCancellationParams) -> rtc.NoiseCancellationOptions:
        if params.participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP:
            return noise_cancellation.BVCTelephony()
        return noise_cancellation.BVC()

    return choose


def reply_timer(state: CallState) -> Callable[[ConversationItemAddedEvent], None]:
    """Keeps how long the caller waited for each reply (`state.replies`), from the metrics
    LiveKit puts on the caller's message and on the reply that answered it; each wait is also
    observed in the operator's reply-time histogram."""
    heard: dict[str, Any] = {}  # the metrics on the caller's last message

    def keep(ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if item.type != "message":
            return
        if item.role == "user":
            heard.clear()
            heard.update(item.metrics)
        elif item.role == "assistant":
            reply = reply_time(item.metrics, heard)
            if reply is None:
                return
            metrics.reply(state.practice.id, reply["wait_s"])
            if len(state.replies) < MAX_REPLIES:
                state.replies.append(reply)

    return keep


def attach_call_handling(
    session: AgentSession[CallState],
    state: CallState,
    settings: Settings,
    *,
    on_finished: Callable[[CallState], Awaitable[None]] | None = None,
) -> CallLifecycle:
    """Keypad, silence and end-of-call handling for a session (used by production and tests)."""

    async def deliver_entry(what: str, digits: str) -> None:
        label = what.replace("_", " ")
        session.generate_reply(user_input=f"(typed on the keypad, {label}) {digits}")

    def keep_transcript(ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if item.type == "message" and item.text_content and state.practice.records.transcripts:
            state.transcript.append({"role": item.role, "text": item.text_content})

    state.keypad.connect(
        on_operator=lambda: operator_escape(session, state),
        on_entry=deliver_entry,
        on_language=lambda digit: language.by_keypad(session, state, digit),
        language_digits=language.language_digits(state),
    )
    silence = SilenceWatch(
        session,
        grace_seconds=settings.silence_timeout,
        transferring=state.control.transfer_lock.locked,
        words=lambda: state.words,
    )
    lifecycle = CallLifecycle(state, on_finished=on_finished)
    session.on("user_state_changed", silence.on_user_state)
    session.on("user_input_transcribed", language.heard(state))
    session.on("conversation_item_added", keep_transcript)
    session.on("conversation_item_added", reply_timer(state))
    session.on("close", lifecycle.on_close)
    return lifecycle


@dataclass(frozen=True)
class Worker:
    """What every call in a worker process shares, built once by `agent.py`."""

    settings: Settings
    practices: PracticeDirectory
    store: Store
    vad: VAD  # silero.VAD, loaded once per process
    tools: Callable[[], AgentTools]  # a fresh set per call (the end-call tool has state)
    books: Books | None = None  # each location's book ([practice.book]); None: the store's


async def todays_practice(store: Store, practice: Practice, now: datetime) -> Practice:
    """The profile with the closures staff added; the file's alone if the book is unreachable
    (the call goes on: a closure staff set is missed rather than the caller left waiting)."""
    try:
        return await practice_today(store, practice, now.astimezone(practice.tz).date())
    except StoreError as exc:
        log.warning("staff closures not read (%s); using practice.toml's", type(exc).__name__)
        return practice


async def run_call(ctx: JobContext, worker: Worker) -> None:
    """The whole call: connect, find the caller, build the session, greet, and clean up."""
    settings = worker.settings
    recovery = Recovery.from_metadata(ctx.job.metadata)  # set by `receptionist watch`, if at all
    await ctx.connect()  # before waiting: waiting on an unconnected room raises
    if recovery is not None and recovery.lost_agent_alive(ctx.room.remote_participants.values()):
        # The agent given up on beat again after all: two agents must never talk over each other.
        log.warning("sent to recover a call whose agent is alive; leaving it to that agent")
        ctx.shutdown(reason="the call's agent is alive")
        return
    participant = await ctx.wait_for_participant()  # SIP, or a standard (console/browser) caller
    is_sip = participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP
    # The dialled number picks the practice; the caller's number is then read in its region.
    practice = worker.practices.for_dialled(attribute(participant.attributes, DIALLED))
    info = CallInfo.from_attributes(participant.attributes, practice.region, is_sip=is_sip)
    bind_call(info.log_id)
    log.info("call started", extra={"sip": is_sip, "practice": practice.name})
    worker.store.flush_outbox_soon()  # what an earlier outage left behind, in the background
    practice = await todays_practice(worker.store, practice, datetime.now(UTC))

    state = CallState(
        info=info,
        practice=practice,
        store=worker.store,
        control=CallControl(
            None if ctx.is_fake_job() else ctx.api,  # console mode has no server to call
            room_name=ctx.room.name,
            participant_identity=participant.identity if is_sip else "",
            ringing_timeout=settings.transfer_ringing_timeout,
            # A phone caller's room can take a staff leg (a warm transfer, if the practice wants).
            legs=RoomLegs(ctx.room, ctx.api, caller=participant.identity)
            if is_sip and not ctx.is_fake_job()
            else None,
        ),
        clips=RoomClipPlayer(ctx.room),
        # A recovered call keeps its first start, so its record covers the whole call.
        started_at=(recovery.call_started_at if recovery else None) or datetime.now(UTC),
        caller_identity=participant.identity,
        room_name=ctx.room.name,
        book=worker.books.for_practice(practice) if worker.books else None,
    )
    if recovery is not None:
        state.note("recovered", recovery.timeline_detail())
        log.info("call recovered after its agent was lost", extra={"attempt": recovery.attempt})
    typing = console_text_mode()
    if typing:  # a typist reads and thinks: the phone line's silence checks would hang up
        settings = settings.model_copy(update={"silence_timeout": TYPING_SILENCE_TIMEOUT})
    providers = call_providers(settings, practice, text_only=typing)
    session = build_session(settings, providers, state, worker.vad)
    if typing:
        show_greeting_in_console(session)
    console = ctx.is_fake_job()  # `agent.py console`: nobody on a line
    if console:  # a refused key or no network: one sentence with the fix, not the tracebacks
        quiet_provider_failures(session, say_in_console)

    async def write_record(done: CallState) -> None:
        models = session.usage.model_usage
        usage = {"models": [u.model_dump(mode="json") for u in models], "replies": done.replies}
        if not console:
            count_usage(done.practice.id, models)
        await write_call_record(done, usage, console=console)

    lifecycle = attach_call_handling(session, state, settings, on_finished=write_record)
    ctx.room.on("sip_dtmf_received", caller_keys(state, participant.identity))
    ctx.add_shutdown_callback(lifecycle.wait)

    await session.start(
        agent=Receptionist(practice, worker.tools(), resumed=recovery is not None),
        room=ctx.room,
        room_options=room_io.RoomOptions(
            participant_identity=participant.identity,
            audio_input=room_io.AudioInputOptions(noise_cancellation=noise_filter(settings)),
        ),
        # LiveKit's session host broadcasts every state change, transcript and usage update
        # over the room's data channel for a remote console to watch; nobody on a phone can
        # read it, so on a phone call it only costs CPU (7% of a call's, agent and server).
        session_host=not is_sip,
    )
    if not ctx.is_fake_job():  # console mode has no server for a watcher to read
        start_heartbeat(ctx)


def caller_keys(state: CallState, caller: str) -> Callable[[rtc.SipDTMF], None]:
    """The caller's keypresses go to the call's keypad; a staff member's (their leg of a warm
    transfer answers with 1 or 2) do not."""

    def press(event: rtc.SipDTMF) -> None:
        if event.participant is None or event.participant.identity == caller:
            state.keypad.press(event.digit)

    return press


def start_heartbeat(ctx: JobContext) -> Heartbeat:
    """Beats on the agent's participant while the job is in the room, so `receptionist watch`
    can tell this agent from a dead one; stops when the room disconnects. Started once the session
    is up: setting a call up can stall the job's loop for seconds on a busy host (seen: 3.7 s
    building the API client's TLS context), and an agent that has not beaten yet is trusted."""
    heartbeat = Heartbeat(ctx.room.local_participant)
    heartbeat.start()
    ctx.room.on("disconnected", lambda *_: heartbeat.stop())
    ctx.add_shutdown_callback(heartbeat.aclose)
    return heartbeat


async def write_call_record(state: CallState, usage: dict | None, *, console: bool) -> None:
    """Hands the finished call to the call log, then lets the job end.

    A console session (`agent.py console`, a fake job) is a developer trying the agent, not a
    call: it is left out of the call log (and the operator's call counts), where it would show as
    an unknown caller who abandoned and count in the staff's figures. What it booked or took as a
    message stays in the book."""
    try:
        if console:
            log.info("console session: not written to the call log")
        else:
            await records.finish_call(state, usage=usage)
            metrics.call_ended(state.practice.id, state.outcome.value)
    finally:
        log.info("call finished", extra={"outcome": state.outcome.value})
        get_job_context().shutdown(reason="call finished")
