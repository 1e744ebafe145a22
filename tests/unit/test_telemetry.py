"""The operator's metrics and traces, piece by piece: label values that cannot carry patient data,
what moves which counter, the span filter, and how job processes' counts reach the scrape."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from livekit.agents.metrics.usage import (
    EOTModelUsage,
    LLMModelUsage,
    STTModelUsage,
    TTSModelUsage,
)
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Status, StatusCode
from prometheus_client import REGISTRY

from receptionist.call.traces import traces_url, without_patient_data
from receptionist.call.usage import count_usage
from receptionist.paths import REPO_ROOT
from receptionist.settings import SettingsError, load_settings
from receptionist.telemetry import metrics
from receptionist.telemetry.multiprocess import (
    MULTIPROC_ENV,
    MetricsOrderError,
    share_between_processes,
)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- label values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["+14145550123", "4145550123", "sip_+14145550123", "call-_+14145550123_xy", "Carla Diaz", ""],
)
def test_a_label_value_that_could_carry_a_number_or_a_name_is_counted_as_other(value: str):
    assert metrics._label(value) == metrics.OTHER


@pytest.mark.parametrize(
    "value", ["lakeside", "booked", "gpt-4o-mini-2024-07-18", "nova-3", "test-double", "no_answer"]
)
def test_slugs_and_model_names_are_kept(value: str):
    assert metrics._label(value) == value


def test_a_number_given_as_the_practice_is_never_a_label():
    before = sample("receptionist_calls_total", practice="other", outcome="booked")
    metrics.call_ended("+14145550123", "booked")
    assert sample("receptionist_calls_total", practice="other", outcome="booked") == before + 1
    assert (
        REGISTRY.get_sample_value(
            "receptionist_calls_total", {"practice": "+14145550123", "outcome": "booked"}
        )
        is None
    )


# --- what moves which counter --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "change"),
    [("booked", "booked"), ("rescheduled", "moved"), ("cancelled", "cancelled")],
)
def test_the_booking_steps_of_a_call_count_as_booking_changes(kind: str, change: str):
    before = sample("receptionist_bookings_total", practice="unit-a", change=change)
    metrics.timeline_step("unit-a", kind)
    metrics.timeline_step("unit-a", "times_offered")  # not a booking change
    assert sample("receptionist_bookings_total", practice="unit-a", change=change) == before + 1


def test_other_steps_count_nothing():
    before = [sample("receptionist_bookings_total", practice="unit-b", change=c) for c in "abc"]
    for kind in ("times_offered", "identity_checked", "message_taken", "transferred"):
        metrics.timeline_step("unit-b", kind)
    assert (
        REGISTRY.get_sample_value(
            "receptionist_bookings_total", {"practice": "unit-b", "change": "booked"}
        )
        is None
    )
    assert before == [0.0, 0.0, 0.0]


def test_a_calls_model_usage_moves_the_usage_counters():
    count_usage(
        "unit-c",
        [
            LLMModelUsage(
                provider="openai",
                model="gpt-4.1-mini",
                input_tokens=1200,
                input_cached_tokens=1000,
                output_tokens=80,
            ),
            STTModelUsage(provider="deepgram", model="nova-3", audio_duration=42.5),
            TTSModelUsage(provider="openai", model="gpt-4o-mini-tts", characters_count=310),
            EOTModelUsage(provider="livekit", model="v1-mini", total_requests=9),
        ],
    )
    llm = {"practice": "unit-c", "provider": "openai", "model": "gpt-4.1-mini"}
    assert sample("receptionist_llm_tokens_total", **llm, kind="input") == 1200
    assert sample("receptionist_llm_tokens_total", **llm, kind="cached_input") == 1000
    assert sample("receptionist_llm_tokens_total", **llm, kind="output") == 80
    assert sample(
        "receptionist_stt_audio_seconds_total",
        practice="unit-c",
        provider="deepgram",
        model="nova-3",
    ) == pytest.approx(42.5)
    assert (
        sample(
            "receptionist_tts_characters_total",
            practice="unit-c",
            provider="openai",
            model="gpt-4o-mini-tts",
        )
        == 310
    )


def test_a_reminder_call_without_a_choice_counts_as_none():
    metrics.reminder_call("unit-d", line="busy", result="")
    assert sample(
        "receptionist_reminder_calls_total", practice="unit-d", line="busy", result="none"
    )


# --- the span filter ---------------------------------------------------------------------


def test_a_span_leaves_without_patient_data():
    span = ReadableSpan(
        name="agent_session",
        attributes={
            "lk.pii.room_name": "call-_+14145550123_abc",
            "lk.pii.sip.phoneNumber": "+14145550123",
            "gen_ai.input.messages": '[{"content": "Carla Diaz, 1992-07-14"}]',
            "lk.sip.callID": "SCL_abc",
            "lk.sip.callIDFull": "4145550123-1@carrier",
            "lk.sip.h.x-caller-name": "Carla Diaz",
            "lk.close_reason": "caller +1 414 555 0123 left on 1992-07-14",
            "lk.rpc.caller_identity": "sip_+14145550123",
            "lk.function_tools": ["register_patient", "book_appointment"],
            "lk.llm_metrics": '{"timestamp": 1761234567.123, "ttft": 0.5123456}',
            "lk.response.ttft": 0.51,
            "exception.type": "ValueError",
            "exception.message": "no patient Carla Diaz born 1992-07-14",
        },
        events=[
            Event("gen_ai.user.message", {"content": "I am Carla Diaz"}),
            Event("exception", {"exception.message": "Carla", "exception.type": "KeyError"}),
        ],
        status=Status(StatusCode.ERROR, "failed for +14145550123"),
    )
    clean = without_patient_data(span)
    assert dict(clean.attributes or {}) == {
        "lk.sip.callID": "SCL_abc",
        "lk.close_reason": "caller ***0123 left on [date]",
        "lk.rpc.caller_identity": "sip_***0123",
        "lk.function_tools": ["register_patient", "book_appointment"],
        "lk.llm_metrics": '{"timestamp": 1761234567.123, "ttft": 0.5123456}',  # figures, kept
        "lk.response.ttft": 0.51,
        "exception.type": "ValueError",
    }
    assert [(e.name, dict(e.attributes or {})) for e in clean.events] == [
        ("exception", {"exception.type": "KeyError"})
    ]
    assert clean.status.status_code is StatusCode.ERROR and not clean.status.description


def test_the_traces_address_is_under_the_collectors_base_address():
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_url("https://otlp.example.com/") == "https://otlp.example.com/v1/traces"


def test_a_grpc_address_for_traces_is_refused_with_the_fix():
    with pytest.raises(SettingsError) as refused:
        load_settings(otel_exporter_otlp_endpoint="grpc://collector:4317")
    assert "OTEL_EXPORTER_OTLP_ENDPOINT is invalid" in str(refused.value)
    assert "http://127.0.0.1:4318" in str(refused.value)


def test_metrics_and_traces_are_off_unless_set():
    settings = load_settings(_env_file=None)
    assert settings.prometheus_port is None and settings.otel_exporter_otlp_endpoint == ""


# --- job processes' counts reach the scrape ------------------------------------------------


def test_without_the_endpoint_no_folder_is_made(monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    assert share_between_processes(None) is None
    assert MULTIPROC_ENV not in os.environ


def test_setting_the_folder_after_prometheus_client_was_imported_is_refused(monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with pytest.raises(MetricsOrderError, match="before importing livekit"):
        share_between_processes(9300)  # this test process imported prometheus_client long ago


def test_an_operators_folder_is_used_as_it_is(monkeypatch, tmp_path):
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "metrics"))
    assert share_between_processes(9300) == str(tmp_path / "metrics")
    assert (tmp_path / "metrics").is_dir()


WORKER_PROCESSES = textwrap.dedent(
    """
    import multiprocessing
    import sys

    def a_call():  # a job process: one call, then the process ends
        from receptionist.telemetry import metrics
        metrics.call_ended("lakeside", "booked")
        metrics.reply("lakeside", 1.2)

    if __name__ == "__main__":
        sys.argv = ["agent.py"]
        import agent  # the worker, as `agent.py start` loads it (PROMETHEUS_PORT is set)
        from livekit.agents.telemetry import metrics as livekit_metrics
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess
        from receptionist.telemetry import metrics

        job = multiprocessing.get_context("forkserver").Process(target=a_call)
        job.start()
        job.join()
        livekit_metrics._update_worker_load(0.25)  # the main process's own (LiveKit's) metric
        metrics.outbox("call", 2)  # and the queue gauges it sets
        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape)  # what LiveKit's endpoint serves
        print(generate_latest(scrape).decode())
    """
)


def test_a_job_processs_counts_and_the_main_processs_gauges_reach_the_scrape(tmp_path):
    """agent.py points prometheus_client at the shared folder before LiveKit imports it, so the
    scrape LiveKit serves (the folder's files) holds what a call counted in its own process and
    what the main process keeps: LiveKit's load gauge and the queue gauges."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER_PROCESSES)
    env = {k: v for k, v in os.environ.items() if k != MULTIPROC_ENV}
    env.update(PROMETHEUS_PORT="9300", PYTHONPATH=str(REPO_ROOT), PROVIDER_FACTORY="")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    scrape = result.stdout
    assert 'receptionist_calls_total{outcome="booked",practice="lakeside"} 1.0' in scrape
    assert 'receptionist_reply_seconds_count{practice="lakeside"} 1.0' in scrape
    assert 'receptionist_outbox_records{kind="call"} 2.0' in scrape
    assert "lk_agents_worker_load{" in scrape and "} 0.25" in scrape
