"""Profile of `find_open_times` on bench/store.py's book (a year x ten providers).

    uv run python bench/profile_open_times.py                  # SQLite and PostgreSQL
    uv run python bench/profile_open_times.py --skip-postgres --runs 200
    uv run python bench/profile_open_times.py --quick          # does it still run?

Loads the same book as bench/store.py, runs the same searches (same seed), first untimed to
warm the connection pool and the statement caches, then under cProfile, and prints the top
lines by own time and by cumulative time, plus how many book reads a search made and how many
busy rows they returned. What issue 22 asked for ("show the profile"): the summary is kept in
bench/results/profile-open-times.txt. A profile, not a benchmark: cProfile slows Python code
down far more than it slows the database, so read shares, not milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from store import YEAR, bench_practice, load, postgres_url  # noqa: E402

from receptionist.appointments import find_open_times  # noqa: E402
from receptionist.domain.practice import Practice  # noqa: E402
from receptionist.store import Outbox, Store, upgrade  # noqa: E402


class CountingBook:
    """The store's book, counting the busy reads a search makes and the rows they return."""

    def __init__(self, book: object) -> None:
        self._book = book
        self.reads = 0
        self.rows = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._book, name)

    async def busy(self, *args: object, **kwargs: object) -> object:
        rows = await self._book.busy(*args, **kwargs)  # type: ignore[attr-defined]
        self.reads += 1
        self.rows += len(rows)
        return rows


def searches(practice: Practice, runs: int, days: int) -> list[dict]:
    """bench/store.py's searches: the same seed, visit types, start days and parts of the day."""
    rng = random.Random(11)
    now = practice.now()
    ahead = min(80, days)
    out = []
    for _ in range(runs):
        start = now.date() + timedelta(days=rng.randint(0, ahead))
        visit = rng.choice(["exam", "long"])
        part = rng.choice(["any", "morning", "afternoon"])
        out.append({"visit": visit, "date_from": start, "part_of_day": part, "now": now})
    return out


async def profile(url: str, runs: int, days: int, top: int) -> str:
    practice = bench_practice()
    await upgrade(url)
    store = Store(url, outbox=Outbox(Path(tempfile.mkdtemp(prefix="bench-outbox-"))))
    try:
        await load(store, practice, days)
        book = CountingBook(store.appointments)
        plan = searches(practice, runs, days)

        async def run_all() -> None:
            for s in plan:
                await find_open_times(
                    practice,
                    book,  # type: ignore[arg-type]
                    s["visit"],
                    now=s["now"],
                    date_from=s["date_from"],
                    part_of_day=s["part_of_day"],
                )

        await run_all()  # warm-up: pool, statement caches, zoneinfo
        book.reads = book.rows = 0
        profiler = cProfile.Profile()
        profiler.enable()
        await run_all()
        profiler.disable()
        text = io.StringIO()
        text.write(
            f"{runs} searches: {book.reads / runs:.2f} book reads and "
            f"{book.rows / runs:.0f} busy rows per search\n"
        )
        for order in ("tottime", "cumulative"):
            text.write(f"\n-- top {top} by {order} --\n")
            stats = pstats.Stats(profiler, stream=text)
            stats.strip_dirs().sort_stats(order).print_stats(top)
        return text.getvalue()
    finally:
        await store.close()


async def main(runs: int, days: int, top: int, skip_postgres: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print("== SQLite ==", flush=True)
        print(await profile(f"sqlite+aiosqlite:///{tmp}/bench.db", runs, days, top), flush=True)
    if skip_postgres:
        return
    url, cluster = postgres_url()
    try:
        import asyncpg
        from sqlalchemy.engine import make_url

        from tests.support.pgcluster import asyncpg_kwargs

        admin = await asyncpg.connect(**asyncpg_kwargs(url))
        await admin.execute("DROP DATABASE IF EXISTS receptionist_profile")
        await admin.execute("CREATE DATABASE receptionist_profile")
        await admin.close()
        bench_url = make_url(url).set(database="receptionist_profile").render_as_string(False)
        print("== PostgreSQL ==", flush=True)
        print(await profile(bench_url, runs, days, top), flush=True)
    finally:
        if cluster is not None:
            cluster.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="searches profiled")
    parser.add_argument("--days", type=int, default=YEAR, help="days of book each way")
    parser.add_argument("--top", type=int, default=15, help="lines of each summary")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--quick", action="store_true", help="ten days of book, five searches")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.days = 5, 10
    asyncio.run(main(args.runs, args.days, args.top, args.skip_postgres))
