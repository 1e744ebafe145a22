"""`agent.py console --text` with a refused key or no network: one sentence naming the fix.

The real console (LiveKit's text screen on a pseudo-terminal, the real agent and the real OpenAI
plugin) talks to a local HTTP server that answers the way OpenAI does to a wrong key, or to a port
where nothing listens. Before, that was four attempts and about a hundred lines of traceback.
"""

from __future__ import annotations

import json
import os
import pty
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from receptionist.call.console import OFFLINE
from receptionist.store.schema import upgrade

REPO_ROOT = Path(__file__).resolve().parents[2]
WRONG_KEY = {
    "error": {
        "message": "Incorrect API key provided: sk-wrong. You can find your API key at ...",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}


class RefusesKeys(BaseHTTPRequestHandler):
    """OpenAI's answer to a wrong key: 401 with its error body."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps(WRONG_KEY).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_openai() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusesKeys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture
def nothing_listening() -> str:
    with socket.socket() as probe:  # a port that was free a moment ago: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
async def migrated_book(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'book.db'}"
    await upgrade(url)
    return url


def console_text(base_url: str, book: str, folder: Path, timeout: float = 90.0) -> str:
    """Types one question into `agent.py console --text` and returns all it printed."""
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-wrong",
        "OPENAI_BASE_URL": base_url,
        "DEEPGRAM_API_KEY": "",
        "PROVIDER_FACTORY": "",
        "DATABASE_URL": book,
        "OUTBOX_DIR": str(folder / "outbox"),
        "COLUMNS": "200",
    }
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "agent.py", "console", "--text"],
        cwd=REPO_ROOT,
        env=env,
        stdin=child,
        stdout=child,
        stderr=child,
        close_fds=True,
    )
    os.close(child)
    seen = b""
    typed = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    break
            if not typed and b"How can I help" in seen:
                os.write(main, b"what are your hours?\r")
                typed = True
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(main)
    return seen.decode(errors="replace")


def test_a_refused_key_is_one_sentence_naming_the_key(refusing_openai, migrated_book, tmp_path):
    printed = console_text(refusing_openai, migrated_book, tmp_path)
    flat = " ".join(printed.split())
    assert "OpenAI refused the API key (401)" in flat, printed[-3000:]
    assert "OPENAI_API_KEY" in flat and "agent.py try" in flat
    assert flat.count("OpenAI refused the API key") == 1
    assert "Traceback" not in printed and "retrying in" not in printed


def test_no_network_is_one_sentence_naming_the_network(nothing_listening, migrated_book, tmp_path):
    printed = console_text(nothing_listening, migrated_book, tmp_path)
    flat = " ".join(printed.split())
    assert "OpenAI could not be reached" in flat, printed[-3000:]
    assert " ".join(OFFLINE.split()[:3]) in flat
    assert "Traceback" not in printed and "retrying in" not in printed
