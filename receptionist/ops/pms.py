"""`receptionist pms doctor`: is each location's practice-management system reachable with our
keys, what does it have, and how does practice.toml map onto it (receptionist/pms/doctor.py).

    uv run receptionist pms doctor

Exit status 0 when every location on a PMS checks out, 1 with each problem and its fix, 2 when
the settings or practice.toml themselves are broken.
"""

from __future__ import annotations

import asyncio

import typer

from receptionist.domain.practice import PracticeError, load_directory
from receptionist.pms.books import key_problems
from receptionist.pms.doctor import diagnose_all

app = typer.Typer(
    help="The practice's own PMS (Open Dental, NexHealth): check the keys and the mapping."
)


@app.command("doctor")
def doctor() -> None:
    """Check each Open Dental or NexHealth location: the keys, what it has, what is unmapped."""
    from receptionist.ops.staff import fail, say, settings_or_exit

    settings = settings_or_exit()
    try:
        directory = load_directory(settings.practice_file)
    except PracticeError as exc:
        fail(str(exc), code=2)
    missing = key_problems(settings, directory)
    if missing:
        fail("\n".join(missing))
    results = asyncio.run(diagnose_all(settings, list(directory)))
    if not results:
        say(
            'No location keeps its schedule in a PMS ([practice.book] kind = "builtin"): '
            "nothing to check."
        )
        return
    for result in results:
        for line in result.lines:
            say(line)
        for problem in result.problems:
            say(f"  problem: {problem}", "red")
        if result.ok:
            say(f"{result.practice_id}: ready", "green")
    if not all(r.ok for r in results):
        raise typer.Exit(1)
