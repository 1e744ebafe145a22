"""Start-up checks: every setting, the practice profile, the outbox and the database schema, before
any call.

A receptionist that starts with a missing key or a broken profile fails on a patient's call; these
checks fail at start-up instead, naming each problem and its fix. Every way `agent.py` starts goes
through `exit_if_not_ready`: modes that run calls get every check, the others (`download-files`,
`--help`) still get the settings check, because `agent.py` reads the settings when it loads.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Iterable

from receptionist.call.clips import missing_clips
from receptionist.domain.languages import missing_files
from receptionist.domain.practice import Practice, PracticeError, load_directory
from receptionist.domain.text import visible
from receptionist.pms.books import key_problems
from receptionist.settings import Settings, SettingsError, describe_missing, load_settings
from receptionist.store.engine import DatabaseUrlError
from receptionist.store.outbox import Outbox, OutboxError
from receptionist.store.schema import SchemaError, check_schema

# Commands that run calls and so need the full set of settings.
CALL_MODES = {"console", "dev", "start", "connect"}


# What the console's voice mode cannot run without, and what to do instead.
NO_AUDIO_DEVICE = (
    "No {missing} found, so the voice console cannot run on this machine. Type instead: "
    "uv run agent.py console --text (needs only OPENAI_API_KEY), or try the receptionist "
    "with no keys at all: uv run agent.py try"
)
NO_PORTAUDIO = (
    "LiveKit's console needs the PortAudio library, even with --text: sudo apt-get install "
    "libportaudio2 (macOS: brew install portaudio). Or try the receptionist without it: "
    "uv run agent.py try"
)


def startup_problems(mode: str, *, text: bool = False) -> list[str]:
    """Every problem found, not just the first, so one run tells the whole fix. `text`: the
    console in text mode, which uses no speech providers (so no Deepgram key)."""
    problems: list[str] = []
    try:
        settings = load_settings()
    except SettingsError as exc:
        return exc.problems  # without valid settings nothing else can be checked
    if mode in CALL_MODES:
        problems += missing_keys(settings, mode, text=text)
    try:
        directory = load_directory(settings.practice_file)
    except PracticeError as exc:
        problems.append(str(exc))
    else:
        problems += key_problems(settings, directory)
        problems += language_problems(directory)
    problems += _outbox_problems(settings)
    problems += _schema_problems(settings)
    return problems


def language_problems(practices: Iterable[Practice]) -> list[str]:
    """Each language a practice speaks must have its prompts, its lines and its clips: a caller
    who chooses it would otherwise meet a missing file mid-call. Each language is named once."""
    codes = dict.fromkeys(code for practice in practices for code in practice.languages)
    return [problem for code in codes for problem in missing_files(code) + missing_clips(code)]


def missing_keys(settings: Settings, mode: str, *, text: bool = False) -> list[str]:
    """The settings `mode` cannot run without. Typing in the console (`console --text`) needs
    the model alone: the session then builds no STT or TTS (receptionist/call/session.py)."""
    missing = settings.missing_for(mode)
    if mode == "console" and text:
        missing = [name for name in missing if name != "DEEPGRAM_API_KEY"]
    return describe_missing(missing)


def audio_problems(argv: list[str], sounddevice: object | None = None) -> list[str]:
    """What keeps LiveKit's console from running here: the PortAudio library (needed even to
    type) and, for voice, a microphone and a speaker. Checked before starting because the voice
    console without a device ran for half a minute and then exited 0 with no message.
    `sounddevice` is for tests: any object with `query_devices(device, kind=...)`."""
    if argv[:1] != ["console"] or {"--list-devices", "--help"} & set(argv):
        return []
    try:
        sd = sounddevice or importlib.import_module("sounddevice")
    except (ImportError, OSError):  # OSError: PortAudio's shared library is not installed
        return [NO_PORTAUDIO]
    if "--text" in argv:
        return []
    missing = [
        name
        for kind, option, name in (
            ("input", "--input-device", "microphone"),
            ("output", "--output-device", "speaker"),
        )
        if not _has_device(sd, kind, _option(argv, option))
    ]
    return [NO_AUDIO_DEVICE.format(missing=" or ".join(missing))] if missing else []


def _has_device(sd: object, kind: str, device: str | int | None) -> bool:
    try:
        sd.query_devices(device, kind=kind)  # type: ignore[attr-defined]
    except Exception:  # PortAudioError "Error querying device -1": no default device
        return False
    return True


def _option(argv: list[str], name: str) -> str | int | None:
    """An option's value as LiveKit's console reads it (`--name value` or `--name=value`)."""
    for index, arg in enumerate(argv):
        value = None
        if arg == name and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
        if value is not None:
            return int(value) if value.isdigit() else value
    return None


def _outbox_problems(settings: Settings) -> list[str]:
    try:
        Outbox(settings.outbox_dir).check()
    except OutboxError as exc:
        return [str(exc)]
    return []


def _schema_problems(settings: Settings) -> list[str]:
    try:
        asyncio.run(check_schema(settings.database_url))
    except (SchemaError, DatabaseUrlError) as exc:
        return [str(exc)]
    return []


def settings_problems() -> list[str]:
    """What keeps the settings from loading at all (what every mode of `agent.py` needs)."""
    try:
        load_settings()
    except SettingsError as exc:
        return exc.problems
    return []


def exit_if_not_ready(argv: list[str]) -> None:
    """Exits with status 2 and the list of fixes unless `agent.py <argv>` can run."""
    mode = argv[0] if argv else ""
    if mode in CALL_MODES:
        problems = startup_problems(mode, text="--text" in argv) + audio_problems(argv)
    else:
        problems = settings_problems()
    if not problems:
        return
    print("The receptionist cannot start yet:", file=sys.stderr)
    for problem in problems:
        print(f"  - {visible(problem)}", file=sys.stderr)
    sys.exit(2)
