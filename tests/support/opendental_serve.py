"""The Open Dental simulator as a process of its own, for a real call (test_opendental_call.py).

The e2e worker runs inside the stack's network namespace, where the test process's loopback is
out of reach; so the simulator runs there too, started by the test with `stack.spawn`:

    python -m tests.support.opendental_serve STATE_FILE

It seeds the office (tests/support/opendental_sim.py) around today, serves the API on
127.0.0.1 in that namespace, prints `ready <base URL>`, and keeps STATE_FILE (JSON: its
appointments and patients) up to date for the test to read: the office's own records.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from tests.support.opendental_sim import OpenDentalSim

SEEDED_DAYS = 60


def write_state(sim: OpenDentalSim, path: Path) -> None:
    """The office's records, replaced atomically (a reader never sees half a file)."""
    state = {
        "appointments": list(sim.appointments.values()),
        "patients": list(sim.patients.values()),
    }
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(state, default=str))
    os.replace(partial, path)


async def serve(state_file: Path) -> None:
    sim = OpenDentalSim(page_size=1000)  # the Local API's page size
    sim.seed_practice(first=date.today() - timedelta(days=1), days=SEEDED_DAYS)
    sim.clock = datetime.now().replace(microsecond=0)
    base_url = await sim.start()
    write_state(sim, state_file)
    print("ready", base_url, flush=True)
    writes = -1
    while True:
        if len(sim.log) != writes:
            writes = len(sim.log)
            write_state(sim, state_file)
        await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
