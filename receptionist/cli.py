"""The `receptionist` command: staff views of the practice's book and SIP setup/diagnosis."""

from __future__ import annotations

import typer

from receptionist import staff_cli
from receptionist.telephony import cli as sip_cli

app = typer.Typer(help="Dental receptionist: staff tools, SIP setup and diagnostics.", no_args_is_help=True)
app.add_typer(sip_cli.app, name="sip")
staff_cli.register(app)

if __name__ == "__main__":
    app()
