"""A scripted LLM test double: each `chat()` call plays the next step of a script.

It stands in for the paid OpenAI model in conversation tests. A step is a reply (`Say`), one or
more tool calls (`Call`), or a function of the chat context returning either, for replies that
depend on what a tool answered (e.g. the id of an offered slot). Every chat context it received is
kept in `requests` so tests can assert what the model was shown.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from livekit.agents import APIConnectionError, llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions

from receptionist.call.standin import Reply, ToolCall, chunk

# The steps are the stand-in's own (receptionist/call/standin.py), played the same way (`chunk`).
Say = Reply


class Call(ToolCall):
    """A tool call as the tests write it: `Call("book_appointment", option_id=...)`."""

    def __init__(self, name: str, **arguments: Any) -> None:
        super().__init__(name, arguments)


@dataclass(frozen=True)
class Fail:
    """Makes this `chat()` fail like a provider outage (non-retryable)."""

    message: str = "scripted provider outage"


Step = Say | Call | Fail | Sequence[Call] | Callable[[llm.ChatContext], "Step"]


class ScriptedLLM(llm.LLM):
    def __init__(
        self,
        steps: Sequence[Step] = (),
        *,
        then: Step | None = None,
        usage: llm.CompletionUsage | None = None,
    ) -> None:
        """`usage`: the tokens each turn reports, as a provider's last chunk does (none: none)."""
        super().__init__()
        self._steps = list(steps)
        self._then = then
        self.usage = usage
        self.requests: list[llm.ChatContext] = []
        self.tool_names: list[list[str]] = []

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "test-double"

    def add(self, *steps: Step) -> None:
        self._steps.extend(steps)

    @property
    def remaining(self) -> int:
        return len(self._steps)

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: Any = NOT_GIVEN,
        tool_choice: Any = NOT_GIVEN,
        extra_kwargs: Any = NOT_GIVEN,
    ) -> llm.LLMStream:
        self.requests.append(chat_ctx.copy())
        self.tool_names.append([getattr(t, "id", str(t)) for t in tools or []])
        step: Step | None = self._steps.pop(0) if self._steps else self._then
        while callable(step) and not isinstance(step, Say | Call | Fail):
            step = step(chat_ctx)
        return _ScriptedStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options, step=step
        )


class _ScriptedStream(llm.LLMStream):
    def __init__(self, owner: ScriptedLLM, *, step: Step | None, **kwargs: Any) -> None:
        super().__init__(owner, **kwargs)
        self._step = step

    async def _run(self) -> None:
        step = self._step
        request_id = f"scripted-{uuid.uuid4().hex[:8]}"
        if step is None:
            step = Say("(script exhausted)")
        if isinstance(step, Fail):
            raise APIConnectionError(step.message, retryable=False)
        turn = step if isinstance(step, Say) else [step] if isinstance(step, Call) else list(step)
        self._event_ch.send_nowait(chunk(request_id, turn))
        owner: ScriptedLLM = self._llm  # type: ignore[assignment]
        if owner.usage is not None:
            self._event_ch.send_nowait(llm.ChatChunk(id=request_id, usage=owner.usage))


def last_tool_output(chat_ctx: llm.ChatContext, name: str) -> str:
    """The output of the most recent call of tool `name` in a chat context (for dynamic steps)."""
    outputs = {}
    calls = {}
    for item in chat_ctx.items:
        if item.type == "function_call":
            calls[item.call_id] = item.name
        elif item.type == "function_call_output":
            outputs[item.call_id] = item.output
    for call_id in reversed(list(outputs)):
        if calls.get(call_id) == name:
            return outputs[call_id]
    raise AssertionError(f"no output of tool {name!r} in the chat context")
