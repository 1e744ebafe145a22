"""The `receptionist` command: staff views of the practice's book and SIP setup/diagnosis."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated

import typer

from receptionist.ops import accounts, locks, staff
from receptionist.ops import notify as notify_cli
from receptionist.ops import pms as pms_cli
from receptionist.ops import reminders as reminders_cli
from receptionist.ops import web as web_cli
from receptionist.ops.check import command as check_command
from receptionist.ops.sip import cli as sip_cli
from receptionist.ops.watch import command as watch_command

app = typer.Typer(
    help="Dental receptionist: staff tools, SIP setup and diagnostics.", no_args_is_help=True
)
app.add_typer(sip_cli.app, name="sip")
app.add_typer(locks.app, name="locks")
app.add_typer(notify_cli.app, name="notify")
app.add_typer(accounts.app, name="staff")
app.add_typer(reminders_cli.app, name="reminders")
app.add_typer(pms_cli.app, name="pms")
staff.register(app)
web_cli.register(app)
app.command("watch")(watch_command)
app.command("check")(check_command)


class Engine(StrEnum):
    ESPEAK = "espeak"
    TTS = "tts"


@app.command("render-clips")
def render_clips(
    engine: Annotated[
        Engine,
        typer.Option(help="espeak: offline (espeak-ng + sox); tts: the configured cloud TTS."),
    ] = Engine.ESPEAK,
) -> None:
    """Re-render the apology clips played when the speech pipeline fails (no TTS at call time)."""
    from receptionist.ops import clips

    settings = staff.settings_or_exit() if engine == Engine.TTS else None
    for lang in clips.catalogued_languages():
        folder = clips.CLIPS_DIR / lang
        for name, text in clips.clip_texts(lang).items():
            if settings is None:
                path = clips.render_with_espeak(name, text, folder, lang)
            else:
                from receptionist.call.providers import build_tts

                path = asyncio.run(clips.render_with_tts(name, text, build_tts(settings), folder))
            staff.say(f"rendered {path} ({clips.clip_seconds(path):.1f} s)", "green")


if __name__ == "__main__":
    app()
