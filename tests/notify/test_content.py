"""What a notification says, when it is retried, and which settings stop a channel: pure parts,
no servers and no database."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from receptionist.domain.practice import PracticeDirectory
from receptionist.notify import RETRY, RetryPolicy, channel_problems, problems_for, ready_channels
from receptionist.notify.content import compose
from receptionist.notify.mail import build_email
from receptionist.notify.webhook import encode, signature
from receptionist.settings import Settings
from receptionist.store.models import CALLBACK, EMAIL, SECURITY, WEBHOOK, Message, Notification
from tests.notify.support import APP_URL, CALLER, NUMBER, REASON, SECRET, leaks, practice_with

LEFT = datetime(2027, 3, 2, 1, 40, tzinfo=UTC)  # 19:40 on Monday 1 March in Chicago (CST)


def _message(**values: object) -> Message:
    fields: dict[str, object] = {
        "id": "9d5b1c2e-0000-4000-8000-000000000001",
        "practice_id": "lakeside",
        "caller_name": CALLER,
        "callback_number": NUMBER,
        "reason": REASON,
        "urgency": "urgent",
        "kind": CALLBACK,
        "created_at": LEFT,
    }
    return Message(**{**fields, **values})


def _notification(channel: str = EMAIL) -> Notification:
    return Notification(
        id="0b7e4c1a-1111-5222-8333-444455556666",
        message_id="9d5b1c2e-0000-4000-8000-000000000001",
        practice_id="lakeside",
        channel=channel,
        destination="desk@lakeside.test",
        created_at=LEFT,
    )


def _settings(**values: object) -> Settings:
    base: dict[str, object] = {
        "smtp_host": "mail.lakeside.test",
        "smtp_from": "receptionist@lakeside.test",
        "webhook_secret": SECRET,
    }
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


def test_by_default_a_notification_says_what_and_when_in_the_practice_zone_and_nothing_else():
    content = compose(_notification(), _message(), practice_with(None), APP_URL)
    assert content.subject == "Urgent message at 19:40 – open the staff app"
    assert "Monday 1 March" in content.text and "America/Chicago" in content.text
    assert f"{APP_URL}/messages" in content.text
    assert content.payload["url"] == f"{APP_URL}/messages"  # no ids or patient data in the URL
    assert content.payload["id"] == _notification().id
    assert content.payload["local_time"] == "2027-03-01T19:40:00-06:00"
    assert "details" not in content.payload
    for text in (content.subject, content.text, json.dumps(content.payload)):
        assert leaks(text) == []


def test_details_true_adds_the_caller_name_number_and_reason():
    practice = practice_with(None, details=True)
    content = compose(_notification(), _message(), practice, APP_URL)
    assert leaks(content.subject) == []  # never in a mail header or a chat title
    for line in (f"Caller: {CALLER}", f"Call back: {NUMBER}", f"Reason: {REASON}"):
        assert line in content.text
        assert line in content.payload["text"]
    assert content.payload["details"] == {
        "caller_name": CALLER,
        "callback_number": NUMBER,
        "reason": REASON,
    }


@pytest.mark.parametrize(
    ("urgency", "kind", "title"),
    [
        ("urgent", CALLBACK, "Urgent message at 19:40"),
        ("routine", SECURITY, "Security notice at 19:40"),
        ("soon", CALLBACK, "New message at 19:40"),
        ("routine", CALLBACK, "New message at 19:40"),
    ],
)
def test_the_headline_names_the_kind_of_message(urgency: str, kind: str, title: str):
    message = _message(urgency=urgency, kind=kind)
    content = compose(_notification(), message, practice_with(None), APP_URL)
    assert content.payload["title"] == title


def test_summer_time_is_applied():
    summer = _message(created_at=LEFT + timedelta(days=122))
    content = compose(_notification(), summer, practice_with(None), APP_URL)
    assert content.subject.startswith("Urgent message at 20:40")  # CDT, UTC-5, on 1 July


def test_a_practice_no_longer_in_the_directory_gets_no_details_and_utc():
    content = compose(_notification(), _message(), None, APP_URL)
    assert content.subject.startswith("Urgent message at 01:40")
    assert leaks(content.text) == [] and "details" not in content.payload


def test_the_email_carries_the_notification_id_as_message_id():
    content = compose(_notification(), _message(), practice_with(None), APP_URL)
    mail = build_email(
        content, notification_id=_notification().id, sender="r@lakeside.test", to="desk@x.test"
    )
    assert mail["Message-ID"] == f"<{_notification().id}@receptionist>"
    assert mail["Subject"] == content.subject and mail["To"] == "desk@x.test"


def test_the_signature_is_an_hmac_of_timestamp_and_body():
    content = compose(_notification(WEBHOOK), _message(), practice_with(None), APP_URL)
    body = encode(content)
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(SECRET, "1700000000", body) == f"sha256={expected}"
    assert signature(SECRET, "1700000001", body) != f"sha256={expected}"


def test_backoff_doubles_from_ten_seconds_to_fifteen_minutes():
    waits = [RETRY.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [10, 20, 40, 80, 160, 320, 640, 900, 900]
    assert RETRY.backoff(10_000) == timedelta(minutes=15)


def test_retries_stop_a_day_after_the_message_or_after_too_many_attempts():
    policy = RetryPolicy()
    assert policy.retry_at(attempts=1, created_at=LEFT, now=LEFT) == LEFT + timedelta(seconds=10)
    late = LEFT + timedelta(hours=23, minutes=59, seconds=55)
    assert policy.retry_at(attempts=8, created_at=LEFT, now=late) is None
    assert RetryPolicy(max_attempts=3).retry_at(attempts=3, created_at=LEFT, now=LEFT) is None


def test_working_settings_have_no_problems():
    assert channel_problems(_settings()) == {}
    assert ready_channels(_settings()) == (EMAIL, WEBHOOK)


@pytest.mark.parametrize(
    ("values", "channel", "named"),
    [
        ({"smtp_host": ""}, EMAIL, "SMTP_HOST is not set"),
        ({"smtp_from": ""}, EMAIL, "SMTP_FROM"),
        ({"smtp_ca_file": Path("/no/such/ca.pem")}, EMAIL, "SMTP_CA_FILE"),
        ({"smtp_starttls": False, "smtp_username": "u"}, EMAIL, "unencrypted"),
        ({"webhook_secret": ""}, WEBHOOK, "WEBHOOK_SECRET is not set"),
        ({"webhook_secret": "short"}, WEBHOOK, "WEBHOOK_SECRET is shorter than 32"),
    ],
)
def test_a_broken_channel_is_named_with_its_fix_and_not_tried(values, channel, named):
    settings = _settings(**values)
    assert named in channel_problems(settings)[channel]
    assert channel not in ready_channels(settings)
    assert len(ready_channels(settings)) == 1  # the other channel still sends


def _crl_pem(ca: trustme.CA) -> bytes:
    """A PEM file holding only a revocation list: it loads into an SSL context, with no CA."""
    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject
    now = datetime.now(UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer)
        .last_update(now)
        .next_update(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return crl.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (lambda ca: b"not a certificate\n", "holds no PEM certificate that loads"),
        (lambda ca: b"", "holds no PEM certificate that loads"),
        (lambda ca: ca.private_key_pem.bytes(), "holds no PEM certificate that loads"),
        (
            lambda ca: x509.load_pem_x509_certificate(ca.cert_pem.bytes()).public_bytes(
                serialization.Encoding.DER
            ),
            "holds no PEM certificate that loads",
        ),
        (_crl_pem, "holds no certificate"),
    ],
    ids=["text", "empty", "private-key", "der", "crl-only"],
)
def test_an_smtp_ca_file_that_is_not_a_certificate_stops_email_with_the_fix(
    content, why, ca: trustme.CA, tmp_path: Path
):
    """Before, any existing file passed and every email then failed its TLS set-up for a day."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(content(ca))
    settings = _settings(smtp_ca_file=ca_file)
    problem = channel_problems(settings)[EMAIL]
    assert problem.startswith(f"SMTP_CA_FILE names {ca_file}, which {why}:")
    assert "PEM certificate" in problem and "leave it empty" in problem
    assert ready_channels(settings) == (WEBHOOK,)


def test_an_smtp_ca_file_with_the_ca_certificate_is_ready(ca_file: Path):
    assert channel_problems(_settings(smtp_ca_file=ca_file)) == {}


def test_problems_are_reported_only_for_channels_a_practice_uses():
    no_secret = _settings(webhook_secret="")
    email_only = PracticeDirectory([practice_with(None)])
    assert problems_for(no_secret, email_only) == []
    [problem] = problems_for(_settings(smtp_host=""), email_only)
    assert "SMTP_HOST" in problem and "lakeside" in problem and "none are lost" in problem
