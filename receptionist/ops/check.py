"""`receptionist check`: the practice profile alone, every problem at once with its fix.

Editing practice.toml and then starting the worker to see what is wrong reports the settings,
the database and the profile together, and takes seconds; this reads only the profile (a file
or a folder of them, PRACTICE_FILE by default) and exits 2 when anything needs fixing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from receptionist.domain.practice import PracticeError, load_directory
from receptionist.settings import Settings, SettingsError, load_settings


def command(
    file: Annotated[
        Path | None,
        typer.Option("--file", help="a practice.toml or a folder of them (default: PRACTICE_FILE)"),
    ] = None,
) -> None:
    """Check the practice profile: every problem at once, each with its fix (exit 2 if any)."""
    path = file or _practice_file()
    try:
        directory = load_directory(path)
    except PracticeError as exc:
        typer.echo(f"{path}: {len(exc.problems)} problem(s) to fix:", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2) from None
    names = ", ".join(f"{p.name} ({p.id})" for p in directory)
    typer.echo(f"{path}: valid. {len(directory)} location(s): {names}")


def _practice_file() -> Path:
    """PRACTICE_FILE as the receptionist reads it, even when other settings are broken."""
    try:
        return load_settings().practice_file
    except SettingsError:
        return Settings.model_fields["practice_file"].default
