"""`receptionist sip ...`: provision (`setup`), diagnose (`doctor`), explain SIP errors (`explain`).

Mounted by receptionist/ops/cli.py. `setup` and `doctor` talk to the LiveKit server in LIVEKIT_URL
with LIVEKIT_API_KEY/LIVEKIT_API_SECRET; `explain` works offline. Output never shows a credential
and masks phone numbers to their last four digits. Everything printed is literal text (never Rich
markup, control characters shown as escapes): our own messages carry `[practice]`-style names,
and object names and server errors come from outside.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Annotated, NoReturn, TypeVar

import aiohttp
import typer
from livekit import api
from rich.console import Console
from rich.table import Table
from rich.text import Text

from receptionist.domain.practice import PracticeError, load_directory
from receptionist.domain.text import visible
from receptionist.ops.sip import doctor as doctor_mod
from receptionist.ops.sip import explain as explain_mod
from receptionist.ops.sip import provisioning as prov
from receptionist.settings import Settings, SettingsError, describe_missing, load_settings

app = typer.Typer(
    help="SIP trunk and dispatch-rule setup, diagnosis and error explanations.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _settings() -> Settings:
    """Settings plus the three LiveKit ones these commands cannot run without."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail("\n".join(exc.problems), code=2)
    values = {
        "LIVEKIT_URL": settings.livekit_url,
        "LIVEKIT_API_KEY": settings.livekit_api_key,
        "LIVEKIT_API_SECRET": settings.livekit_api_secret.get_secret_value(),
    }
    missing = [name for name, value in values.items() if not value]
    if missing:
        _fail("\n".join(describe_missing(missing)), code=2)
    return settings


def _literal(value: object, style: str = "") -> Text:
    """`value` as it reads: no markup, control characters shown as escapes."""
    return Text(visible(str(value)), style=style)


def _line(label: str, label_style: str, message: object) -> Text:
    """`label: message`, the label styled, the message literal."""
    return Text.assemble((label, label_style), " ", _literal(message))


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(_line("error:", "bold red", message), soft_wrap=True)
    raise typer.Exit(code)


def _with_api(settings: Settings, work: Callable[[api.LiveKitAPI], Awaitable[T]]) -> T:
    """Runs `work` with a LiveKit API client; turns connection/API failures into clear errors."""

    async def run() -> T:
        async with api.LiveKitAPI(
            url=settings.livekit_url,
            api_key=settings.livekit_api_key,
            api_secret=settings.livekit_api_secret.get_secret_value(),
        ) as lk:
            return await work(lk)

    try:
        return asyncio.run(run())
    except api.TwirpError as exc:
        hint = ""
        if "redis" in exc.message.lower():
            hint = " (the server's SIP API needs Redis: add `redis:` to its config)"
        _fail(f"LiveKit API error {exc.code}: {exc.message}{hint}")
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        _fail(
            f"cannot reach LiveKit at {settings.livekit_url}: {exc.__class__.__name__} {exc}. "
            "Is the server running and LIVEKIT_URL right?"
        )
    raise AssertionError("unreachable")


def _desired(settings: Settings) -> prov.Desired:
    """Settings + practice profile -> the objects setup should make (numbers normalised here)."""
    try:
        directory = load_directory(settings.practice_file)
    except PracticeError as exc:
        _fail(str(exc), code=2)
    region = directory.default.region
    try:
        if settings.sip_inbound_numbers.strip():
            numbers = prov.normalize_numbers(
                prov.split_list(settings.sip_inbound_numbers), region, "SIP_INBOUND_NUMBERS"
            )
        else:
            numbers = list(dict.fromkeys(n for p in directory for n in p.numbers))
        return prov.desired_state(settings, numbers, region)
    except prov.ProvisioningError as exc:
        _fail(str(exc), code=2)
    raise AssertionError("unreachable")


def _plan_table(plan: prov.Plan, title: str) -> Table:
    table = Table(title=_literal(title), show_lines=False)
    for column in ("object", "name", "action", "id", "changes"):
        table.add_column(column, overflow="fold")
    colours = {"create": "green", "update": "yellow", "unchanged": "dim"}
    for step in plan.steps:
        changes = "\n".join(f"{c.name}: {c.before} -> {c.after}" for c in step.changes)
        action = _literal(step.action, colours.get(step.action, ""))
        if step.adopted:
            action.append(_literal(f"\n(adopted {step.adopted})"))
        table.add_row(
            _literal(step.kind),
            _literal(step.name),
            action,
            _literal(step.object_id or "-"),
            _literal(changes or "-"),
        )
    return table


@app.command()
def setup(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create or update in place the inbound trunk, agent dispatch rule and outbound trunk.

    Never deletes and recreates; reads every object back afterwards to verify it.
    """
    settings = _settings()
    desired = _desired(settings)
    result = _with_api(
        settings,
        lambda lk: prov.run_setup(lk, desired, dry_run=dry_run, agent_name=settings.agent_name),
    )
    if as_json:
        print(json.dumps({"dry_run": dry_run, **asdict(result)}, indent=2))
    else:
        _print_setup(result, dry_run, settings.agent_name)
    if result.problems:
        raise typer.Exit(1)


def _print_setup(result: prov.SetupResult, dry_run: bool, agent_name: str) -> None:
    title = "SIP setup (dry run: nothing changed)" if dry_run else "SIP setup"
    out.print(_plan_table(result.plan, title))
    for note in result.plan.notes:
        out.print(_line("note:", "yellow", note), soft_wrap=True)
    if dry_run:
        if result.plan.changes_anything:
            out.print(_literal("setup would change the objects above"))
        else:
            out.print(_literal("setup is up to date: nothing to do"))
        return
    for problem in result.problems:
        err.print(_line("verify failed:", "bold red", problem), soft_wrap=True)
    if not result.problems:
        out.print(
            _line(
                "verified:",
                "green",
                f"rule dispatches agent {agent_name!r}; "
                "trunk authenticated; objects read back as set.",
            )
        )


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print findings as JSON.")] = False,
) -> None:
    """Check trunks and dispatch rules on the server; exit 1 if any error is found."""
    settings = _settings()
    existing = _with_api(settings, doctor_mod.collect)
    agent = doctor_mod.AgentSide(settings.agent_name, settings.agent_cancels_noise)
    try:
        needs, unread = doctor_mod.outbound_needs(load_directory(settings.practice_file)), []
    except PracticeError as exc:  # the server's side is still worth checking
        needs, unread = [], [doctor_mod.unreadable_practice(settings.practice_file.name, str(exc))]
    findings = [*unread, *doctor_mod.diagnose(existing, agent, needs)]
    if as_json:
        print(
            json.dumps(
                {
                    "inbound_trunks": len(existing.inbound),
                    "dispatch_rules": len(existing.rules),
                    "outbound_trunks": len(existing.outbound),
                    "findings": [asdict(f) for f in findings],
                },
                indent=2,
            )
        )
    else:
        _print_findings(existing, findings)
    if doctor_mod.has_errors(findings):
        raise typer.Exit(1)


def _print_findings(existing: prov.Existing, findings: list[doctor_mod.Finding]) -> None:
    out.print(
        _literal(
            f"checked {len(existing.inbound)} inbound trunk(s), {len(existing.rules)} dispatch "
            f"rule(s), {len(existing.outbound)} outbound trunk(s)"
        )
    )
    if not findings:
        out.print(_literal("no problems found", "green"))
        return
    table = Table(show_lines=True)
    for column in ("severity", "where", "problem", "fix"):
        table.add_column(column)
    for f in findings:
        colour = "red" if f.severity == doctor_mod.Severity.ERROR else "yellow"
        problem = Text.assemble(_literal(f.problem), " ", _literal(f"({f.code})", "dim"))
        table.add_row(_literal(f.severity, colour), _literal(f.subject), problem, _literal(f.fix))
    out.print(table)


@app.command()
def explain(
    code: Annotated[
        str,
        typer.Argument(
            help="A SIP status (403, 486, ...), no_rule_matched, "
            "'object cannot be found', 'media timeout', or an error line."
        ),
    ],
    direction: Annotated[
        str,
        typer.Option(help="Only causes for an inbound, outbound or transfer call."),
    ] = "",
) -> None:
    """Likely causes and fixes of a SIP status code or LiveKit SIP error, by call direction."""
    if direction and direction not in explain_mod.DIRECTIONS:
        err.print(_literal(f"--direction must be one of {', '.join(explain_mod.DIRECTIONS)}"))
        raise typer.Exit(2)
    entry = explain_mod.explain(code)
    if entry is None:
        known = ", ".join(explain_mod.known_codes())
        err.print(_literal(f"no explanation for {code!r}. Known: {known}"), soft_wrap=True)
        raise typer.Exit(2)
    out.print(Text.assemble(_literal(entry.code, "bold"), ": ", _literal(entry.title)))
    out.print(_literal("likely causes", "bold"))
    for cause in entry.causes:
        out.print(_literal(f"  - {cause}"))
    for where, causes in entry.by_direction().items():
        if direction and where != direction:
            continue
        out.print(_literal(f"on {'a' if where == 'transfer' else 'an'} {where} call", "bold"))
        for cause in causes:
            out.print(_literal(f"  - {cause}"))
    out.print(_literal("fixes", "bold"))
    for fix in entry.fixes:
        out.print(_literal(f"  - {fix}"))


if __name__ == "__main__":
    app()
