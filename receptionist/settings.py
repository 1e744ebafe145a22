"""One validated settings object, read from the environment and `.env`.

Every setting has an upper-case environment variable of the same name. Validation happens once, at
start-up, and each problem is reported with the variable to set and how to fix it, because an agent
that starts with a bad setting fails later, on a patient's call.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from receptionist.paths import REPO_ROOT

# LOG_LEVEL spellings people write, to the names LiveKit's AgentServer accepts (it refuses
# `WARNING`); Python's logging takes these names too.
LOG_LEVELS = {
    "debug": "DEBUG",
    "info": "INFO",
    "warn": "WARN",
    "warning": "WARN",
    "error": "ERROR",
    "critical": "CRITICAL",
}

KEY_SOURCES = {
    "DEEPGRAM_API_KEY": "https://console.deepgram.com (API Keys)",
    "OPENAI_API_KEY": "https://platform.openai.com/api-keys",
    "LIVEKIT_URL": "your LiveKit project (Cloud: Settings > Keys) or your self-hosted server URL",
    "LIVEKIT_API_KEY": "LiveKit Cloud (Settings > Keys) or your livekit-server `keys:`",
    "LIVEKIT_API_SECRET": "LiveKit Cloud (Settings > Keys) or your livekit-server `keys:`",
}


class NoiseCancellation(StrEnum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


class Settings(BaseSettings):
    """Everything the receptionist reads from its environment."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    # LiveKit
    livekit_url: str = ""
    livekit_api_key: str = ""
    livekit_api_secret: SecretStr = SecretStr("")
    agent_name: str = Field(default="receptionist", min_length=1, pattern=r"^[A-Za-z0-9_-]+$")

    # Practice and data
    practice_file: Path = REPO_ROOT / "practice.toml"
    database_url: str = f"sqlite+aiosqlite:///{REPO_ROOT / 'receptionist.db'}"
    # Messages and call records wait here while the database is unreachable.
    outbox_dir: Path = REPO_ROOT / "outbox"

    # Speech pipeline
    deepgram_api_key: SecretStr = SecretStr("")
    openai_api_key: SecretStr = SecretStr("")
    stt_model: str = "nova-3"
    stt_fallback_model: str = ""
    stt_language: str = "en-US"
    llm_model: str = "gpt-4.1-mini"
    llm_fallback_model: str = ""
    llm_temperature: float = Field(default=0.3, ge=0.0, le=2.0)
    tts_provider: Literal["openai", "deepgram"] = "openai"
    tts_model: str = "gpt-4o-mini-tts"
    tts_voice: str = "coral"
    tts_fallback_provider: Literal["", "openai", "deepgram"] = ""
    tts_fallback_voice: str = ""

    # Turn taking. Patients pause to recall dates and numbers: wait longer before answering when
    # the turn detector thinks they are not done (max) while keeping quick replies (min).
    endpointing_min_delay: float = Field(default=0.6, ge=0.0, le=5.0)
    endpointing_max_delay: float = Field(default=4.0, ge=0.5, le=10.0)
    preemptive_generation: bool = True
    noise_cancellation: NoiseCancellation = NoiseCancellation.AUTO

    # Call control
    silence_timeout: float = Field(default=12.0, ge=3.0, le=120.0)
    transfer_ringing_timeout: float = Field(default=30.0, ge=5.0, le=120.0)

    # Worker: above this CPU load the worker stops taking new calls (LiveKit's default is 0.7).
    load_threshold: float = Field(default=0.7, gt=0.0, le=1.0)
    # When set, load is active calls / MAX_CALLS instead of CPU (small hosts report full CPU
    # while warming up, and the server then skips the worker).
    max_calls: int | None = Field(default=None, ge=1, le=1000)
    idle_processes: int | None = Field(default=None, ge=0, le=32)
    # Seconds a new job process may take to load before LiveKit kills it and starts another
    # (LiveKit's default, 10 s, is shorter than a cold start on a busy 2-vCPU host: the kill and
    # the retry burn the CPU the calls need; see docs/deploy.md).
    initialize_process_timeout: float = Field(default=30.0, ge=1.0, le=600.0)
    # Import what agent.py imports (the receptionist's code, its tools, the store) once in the
    # forkserver that forks the job processes, as LiveKit does for its plugins, instead of in
    # every new job process.
    preload_app: bool = True

    # Logs: any case of debug, info, warn or warning, error, critical; held as LiveKit's name.
    log_level: str = "INFO"

    # Metrics and traces (docs/deploy.md, "Metrics and traces"). Off unless set: the worker's
    # Prometheus endpoint (LiveKit's own, on every interface) at :PROMETHEUS_PORT/metrics; call
    # traces to an OpenTelemetry collector's OTLP/HTTP address, e.g. http://127.0.0.1:4318, with
    # its headers (e.g. an API key) as `name=value,name2=value2`.
    prometheus_port: int | None = Field(default=None, ge=1, le=65535)
    otel_exporter_otlp_endpoint: str = ""
    otel_exporter_otlp_headers: SecretStr = SecretStr("")

    # SIP provisioning (`receptionist sip setup`): comma-separated lists where plural.
    sip_inbound_numbers: str = ""
    sip_auth_username: str = ""
    sip_auth_password: SecretStr = SecretStr("")
    sip_allowed_addresses: str = ""
    sip_room_prefix: str = "call-"
    sip_outbound_address: str = ""
    sip_outbound_numbers: str = ""
    sip_outbound_username: str = ""
    sip_outbound_password: SecretStr = SecretStr("")

    # Staff web app (`receptionist web`)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    # The address staff open; links in notifications point here. https:// makes cookies Secure.
    staff_app_url: str = "http://127.0.0.1:8080"
    web_idle_minutes: float = Field(default=15.0, gt=0, le=24 * 60)

    # Notifications (`[notifications]` in practice.toml says who; these say how)
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = ""
    smtp_starttls: bool = True
    smtp_ca_file: Path | None = None  # a private CA for the mail server's certificate, if any
    webhook_secret: SecretStr = SecretStr("")  # signs each webhook body (HMAC-SHA256)

    # Open Dental (a location with `[practice.book] kind = "opendental"`): the ODFHIR header's
    # two halves. The developer key is the vendor's (Open Dental's vendor relations); the office
    # makes the customer key (Setup > Advanced Setup > API). Never in practice.toml.
    opendental_developer_key: SecretStr = SecretStr("")
    opendental_customer_key: SecretStr = SecretStr("")
    # NexHealth (a location with `[practice.book] kind = "nexhealth"`): the API key NexHealth
    # issued (exchanged for an hour's bearer token), and its address (tests: the simulator).
    nexhealth_api_key: SecretStr = SecretStr("")
    nexhealth_base_url: str = "https://nexhealth.info"

    # Text messages (a location with `[practice.texts] enabled = true`; docs/texts.md). Twilio:
    # the account's SID and auth token (console.twilio.com, Account info); the token also signs
    # Twilio's webhooks. Telnyx: an API key and the portal's public key (base64 Ed25519) that
    # verifies its webhooks. The API addresses are the providers' own; only tests change them.
    twilio_account_sid: str = Field(default="", pattern=r"^(AC[0-9a-fA-F]{32})?$")
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_api_url: str = "https://api.twilio.com"
    telnyx_api_key: SecretStr = SecretStr("")
    telnyx_public_key: str = ""
    telnyx_api_url: str = "https://api.telnyx.com"
    # The staff app's address as the providers reach it (their webhooks post here: Twilio signs
    # this exact URL); empty: STAFF_APP_URL.
    texts_webhook_url: str = ""

    # Test seam: "module:function" returning the (stt, llm, tts) the session uses.
    provider_factory: str = ""

    @field_validator("livekit_url")
    @classmethod
    def _livekit_url_scheme(cls, value: str) -> str:
        if value and not value.startswith(("ws://", "wss://", "http://", "https://")):
            raise ValueError("must start with wss:// (or ws:// for a local server)")
        return value

    @field_validator("nexhealth_base_url")
    @classmethod
    def _nexhealth_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError('must be NexHealth\'s address, e.g. "https://nexhealth.info"')
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(
                f"{value} is http:// to {parts.hostname}: patients' records would cross the "
                "network unencrypted; use https:// (http:// only to this machine)"
            )
        return value.rstrip("/")

    @field_validator("otel_exporter_otlp_endpoint")
    @classmethod
    def _otlp_endpoint(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(
                "must be the collector's OTLP/HTTP address, e.g. http://127.0.0.1:4318 "
                "(this worker sends traces over HTTP, not gRPC)"
            )
        return value

    @field_validator("twilio_api_url", "telnyx_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError(
                "must be the provider's https address (leave it unset: the default is right)"
            )
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = LOG_LEVELS.get(value.strip().lower())
        if level is None:
            raise ValueError(
                "must be one of debug, info, warn (or warning), error, critical (any case)"
            )
        return level

    @field_validator("endpointing_max_delay")
    @classmethod
    def _max_after_min(cls, value: float, info) -> float:
        low = info.data.get("endpointing_min_delay")
        if low is not None and value < low:
            raise ValueError("must be at least ENDPOINTING_MIN_DELAY")
        return value

    @field_validator("staff_app_url")
    @classmethod
    def _app_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(
                "must be the address staff open, e.g. https://staff.example-dental.com"
            )
        return value.rstrip("/")

    @field_validator("texts_webhook_url")
    @classmethod
    def _webhook_base(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(
                "must be the public address the providers post to, e.g. "
                "https://staff.example-dental.com"
            )
        return value.rstrip("/")

    @property
    def texts_public_url(self) -> str:
        """Where the providers' webhooks reach the staff app (TEXTS_WEBHOOK_URL, else
        STAFF_APP_URL)."""
        return self.texts_webhook_url or self.staff_app_url

    @property
    def secure_cookies(self) -> bool:
        """Session cookies are Secure (HTTPS only) whenever staff reach the app over HTTPS."""
        return self.staff_app_url.startswith("https://")

    @property
    def uses_livekit_cloud(self) -> bool:
        return ".livekit.cloud" in self.livekit_url

    @property
    def agent_cancels_noise(self) -> bool:
        """Whether the agent filters the caller's audio itself (BVC runs on LiveKit Cloud only);
        the SIP trunk's own (Krisp) filter is then left off, so audio is never filtered twice."""
        if self.noise_cancellation == NoiseCancellation.ON:
            return True
        return self.noise_cancellation == NoiseCancellation.AUTO and self.uses_livekit_cloud

    def missing_for(self, mode: str) -> list[str]:
        """Names the settings a mode cannot run without (console needs no LiveKit server)."""
        needed: list[str] = []
        if not self.provider_factory:
            needed += ["DEEPGRAM_API_KEY", "OPENAI_API_KEY"]
        if mode in ("start", "dev", "connect"):
            needed += ["LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"]
        return [name for name in needed if not _value(getattr(self, name.lower()))]


class SettingsError(Exception):
    """Raised with one line per bad or missing setting, each saying how to fix it."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _value(raw: object) -> str:
    return raw.get_secret_value() if isinstance(raw, SecretStr) else str(raw or "")


def describe_missing(names: list[str]) -> list[str]:
    return [
        f"{name} is not set. Get it from {KEY_SOURCES.get(name, 'your provider')}, "
        f"then put it in .env (see .env.example) or export it."
        for name in names
    ]


def load_settings(mode: str | None = None, **overrides: Any) -> Settings:
    """Reads and validates settings; raises `SettingsError` naming each problem and its fix.

    `overrides` are field values (and pydantic-settings' `_env_file`) of whatever type a caller
    has: `Settings` validates them, so they are `Any` here rather than each field's type."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError([_explain(err) for err in exc.errors()]) from None
    except (UnicodeDecodeError, OSError) as exc:  # reading the .env file itself
        raise SettingsError([_unreadable_env_file(overrides, exc)]) from None
    if mode and (missing := settings.missing_for(mode)):
        raise SettingsError(describe_missing(missing))
    return settings


def _unreadable_env_file(overrides: dict[str, object], exc: Exception) -> str:
    """The .env file that could not be read, and how to fix it: environment variables are text
    already, so the file is the only thing `Settings` reads that can fail this way."""
    env_file = overrides.get("_env_file", Settings.model_config.get("env_file"))
    if isinstance(exc, OSError) and exc.filename:
        env_file = exc.filename
    name = Path(str(env_file)).absolute()
    if isinstance(exc, UnicodeDecodeError):
        line = exc.object[: exc.start].count(b"\n") + 1
        return (
            f"{name} is not UTF-8 text (line {line} is in another encoding): save it as UTF-8 in "
            "your editor, or convert it, e.g. "
            "`iconv -f latin1 -t utf-8 .env > .env.utf8 && mv .env.utf8 .env`."
        )
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
    return (
        f"{name} cannot be read ({reason}): let the user running the receptionist read it, or "
        "remove it and export the settings instead (see .env.example)."
    )


def _explain(error: ErrorDetails) -> str:
    name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
    reason = error["msg"].removeprefix("Value error, ")  # pydantic's wrapping of our own checks
    return f"{name} is invalid: {reason}. Fix it in .env or the environment (see .env.example)."
