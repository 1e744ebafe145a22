"""Traces of calls for the operator's OpenTelemetry collector, with patient data kept out.

LiveKit Agents traces every call (the session, each turn, the model, the voice, each tool) once a
tracer provider is set. `start_tracing` sets one in each job process (agent.py's prewarm) when
OTEL_EXPORTER_OTLP_ENDPOINT names a collector (OTLP over HTTP, protobuf). Three guards keep
what callers said and who they are out of it:

1. content capture off (`gen_ai.set_capture_content(False)`): the framework never writes the
   conversation, the prompts or tool arguments and results onto its spans;
2. LiveKit's own PII stripping (`set_tracer_provider(..., allow_pii=False)`): attributes marked
   `lk.pii.*` (the room name and participant identity, which carry the caller's number; the
   caller's number itself; transcripts) and the GenAI content attributes are dropped before any
   exporter sees the span, exception messages replaced;
3. `PatientDataFilter`, the exporter's own wrapper, as a last net whatever a LiveKit release adds:
   it drops the same keys again (LiveKit's rule, and even if LIVEKIT_TELEMETRY_ALLOW_PII were set),
   every exception message and stack trace, the SIP attributes that are not ids (the full Call-ID,
   SIP headers and display names can carry the caller's number and name), and masks phone numbers
   and dates in every other text value with the logs' own rule (`receptionist.logs.redact`).

Job processes end with `os._exit` (multiprocessing's way), which skips `atexit`: the provider is
flushed by a multiprocessing finaliser instead, so a call's last spans (the job's own, which ends
after the call) are sent before the process goes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from multiprocessing import util

from livekit.agents import telemetry
from livekit.agents.telemetry import gen_ai, pii, trace_types
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Status
from opentelemetry.util.re import parse_env_headers
from opentelemetry.util.types import Attributes, AttributeValue

from receptionist.logs import redact
from receptionist.settings import Settings

log = logging.getLogger(__name__)

SERVICE = "dental-receptionist"
TRACES_PATH = "v1/traces"  # OTLP/HTTP: the signal's path under the collector's base address
EXPORT_TIMEOUT = 5.0  # seconds per export: an unreachable collector must not hold a process
# The SIP attributes LiveKit copies onto the session span (`lk.sip.*`) that are ids, not people.
SIP_PREFIX = trace_types.ATTR_SIP_PREFIX
SIP_IDS = frozenset(f"{SIP_PREFIX}{k}" for k in ("callID", "trunkID", "ruleID", "callStatus"))
# Attributes holding LiveKit's metric models as JSON (figures, ids, model names): left as they are,
# since masking would read their timestamps as phone numbers.
FIGURES = frozenset(
    {
        trace_types.ATTR_LLM_METRICS,
        trace_types.ATTR_TTS_METRICS,
        trace_types.ATTR_REALTIME_MODEL_METRICS,
        trace_types.ATTR_STT_EVENTS,
    }
)
EXCEPTION_DETAILS = frozenset(
    {trace_types.ATTR_EXCEPTION_MESSAGE, trace_types.ATTR_EXCEPTION_TRACE}
)


def traces_url(endpoint: str) -> str:
    """The traces address under OTEL_EXPORTER_OTLP_ENDPOINT, as the OTLP specification puts it."""
    return f"{endpoint.removesuffix('/')}/{TRACES_PATH}"


def start_tracing(settings: Settings) -> TracerProvider | None:
    """Sends this process's call traces to the settings' collector; None when none is set."""
    endpoint = settings.otel_exporter_otlp_endpoint
    if not endpoint:
        return None
    exporter = OTLPSpanExporter(
        endpoint=traces_url(endpoint),
        headers=parse_env_headers(
            settings.otel_exporter_otlp_headers.get_secret_value(), liberal=True
        ),
        timeout=EXPORT_TIMEOUT,
    )
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: SERVICE}), shutdown_on_exit=False
    )
    provider.add_span_processor(BatchSpanProcessor(PatientDataFilter(exporter)))
    gen_ai.set_capture_content(False)
    telemetry.set_tracer_provider(provider, allow_pii=False)
    # Runs at the end of a job process (and, through atexit, of any other process).
    util.Finalize(None, provider.shutdown, exitpriority=10)
    return provider


class PatientDataFilter(SpanExporter):
    """Hands `inner` copies of the spans with patient data left out (see the module's notes)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([without_patient_data(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def without_patient_data(span: ReadableSpan) -> ReadableSpan:
    """A copy of `span` fit to leave the process (its status keeps its code, not its text)."""
    return ReadableSpan(
        name=redact(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_attributes(span.attributes),
        events=[
            Event(event.name, _attributes(event.attributes), event.timestamp)
            for event in span.events
            if event.name not in pii.PII_EVENT_NAMES
        ],
        links=[Link(link.context, _attributes(link.attributes)) for link in span.links],
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _attributes(attributes: Attributes | Mapping[str, AttributeValue]) -> dict[str, AttributeValue]:
    kept: dict[str, AttributeValue] = {}
    for key, value in (attributes or {}).items():
        if pii.is_pii_attribute(key) or key in EXCEPTION_DETAILS:
            continue
        if key.startswith(SIP_PREFIX) and key not in SIP_IDS:
            continue
        kept[key] = value if key in FIGURES else _masked(value)
    return kept


def _masked(value: AttributeValue) -> AttributeValue:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        return [redact(str(v)) for v in value]
    return value
