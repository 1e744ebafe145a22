"""Logs carry the call id and never a full phone number or a date."""

import json
import logging
import sys

from receptionist.logs import CallContextFilter, JsonLineFormatter, current_call_id, redact


def test_redact_masks_phone_numbers_and_dates():
    text = redact("caller +1 (414) 400-7103 born 1985-03-14, also 03/14/1985 and 4144007103")
    assert "400-7103" not in text and "4144007103" not in text
    assert "***7103" in text
    assert "1985" not in text


def test_redact_keeps_small_numbers_and_ids():
    assert redact("retry 3 of 5 after 30.0s, status 486, room call-abc") == (
        "retry 3 of 5 after 30.0s, status 486, room call-abc"
    )


def test_every_record_gets_the_call_id_and_is_redacted():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "caller %s", ("+14144007103",), None)
    record.destination = "tel:+14145550101"
    token = current_call_id.set("SCL_abc")
    try:
        CallContextFilter().filter(record)
    finally:
        current_call_id.reset(token)
    line = json.loads(JsonLineFormatter().format(record))
    assert line["call_id"] == "SCL_abc"
    assert line["message"] == "caller ***7103"
    assert line["destination"] == "tel:***0101"


def test_framework_transcript_fields_are_redacted():
    record = logging.LogRecord("livekit.agents", logging.DEBUG, __file__, 1, "item", None, None)
    record.__dict__["lk.pii.text"] = "my date of birth is March 14"
    CallContextFilter().filter(record)
    assert record.__dict__["lk.pii.text"] == "[redacted]"


def test_lines_from_tasks_started_before_the_call_still_get_its_id():
    import contextvars

    from receptionist import logs

    earlier = contextvars.copy_context()  # e.g. a framework task created before the call
    logs.bind_call("SCL_proc")
    record = logging.LogRecord("livekit.agents", logging.INFO, __file__, 1, "tick", None, None)
    earlier.run(CallContextFilter().filter, record)
    assert record.call_id == "SCL_proc"


def test_numbers_inside_room_names_and_identities_are_masked():
    record = logging.LogRecord("livekit.agents", logging.INFO, __file__, 1, "joined", None, None)
    record.room = "call-_+14145550123_aBcD"
    record.participant = "sip_+14145550123"
    CallContextFilter().filter(record)
    assert "4145550123" not in record.room + record.participant
    assert record.room == "call-_***0123_aBcD"


def test_records_forwarded_from_job_processes_are_redacted_by_the_worker_handlers():
    """Job records reach the worker's handlers through `callHandlers`, which skips logger
    filters; the worker adds `room` (named after the caller) on the way."""
    from receptionist import logs

    seen: list[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record):
            seen.append(record)

    root = logging.getLogger()
    handler = Capture()
    root.addHandler(handler)
    try:
        logs.install("INFO")
        record = logging.LogRecord(
            "receptionist", logging.INFO, __file__, 1, "call started", None, None
        )
        record.room = "call-_4145550123_x9Yz"  # as the worker's _add_proc_ctx_log sets it
        logging.getLogger("receptionist").callHandlers(record)
    finally:
        root.removeHandler(handler)
    assert seen and seen[0].room == "call-_***0123_x9Yz"


def test_uuids_stay_whole_while_numbers_beside_them_are_masked():
    reminder = "059314f2-1234-4567-8901-123456789012"
    line = redact(f"room reminder-{reminder}-1 for +14145550123, visit 2030-03-04")
    assert f"reminder-{reminder}-1" in line
    assert "4145550123" not in line and "2030-03-04" not in line
    assert redact(reminder.upper()) == reminder.upper()


def test_the_message_at_the_end_of_a_logged_traceback_is_redacted():
    """uvicorn logs an unexpected error in the staff app with its traceback, whose last line is
    the exception's message: a number or a birth date in it must not reach the log."""
    try:
        raise ValueError("no patient +14144007103 born 1985-03-14")
    except ValueError:
        record = logging.getLogger("uvicorn.error").makeRecord(
            "uvicorn.error",
            logging.ERROR,
            __file__,
            1,
            "Exception in ASGI application",
            None,
            sys.exc_info(),
        )
    CallContextFilter().filter(record)
    for text in (JsonLineFormatter().format(record), logging.Formatter().format(record)):
        assert "4144007103" not in text and "1985" not in text
        assert "ValueError" in text and "***7103" in text
