"""A scripted LLM test double: each `chat()` call plays the next step of a script.

It stands in for the paid OpenAI model in conversation tests. A step is a reply (`Say`), one or
more tool calls (`Call`), or a function of the chat context returning either, for replies that
depend on what a tool answered (e.g. the id of an offered slot). Every chat context it received is
kept in `requests` so tests can assert what the model was shown.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import APIConnectionError, llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def __init__(self, name: str, **arguments: Any):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "arguments", arguments)


@dataclass(frozen=True)
class Fail:
    """Makes this `chat()` fail like a provider outage (non-retryable)."""

    message: str = "scripted provider outage"


Step = Say | Call | Fail | Sequence[Call] | Callable[[llm.ChatContext], "Step"]


class ScriptedLLM(llm.LLM):
    def __init__(self, steps: Sequence[Step] = (), *, then: Step | None = None) -> None:
        super().__init__()
        self._steps = list(steps)
        self._then = then
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
            self._event_ch.send_nowait(_chunk(request_id, content="(script exhausted)"))
            return
        if isinstance(step, Fail):
            raise APIConnectionError(step.message, retryable=False)
        if isinstance(step, Say):
            self._event_ch.send_nowait(_chunk(request_id, content=step.text))
            return
        calls = [step] if isinstance(step, Call) else list(step)
        tool_calls = [
            llm.FunctionToolCall(
                name=c.name,
                arguments=json.dumps(c.arguments),
                call_id=f"call_{uuid.uuid4().hex[:8]}",
            )
            for c in calls
        ]
        self._event_ch.send_nowait(_chunk(request_id, tool_calls=tool_calls))


def _chunk(request_id: str, *, content: str | None = None, tool_calls=None) -> llm.ChatChunk:
    return llm.ChatChunk(
        id=request_id,
        delta=llm.ChoiceDelta(role="assistant", content=content, tool_calls=tool_calls or []),
    )


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
