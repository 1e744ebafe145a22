"""The `receptionist` command: staff views of the practice's book and SIP setup/diagnosis."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from receptionist.ops import staff
from receptionist.ops.sip import cli as sip_cli

app = typer.Typer(
    help="Dental receptionist: staff tools, SIP setup and diagnostics.", no_args_is_help=True
)
app.add_typer(sip_cli.app, name="sip")
staff.register(app)
console = Console()


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
    from receptionist.call import clips
    from receptionist.settings import load_settings

    for name, text in clips.CLIP_TEXT.items():
        if engine == Engine.ESPEAK:
            path = clips.render_with_espeak(name, text)
        else:
            from receptionist.call.providers import build_tts

            settings = load_settings()
            path = asyncio.run(clips.render_with_tts(name, text, build_tts(settings)))
        console.print(f"[green]rendered[/] {path} ({clips.clip_seconds(path):.1f} s)")


if __name__ == "__main__":
    app()
