"""The folder through which the worker's job processes report their metrics to the scrape.

Each call runs in a job process of its own, so what a call counts lives in that process. LiveKit's
Prometheus endpoint (`PROMETHEUS_PORT`, served by the worker's main process) reads them with
prometheus_client's multiprocess mode: every process writes its values to files in the folder
named by `PROMETHEUS_MULTIPROC_DIR`, and a scrape adds them up (a job process that has ended
still counts). prometheus_client decides whether a process writes there when it is first
imported; LiveKit sets the variable only when the worker starts, after agent.py has imported it,
so the main process's own metrics (LiveKit's active jobs, load, process start times, and this
project's queue gauges) would be left out of every scrape. `share_between_processes` therefore
runs first in agent.py, before anything imports prometheus_client; job processes inherit the
variable. This module imports nothing that imports prometheus_client.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsOrderError(RuntimeError):
    """prometheus_client was imported before the folder was set: the scrape would miss metrics."""


def share_between_processes(prometheus_port: int | None) -> str | None:
    """Sets up the folder when the endpoint is on (`prometheus_port`); returns it, or None.

    An operator's own `PROMETHEUS_MULTIPROC_DIR` is used as it is (LiveKit empties it when the
    worker starts, so it must be this worker's alone); otherwise a fresh private folder
    (0700, under the temp directory) is made and removed when the worker exits. A job process
    finds the variable already set and changes nothing."""
    if prometheus_port is None:
        return None
    folder = os.environ.get(MULTIPROC_ENV, "")
    if not folder:
        if "prometheus_client" in sys.modules:
            raise MetricsOrderError(
                "prometheus_client was imported before the metrics folder was set: call "
                "share_between_processes first in agent.py, before importing livekit"
            )
        folder = tempfile.mkdtemp(prefix="receptionist-metrics-")
        os.environ[MULTIPROC_ENV] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return folder
