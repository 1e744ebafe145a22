"""Benchmark: the practice's book under a year of appointments, and what the model reads per turn.

    uv run python bench/store.py                # SQLite and PostgreSQL (throwaway cluster)
    uv run python bench/store.py --runs 100 --skip-postgres
    uv run python bench/store.py --quick        # three weeks of book, 5 runs: does it still run?

Measures p50/p95 of `find_open_times` (availability over the store; also this process's CPU
time per search, which a busy shared machine inflates less) and of booking an offered slot (the
database's no-overlap check included) with a year of appointments for ten providers,
on SQLite and on PostgreSQL (TEST_POSTGRES_URL, else a throwaway cluster). Also counts the
o200k_base tokens of the instructions plus tool schemas the model receives on every turn.
Writes bench/results/store.json (`--out`; `--quick` writes to a temporary folder and measures
nothing worth keeping: it is how CI checks the benchmark still runs, bench/quick.sh). A
benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from receptionist.appointments import (  # noqa: E402
    Appointments,
    Caller,
    Offers,
    Reason,
    Refused,
    find_open_times,
)
from receptionist.domain.practice import Practice, parse_practice  # noqa: E402
from receptionist.store import Outbox, Store, upgrade  # noqa: E402
from receptionist.store.models import Appointment, Patient  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "store.json"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
PROVIDERS = 10
FILL = 0.85  # share of each provider's half-hour slots already booked
YEAR = 182  # days of book before and after today: half a year each way
QUICK = {"days": 10, "runs": 5}  # --quick: ten days each way, five samples
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


def bench_practice() -> Practice:
    return parse_practice(
        {
            "id": "bench",
            "name": "Bench Dental",
            "timezone": "America/Chicago",
            "region": "US",
            "hours": {d: [["08:00", "17:00"]] for d in WEEKDAYS},
            "providers": [
                {"id": f"dr-{i:02d}", "name": f"Dr. Number {i}", "role": "dentist"}
                for i in range(PROVIDERS)
            ],
            "visit_types": [
                {"id": "exam", "name": "exam", "duration_minutes": 30, "roles": ["dentist"]},
                {"id": "long", "name": "long visit", "duration_minutes": 60, "roles": ["dentist"]},
            ],
        }
    )


def year_of_appointments(
    practice: Practice, today: date, patients: list[str], days: int = YEAR
) -> list[dict]:
    """`days` back and `days` ahead (half a year each way), 85% of half-hour slots booked,
    seeded."""
    rng = random.Random(7)
    rows = []
    now = datetime.now(UTC)
    for offset in range(-days, days + 1):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        start = datetime.combine(day, datetime.min.time(), tzinfo=practice.tz).replace(hour=8)
        for half_hour in range(18):
            begins = start + timedelta(minutes=30 * half_hour)
            # One patient is in one chair at a time (the book refuses a patient's overlapping
            # visits): the providers' visits at the same half hour go to different patients.
            seated = rng.sample(patients, len(practice.providers))
            for provider, patient_id in zip(practice.providers, seated, strict=True):
                if rng.random() > FILL:
                    continue
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "practice_id": practice.id,
                        "provider_id": provider.id,
                        "patient_id": patient_id,
                        "visit_type": "exam",
                        "starts_at": begins,
                        "ends_at": begins + timedelta(minutes=30),
                        "status": "booked",
                        "call_id": "",
                        "created_at": now,
                    }
                )
    return rows


async def load(store: Store, practice: Practice, days: int = YEAR) -> int:
    today = practice.now().date()
    patients = [
        {
            "id": str(uuid.uuid4()),
            "practice_id": practice.id,
            "full_name": f"Patient {i}",
            "name_key": f"patient {i}",
            "date_of_birth": date(1950, 1, 1) + timedelta(days=i * 7),
            "phone": "unknown",
            "created_at": datetime.now(UTC),
        }
        for i in range(2000)
    ]
    rows = year_of_appointments(practice, today, [p["id"] for p in patients], days)
    async with store.engine.begin() as conn:
        await conn.execute(insert(Patient.__table__), patients)
        for i in range(0, len(rows), 5000):
            await conn.execute(insert(Appointment.__table__), rows[i : i + 5000])
    return len(rows)


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]  # noqa: E731
    return {
        "runs": len(samples),
        "p50_ms": round(pick(0.50) * 1000, 2),
        "p95_ms": round(pick(0.95) * 1000, 2),
        "mean_ms": round(statistics.fmean(samples) * 1000, 2),
    }


def cpu_summary(samples: list[float]) -> dict:
    """p50/p95 of this process's CPU time per sample (SQLite's work included, PostgreSQL's
    server not): on a shared machine, the part of a latency that other programs do not add."""
    times = summary(samples)
    return {"cpu_p50_ms": times["p50_ms"], "cpu_p95_ms": times["p95_ms"]}


async def measure(url: str, runs: int, days: int) -> dict:
    practice = bench_practice()
    await upgrade(url)
    store = Store(url, outbox=Outbox(Path(tempfile.mkdtemp(prefix="bench-outbox-"))))
    try:
        started = time.perf_counter()
        appointments = await load(store, practice, days)
        load_seconds = time.perf_counter() - started
        rng = random.Random(11)
        now = practice.now()
        parts = ["any", "morning", "afternoon"]
        finds: list[float] = []
        find_cpu: list[float] = []  # this process's CPU time: less swayed by a busy machine
        ahead = min(80, days)  # searches start within the book's future
        for _ in range(runs):
            start = now.date() + timedelta(days=rng.randint(0, ahead))
            begin, cpu = time.perf_counter(), time.process_time()
            await find_open_times(
                practice,
                store.appointments,
                rng.choice(["exam", "long"]),
                now=now,
                date_from=start,
                part_of_day=rng.choice(parts),
            )
            finds.append(time.perf_counter() - begin)
            find_cpu.append(time.process_time() - cpu)
        books: list[float] = []
        taken = 0
        for run in range(runs):
            # A patient of their own per booking: the practice's caps (visits ahead per patient)
            # would refuse one patient's 200 bookings, and a refusal is not what is measured.
            born = date(1990, 1, 1) + timedelta(days=run)
            patient, _ = await store.appointments.register_patient(
                practice.id, "Bench Patient", born, ""
            )
            offers = Offers()
            start = now.date() + timedelta(days=rng.randint(0, ahead))
            slots = await find_open_times(
                practice, store.appointments, "exam", now=now, date_from=start
            )
            [(option_id, _)] = offers.add(slots[:1])
            begin = time.perf_counter()
            try:
                await Appointments(store.appointments, practice).book(
                    Caller(patient.id, "bench", offers), option_id, now=now
                )
            except Refused as refused:
                if refused.reason not in (Reason.TAKEN, Reason.TOO_SOON):
                    raise
                taken += 1
            books.append(time.perf_counter() - begin)
        return {
            "appointments": appointments,
            "providers": PROVIDERS,
            "load_seconds": round(load_seconds, 1),
            "find_open_times": summary(finds) | cpu_summary(find_cpu),
            "book": summary(books) | {"refused_as_taken": taken},
        }
    finally:
        await store.close()


O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def o200k_encoding():
    """o200k_base from the bpe-openai wheel (tiktoken cannot download here), hash-checked, put
    in a private TIKTOKEN_CACHE_DIR under the name tiktoken looks for (sha1 of its URL)."""
    import bpe_openai

    packed = Path(bpe_openai.__file__).parent / "data" / "o200k_base.tiktoken.gz"
    raw = gzip.decompress(packed.read_bytes())
    if hashlib.sha256(raw).hexdigest() != O200K_SHA256:
        raise RuntimeError("o200k_base.tiktoken from bpe-openai does not match tiktoken's hash")
    cache = Path(tempfile.mkdtemp(prefix="tiktoken-"))
    (cache / hashlib.sha1(O200K_URL.encode()).hexdigest()).write_bytes(raw)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    import tiktoken

    return tiktoken.get_encoding("o200k_base")


def token_counts() -> dict:
    from livekit.agents import llm

    from receptionist.call.prompts import render_instructions
    from receptionist.domain.practice import load_directory
    from tools import receptionist_tools

    encoding = o200k_encoding()
    practice = load_directory(ROOT / "practice.toml").default
    instructions = render_instructions(practice)
    tools = receptionist_tools()
    schemas = llm.ToolContext(tools).parse_function_tools("openai", strict=True)
    compact = json.dumps(schemas, separators=(",", ":"))
    per_tool = {
        s.get("name") or s.get("function", {}).get("name", "?"): len(
            encoding.encode(json.dumps(s, separators=(",", ":")))
        )
        for s in schemas
    }
    n_instructions = len(encoding.encode(instructions))
    n_tools = len(encoding.encode(compact))
    return {
        "encoding": "o200k_base",
        "instructions": n_instructions,
        "tool_schemas": n_tools,
        "total_per_turn": n_instructions + n_tools,
        "tools": len(schemas),
        "per_tool": per_tool,
    }


def postgres_url() -> tuple[str, object | None]:
    url = os.environ.get("TEST_POSTGRES_URL", "").strip()
    if url:
        return url, None
    from tests.support.pgcluster import TempCluster

    cluster = TempCluster()
    return cluster.start(), cluster


async def main(runs: int, skip_postgres: bool, days: int) -> dict:
    results: dict = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "days_each_way": days,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "sqlite": sqlite3.sqlite_version,
        },
        "backends": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite: loading {days} days of appointments each way ...", flush=True)
        results["backends"]["sqlite"] = await measure(
            f"sqlite+aiosqlite:///{tmp}/bench.db", runs, days
        )
        print(json.dumps(results["backends"]["sqlite"]), flush=True)
    if not skip_postgres:
        url, cluster = postgres_url()
        try:
            import asyncpg

            from tests.support.pgcluster import asyncpg_kwargs

            admin = await asyncpg.connect(**asyncpg_kwargs(url))
            version = admin.get_server_version()
            results["machine"]["postgresql"] = f"{version.major}.{version.micro}"
            await admin.execute("DROP DATABASE IF EXISTS receptionist_bench")
            await admin.execute("CREATE DATABASE receptionist_bench")
            await admin.close()
            from sqlalchemy.engine import make_url

            bench_url = make_url(url).set(database="receptionist_bench").render_as_string(False)
            print(f"PostgreSQL: loading {days} days of appointments each way ...", flush=True)
            results["backends"]["postgresql"] = await measure(bench_url, runs, days)
            print(json.dumps(results["backends"]["postgresql"]), flush=True)
        finally:
            if cluster is not None:
                cluster.stop()
    results["tokens"] = token_counts()
    print(json.dumps(results["tokens"]), flush=True)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="samples per measurement")
    parser.add_argument("--days", type=int, default=YEAR, help="days of book each way")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the results file")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few days of book, a few runs, results to a temporary folder: checks the "
        "benchmark runs, measures nothing",
    )
    args = parser.parse_args()
    if args.quick:  # QUICK's sizes, unless given on the command line
        out = Path(tempfile.mkdtemp(prefix="bench-quick-")) / "store.json"
        parser.set_defaults(**QUICK, out=out)
        args = parser.parse_args()
    output = asyncio.run(main(args.runs, args.skip_postgres, args.days))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
