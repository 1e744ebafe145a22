"""Start-up checks: every setting, the practice profile, the outbox and the database schema, before
any call.

A receptionist that starts with a missing key or a broken profile fails on a patient's call; these
checks fail at start-up instead, naming each problem and its fix. Every way `agent.py` starts goes
through `exit_if_not_ready`: modes that run calls get every check, the others (`download-files`,
`--help`) still get the settings check, because `agent.py` reads the settings when it loads.
"""

from __future__ import annotations

import asyncio
import sys

from receptionist.domain.practice import PracticeError, load_directory
from receptionist.domain.text import visible
from receptionist.settings import Settings, SettingsError, load_settings
from receptionist.store.engine import DatabaseUrlError
from receptionist.store.outbox import Outbox, OutboxError
from receptionist.store.schema import SchemaError, check_schema

# Commands that run calls and so need the full set of settings.
CALL_MODES = {"console", "dev", "start", "connect"}


def startup_problems(mode: str) -> list[str]:
    """Every problem found, not just the first, so one run tells the whole fix."""
    problems: list[str] = []
    try:
        settings = load_settings()
    except SettingsError as exc:
        return exc.problems  # without valid settings nothing else can be checked
    if mode in CALL_MODES:
        try:
            load_settings(mode)
        except SettingsError as exc:
            problems += exc.problems
    try:
        load_directory(settings.practice_file)
    except PracticeError as exc:
        problems.append(str(exc))
    problems += _outbox_problems(settings)
    problems += _schema_problems(settings)
    return problems


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
    problems = startup_problems(mode) if mode in CALL_MODES else settings_problems()
    if not problems:
        return
    print("The receptionist cannot start yet:", file=sys.stderr)
    for problem in problems:
        print(f"  - {visible(problem)}", file=sys.stderr)
    sys.exit(2)
