"""The worker image, built from the Dockerfile as it ships, answering a real call.

scripts/image.sh builds the image (buildah, a stand-in base where no registry is reachable);
here the worker runs INSIDE it, with the image's own command (`uv run --no-sync agent.py start`
as its unprivileged user), on a test "host" of its own on the stack's LAN (tests/e2e/fleet.py's
Host), under an agent name and a phone line of its own (fleet_line.py), so the session's worker
never takes its call. A sipp caller dials that line through livekit-sip; the worker answers,
registers a new patient, books the first new-patient exam, and hangs up. Only the cloud
STT/LLM/TTS are doubles (tests/support/image_providers.py, mounted in with tests/); the book is a
SQLite file on a mounted volume, migrated by the image's own `receptionist migrate`.

The image: under CI=true it must already be built (.ci/run's image step), and a missing image
fails the test naming the fix; elsewhere the session builds it, or refreshes it when the
checkout changed (scripts/image.sh; a second when it is up to date), so `uv run pytest` alone
works.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from receptionist.ops.stack import LocalStack
from receptionist.store.models import Appointment, AppointmentStatus, Patient
from tests.e2e.fleet import FleetLine, Host, run_in_stack
from tests.e2e.records import call_record
from tests.e2e.rig import ALLOWED, E2E_DIR, Worker, start_worker, under_ci, worker_env
from tests.support import image
from tests.support.image_providers import (
    CALLER_SAYS,
    PATIENT_BORN,
    PATIENT_NAME,
    SOCKET_ENV,
    VISIT_TYPE,
)
from tests.support.sipcall import Caller, SippResult, voiced_frames, write_speech_ulaw

pytestmark = pytest.mark.e2e

IMAGE_NUMBER = "+14145550160"
IMAGE_AGENT = "receptionist-image"
IMAGE_ROOM_PREFIX = "image-"
IMAGE_HOST = 9  # fleet.Host index: test_scaling's hosts are 1 and 2
CALLER_AS_SENT = "4145550177"
SECOND = bytes([0xFF]) * 8000  # one second of mu-law silence: RTP keeps flowing, no turn
MIN_VOICED_FRAMES = 50  # 20 ms frames: a second of audible agent speech
# Where the container sees the test doubles (tests/ is not in the image).
TESTS_INSIDE = "/app/tests"


@pytest.fixture(scope="session")
def worker_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The built image's name. Under CI=true it must be there (the image step builds it);
    elsewhere scripts/image.sh builds or refreshes it first."""
    name = image.image_name()
    if under_ci():
        reason = image.missing(name)
        if reason:
            pytest.fail(f"CI=true: {reason} (.ci/run's image step)", pytrace=False)
        return name
    if os.geteuid() != 0:
        pytest.skip("building and running the image needs root (buildah, debootstrap)")
    log = tmp_path_factory.mktemp("image-build") / "image.log"
    if image.build(log).returncode != 0:
        pytest.fail(f"`{image.BUILD_FIX}` failed:\n{log.read_text()[-4000:]}", pytrace=False)
    return name


# --- the image itself ----------------------------------------------------------------------------


def test_the_image_runs_agent_start_unprivileged_without_build_tools_or_caches(worker_image: str):
    """Lean and safe: the runtime stage carries the app and its virtualenv, not the build
    stage's compilers, uv's download cache (a second copy of every package), the tests or the
    repository's secrets and state; and it runs `agent.py start` as an unprivileged user."""
    config = image.image_config(worker_image)
    assert config["Cmd"] == ["uv", "run", "--no-sync", "agent.py", "start"]
    with image.Container.of(worker_image) as container:
        uid = container.run("id", "-u")
        compilers = container.run("sh", "-c", "command -v gcc g++ cc c++ make || true")
        caches = container.run(
            "sh", "-c", "find /app/.cache/uv /root/.cache/uv -maxdepth 0 2>/dev/null"
        )
        app = container.run("ls", "-A", "/app")
        outbox = container.run("stat", "-c", "%u", "/app/outbox")
    assert uid.stdout.strip() not in ("", "0"), "the worker must not run as root"
    assert compilers.stdout.split() == [], f"the runtime image carries {compilers.stdout}"
    assert caches.stdout.split() == [], f"the runtime image carries uv's cache: {caches.stdout}"
    found = set(app.stdout.split()) & {"tests", "bench", ".ci", ".git", ".env", ".venv", "var"}
    assert found == {".venv"}, f"/app holds {sorted(found)}: {app.stdout}"
    assert "agent.py" in app.stdout.split()
    # OUTBOX_DIR's default is there and the worker's own: a volume mounted on it is writable.
    assert outbox.stdout.strip() == uid.stdout.strip(), outbox.stdout + outbox.stderr


# --- a call answered by the worker in the image --------------------------------------------------


@dataclass
class ImageWorker:
    worker: Worker
    database_url: str
    book: Path


@pytest.fixture(scope="module")
def image_line(stack: LocalStack, base_env: dict[str, str]) -> Iterator[FleetLine]:
    ids = run_in_stack(
        stack, base_env, "create", IMAGE_NUMBER, IMAGE_AGENT, ALLOWED, IMAGE_ROOM_PREFIX
    )
    yield FleetLine(ids["trunk_id"], ids["rule_id"])
    run_in_stack(stack, base_env, "delete", ids["trunk_id"], ids["rule_id"])


@pytest.fixture(scope="module")
def image_host(stack: LocalStack) -> Iterator[Host]:
    host = Host(stack, IMAGE_HOST)
    try:
        host.create()
        yield host
    finally:
        host.delete()


@pytest.fixture(scope="module")
def image_worker(
    stack: LocalStack,
    base_env: dict[str, str],
    image_line: FleetLine,
    image_host: Host,
    worker_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ImageWorker]:
    """The worker inside the image: its volumes (the book, the outbox, the practice profile, the
    speech socket, tests/ for the doubles), its environment, the image's own command."""
    folder = tmp_path_factory.mktemp("image-worker")
    book, outbox, practice, voice = (folder / n for n in ("book", "outbox", "practice", "voice"))
    for path in (book, outbox, practice):
        path.mkdir()
    profile = (E2E_DIR / "practice.toml").read_text()
    listed = profile.replace("dialled_numbers = []", f'dialled_numbers = ["{IMAGE_NUMBER}"]', 1)
    assert listed != profile, "tests/e2e/practice.toml no longer has an empty dialled_numbers"
    (practice / "practice.toml").write_text(listed)
    database_url = f"sqlite+aiosqlite:///{book / 'book.db'}"

    with image.SpeechServer(voice) as speech, image.Container.of(worker_image) as container:
        container.mounts = [
            image.Mount(image.REPO_ROOT / "tests", TESTS_INSIDE, read_only=True),
            image.Mount(practice, str(practice), read_only=True),
            image.Mount(book, str(book)),
            image.Mount(outbox, str(outbox)),
            image.Mount(voice, str(voice)),
        ]
        uid = container.run("id", "-u").stdout.strip()
        for writable in (book, outbox):
            shutil.chown(writable, int(uid), int(uid))
        env = worker_env(
            base_env,
            AGENT_NAME=IMAGE_AGENT,
            PRACTICE_FILE=str(practice / "practice.toml"),
            DATABASE_URL=database_url,
            OUTBOX_DIR=str(outbox),
            PROVIDER_FACTORY="tests.support.image_providers:build",
            PYTHONPATH="/app",
            E2E_CALLER_SAYS=CALLER_SAYS,
            **{SOCKET_ENV: str(speech.path)},
        )
        container.set_env(env)
        # As a deploy does: the image's own migrate, against the volume's book, first.
        migrated = container.run("uv", "run", "--no-sync", "receptionist", "migrate")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr

        command = image.image_config(worker_image)["Cmd"]
        worker = start_worker(
            stack,
            {},
            name="image-worker",
            netns=image_host.name,
            address=image_host.address,
            command=container.run_argv(command),
        )
        try:
            yield ImageWorker(worker, database_url, book)
        finally:
            stack.stop_process(worker.proc)


@pytest.fixture(scope="module")
def booking_call(
    image_worker: ImageWorker, stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> SippResult:
    """A new patient asks for the first new-patient exam, hears the offer, says yes; the agent
    books it and ends the call."""
    workdir: Path = tmp_path_factory.mktemp("image-call")
    asks = write_speech_ulaw(
        "Hello, I am a new patient, Jamie Rivera, born on March third, nineteen ninety. "
        "I would like a new patient exam, please.",
        workdir / "asks.ulaw",
    ).read_bytes()
    agrees = write_speech_ulaw("Yes please, book it.", workdir / "agrees.ulaw").read_bytes()
    # The greeting plays, the caller asks; the offer plays, the caller agrees; then silence
    # until the agent's goodbye and BYE.
    (workdir / "caller.ulaw").write_bytes(SECOND * 8 + asks + SECOND * 9 + agrees + SECOND * 25)
    image_worker.worker.wait_ready_for_call()
    caller = Caller(stack, workdir, sip_port=5130, media_port=16600)
    return caller.call("agent_hangs_up.xml", IMAGE_NUMBER, CALLER_AS_SENT, timeout_s=90)


def test_the_worker_in_the_image_answers_the_call_and_hangs_up(
    booking_call: SippResult, image_worker: ImageWorker
):
    assert booking_call.returncode == 0, booking_call.log
    assert booking_call.received(200), f"never answered:\n{booking_call.log}"
    byes = booking_call.received("BYE")
    assert len(byes) == 1, "the agent's end-call must send exactly one BYE to the caller"
    assert not booking_call.sent("BYE"), "the caller must not be the one hanging up"
    voiced = voiced_frames(booking_call.rtp)
    assert len(voiced) >= MIN_VOICED_FRAMES, f"only {len(voiced)} voiced frames reached the caller"
    rooms = [str(job.get("room", "")) for job in image_worker.worker.job_requests()]
    assert rooms and all(room.startswith(IMAGE_ROOM_PREFIX) for room in rooms), rooms


def test_the_worker_in_the_image_books_the_visit_in_the_mounted_book(
    booking_call: SippResult, image_worker: ImageWorker
):
    record = call_record(image_worker.database_url, booking_call.call_id)
    assert record.outcome == "booked", (record.outcome, record.outcomes)
    engine = create_engine(image_worker.database_url.replace("+aiosqlite", ""))
    try:
        with Session(engine) as session:
            rows = session.execute(select(Appointment, Patient).join(Patient)).all()
    finally:
        engine.dispose()
    assert len(rows) == 1, rows
    [(appointment, patient)] = rows
    assert (patient.full_name, patient.date_of_birth.isoformat()) == (PATIENT_NAME, PATIENT_BORN)
    assert patient.phone == "+1" + CALLER_AS_SENT  # the number the caller rang from
    assert appointment.visit_type == VISIT_TYPE
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.call_id == record.livekit_call_id
    assert appointment.starts_at > record.started_at
