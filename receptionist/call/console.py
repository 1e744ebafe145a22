"""`agent.py console`: a provider that fails is one sentence naming the fix, not a hundred lines.

LiveKit retries a refused key or an unreachable provider several times and logs every attempt
with its traceback, then closes the session: about a hundred lines for one typed question, with
the cause buried in the middle. On a phone line those records are what an operator needs; in the
developer's terminal they are noise. So, in console mode only, the provider-failure records are
held back and the final failure of each provider is said once, with its fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import AgentSession, APIConnectionError, APIError, APIStatusError
from livekit.agents.voice.events import ErrorEvent

OFFLINE = "No keys or no network? `uv run agent.py try` runs the receptionist offline."
# The extras LiveKit's STT, LLM and TTS wrappers put on their retry and failure records.
PROVIDER_EXTRAS = ("llm", "stt", "tts")
CLOSING = "AgentSession is closing due to unrecoverable error"


@dataclass(frozen=True)
class Provider:
    name: str
    key: str
    keys_page: str


PROVIDERS = {
    "openai": Provider("OpenAI", "OPENAI_API_KEY", "https://platform.openai.com/api-keys"),
    "deepgram": Provider("Deepgram", "DEEPGRAM_API_KEY", "https://console.deepgram.com"),
}


def provider_of(label: str) -> Provider | None:
    """The provider behind a LiveKit label such as `livekit.plugins.openai.llm.LLM`."""
    lowered = label.lower()
    return next((p for name, p in PROVIDERS.items() if name in lowered), None)


def api_error(exc: BaseException | None) -> APIError | None:
    """The first LiveKit API error in `exc`'s chain (a retry wrapper's cause is the real one)."""
    seen: list[APIError] = []
    while exc is not None and len(seen) < 10:
        if isinstance(exc, APIError):
            seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    statuses = [e for e in seen if isinstance(e, APIStatusError)]
    return (statuses or seen or [None])[-1]


def sentence(label: str, exc: BaseException) -> str:
    """What failed, in one sentence, and how to fix it."""
    provider = provider_of(label)
    name = provider.name if provider else label
    error = api_error(exc)
    if isinstance(error, APIStatusError) and error.status_code in (401, 403) and provider:
        said = (
            f"{name} refused the API key ({error.status_code}): "
            f"put a valid {provider.key} in .env ({provider.keys_page})."
        )
    elif isinstance(error, APIStatusError) and error.status_code == 429:
        said = f"{name} refused the request (429): the account is out of quota or rate-limited."
    elif isinstance(error, APIStatusError):
        said = f"{name} answered with an error ({error.status_code}); try again shortly."
    elif isinstance(error, APIConnectionError):
        said = f"{name} could not be reached: check this machine's network (or HTTPS_PROXY)."
    else:
        said = f"{name} failed ({type(exc).__name__})."
    return f"{said} {OFFLINE}"


class ProviderNoise(logging.Filter):
    """Holds back the records of provider retries and failures (console mode only)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        if any(key in record.__dict__ for key in PROVIDER_EXTRAS):
            return False
        if record.getMessage().startswith(CLOSING):
            return False
        failure = record.exc_info[1] if record.exc_info else None
        return api_error(failure) is None


@dataclass
class ConsoleErrors:
    """Says each provider's final failure once (`say` prints to the console)."""

    say: Callable[[str], None]
    said: set[str] = field(default_factory=set)

    def on_error(self, ev: ErrorEvent) -> None:
        error: Any = ev.error  # LLMError | STTError | TTSError: each has label, error, recoverable
        if getattr(error, "recoverable", True):
            return
        label = str(getattr(error, "label", type(ev.source).__name__))
        if label in self.said:
            return
        self.said.add(label)
        self.say(sentence(label, error.error))


def quiet_provider_failures(session: AgentSession[Any], say: Callable[[str], None]) -> None:
    """In console mode: provider failures as one sentence each, their log records held back."""
    noise = ProviderNoise()
    for handler in logging.getLogger().handlers:
        handler.addFilter(noise)
    session.on("error", ConsoleErrors(say).on_error)
