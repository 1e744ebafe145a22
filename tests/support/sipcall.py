"""A real SIP caller for the end-to-end tests and the benchmark: sipp plus an RTP capture.

sipp places the call from a scenario in `tests/e2e/scenarios/`; it cannot record what it hears,
so tshark captures the RTP arriving at the caller's media port and `decode_pcmu` turns it back
into samples to check the agent really spoke. sipp's message trace (with timestamps) gives the
SIP exchange: which requests the caller received (REFER, BYE), their headers, and when.
"""

from __future__ import annotations

import contextlib
import re
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from receptionist.ops.stack import LocalStack, find_binary
from receptionist.paths import REPO_ROOT

SCENARIOS = REPO_ROOT / "tests" / "e2e" / "scenarios"
DTMF_PCAP_DIR = Path("/usr/share/sip-tester")
ULAW_SILENCE = 0xFF


# --- caller audio --------------------------------------------------------------------------------


def write_speech_ulaw(text: str, path: Path) -> Path:
    """Speaks `text` with espeak-ng and stores it as headerless 8 kHz mu-law (sipp's rtp_stream
    sends a WAV header as noise on every loop), followed by a second of silence."""
    wav = path.with_suffix(".wav")
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), text], check=True)
    raw = path.with_suffix(".speech")
    subprocess.run(
        ["sox", str(wav), "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", str(raw)],
        check=True,
    )
    path.write_bytes(raw.read_bytes() + bytes([ULAW_SILENCE]) * 8000)
    return path


def write_silence_ulaw(path: Path, seconds: float = 2.0) -> Path:
    """Silence keeps RTP flowing (the bridge drops calls without caller RTP) without a turn."""
    path.write_bytes(bytes([ULAW_SILENCE]) * int(8000 * seconds))
    return path


# --- RTP capture and decoding --------------------------------------------------------------------


@dataclass(frozen=True)
class RtpPacket:
    time: float
    src_port: int
    dst_port: int
    payload_type: int
    payload: bytes


def _ulaw_table() -> list[int]:
    """G.711 mu-law to 16-bit linear (ITU-T G.711 expansion)."""
    table = []
    for byte in range(256):
        u = ~byte & 0xFF
        sign, exponent, mantissa = u & 0x80, (u >> 4) & 0x07, u & 0x0F
        sample = (((mantissa << 3) + 0x84) << exponent) - 0x84
        table.append(-sample if sign else sample)
    return table


_ULAW = _ulaw_table()


def decode_pcmu(payload: bytes) -> list[int]:
    return [_ULAW[b] for b in payload]


def rms(samples: list[int]) -> float:
    return (sum(s * s for s in samples) / len(samples)) ** 0.5 if samples else 0.0


def voiced_frames(packets: list[RtpPacket], threshold: float = 300.0) -> list[RtpPacket]:
    """PCMU packets whose decoded level is above `threshold`: what the caller could hear."""
    return [p for p in packets if p.payload_type == 0 and rms(decode_pcmu(p.payload)) > threshold]


def read_pcap(path: Path) -> list[RtpPacket]:
    """Reads UDP/RTP packets from a classic pcap file (tshark -F pcap), any link type we use."""
    data = path.read_bytes() if path.exists() else b""
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    packets, offset = [], 24
    while offset + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + incl]
        offset += 16 + incl
        stamp = sec + frac / (1e9 if nano else 1e6)
        packet = _parse_frame(frame, linktype, stamp)
        if packet is not None:
            packets.append(packet)
    return packets


def _parse_frame(frame: bytes, linktype: int, stamp: float) -> RtpPacket | None:
    """Ethernet (1), Linux cooked (113/276) or raw IP (101) -> the RTP packet inside, if any."""
    header = {1: 14, 113: 16, 276: 20, 101: 0}.get(linktype)
    if header is None or len(frame) < header + 28:
        return None
    ip = frame[header:]
    if ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    udp = ip[(ip[0] & 0x0F) * 4 :]
    src_port, dst_port = struct.unpack("!HH", udp[:4])
    rtp = udp[8:]
    if len(rtp) < 12 or rtp[0] >> 6 != 2:
        return None
    start = 12 + 4 * (rtp[0] & 0x0F)
    if rtp[0] & 0x10 and len(rtp) >= start + 4:
        start += 4 + 4 * struct.unpack("!H", rtp[start + 2 : start + 4])[0]
    return RtpPacket(stamp, src_port, dst_port, rtp[1] & 0x7F, rtp[start:])


@contextlib.contextmanager
def capture_rtp(stack: LocalStack, capture_filter: str, out: Path) -> Iterator[Path]:
    """Captures UDP matching `capture_filter` (e.g. `udp port 16000`) on the namespace's
    loopback, where traffic between the namespace's own addresses flows, while the block runs."""
    tshark = find_binary("tshark") or "tshark"
    argv = [tshark, "-q", "-i", "lo", "-f", capture_filter, "-F", "pcap", "-w", str(out)]
    # tshark's messages go to a file, never a pipe nobody reads (a full pipe stalls the capture).
    messages = out.with_suffix(".tshark.log")
    with open(messages, "wb") as log:
        proc = subprocess.Popen(stack.wrap(argv), stdout=subprocess.DEVNULL, stderr=log)
    _wait_capturing(proc, messages)
    try:
        yield out
    finally:
        time.sleep(0.5)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_capturing(proc: subprocess.Popen[bytes], messages: Path, timeout: float = 15.0) -> None:
    """tshark says "Capturing on ..." once its capture is open; calls before that are lost."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Capturing on" in messages.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"tshark did not start capturing: {messages.read_text(errors='replace')}")


# --- sipp and its message trace ------------------------------------------------------------------


@dataclass
class SipMessage:
    time: datetime
    sent: bool
    start_line: str
    headers: dict[str, str]
    body: str

    @property
    def method(self) -> str:
        """The request method, or '' for a response."""
        return "" if self.start_line.startswith("SIP/2.0") else self.start_line.split()[0]

    @property
    def status(self) -> int:
        """The response status, or 0 for a request."""
        parts = self.start_line.split()
        return int(parts[1]) if self.start_line.startswith("SIP/2.0") else 0

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def epoch(self) -> float:
        """Seconds since the epoch (sipp writes local wall-clock time, as pcap stamps are)."""
        return self.time.timestamp()


_SEPARATOR = re.compile(
    r"^-{10,} (\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+)\s*$\n(?:UDP|TCP) message (sent|received)"
    r"[^\n]*\n",
    re.MULTILINE,
)


def parse_messages(text: str) -> list[SipMessage]:
    """Parses sipp's `-trace_msg` log into messages with their timestamps and direction."""
    marks = list(_SEPARATOR.finditer(text))
    messages = []
    for i, mark in enumerate(marks):
        chunk = text[mark.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        head, _, body = chunk.strip("\n").partition("\n\n")
        lines = [line.strip() for line in head.strip().splitlines() if line.strip()]
        if not lines:
            continue
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        stamp = datetime.strptime(" ".join(mark.group(1).split()), "%Y-%m-%d %H:%M:%S.%f")
        messages.append(SipMessage(stamp, mark.group(2) == "sent", lines[0], headers, body))
    return messages


@dataclass
class SippResult:
    returncode: int
    messages: list[SipMessage]
    rtp: list[RtpPacket] = field(default_factory=list)  # received by the caller
    sent_rtp: list[RtpPacket] = field(default_factory=list)  # sent by the caller (audio, DTMF)
    log: str = ""

    def received(self, method_or_status: str | int) -> list[SipMessage]:
        """Messages the caller received: requests by method or responses by status."""
        return [
            m
            for m in self.messages
            if not m.sent
            and (
                m.status == method_or_status
                if isinstance(method_or_status, int)
                else m.method == method_or_status
            )
        ]

    def sent(self, method: str) -> list[SipMessage]:
        return [m for m in self.messages if m.sent and m.method == method]

    @property
    def call_id(self) -> str:
        """The SIP Call-ID of the INVITE the caller sent ("" if it sent none)."""
        invites = self.sent("INVITE")
        return invites[0].header("call-id") if invites else ""


@dataclass
class Caller:
    """One sipp caller: its ports in the stack's namespace and a working folder."""

    stack: LocalStack
    workdir: Path
    sip_port: int = 5070
    media_port: int = 16000
    auth: tuple[str, str] | None = None  # digest credentials (-au/-ap) for authenticated_call

    def argv(
        self, scenario: str, dialled: str, caller: str, timeout_s: int, **keys: str
    ) -> list[str]:
        """The sipp command line (one call, fail on timeout, message trace in the workdir)."""
        address = self.stack.config.address
        argv = [
            find_binary("sipp") or "sipp",
            self.stack.config.sip_uri_host,
            "-sf", str(SCENARIOS / scenario),
            "-s", dialled,
            "-key", "caller", caller,
            "-i", address, "-p", str(self.sip_port),
            "-mi", address, "-mp", str(self.media_port),
            "-m", "1", "-l", "1", "-nostdin",
            "-timeout", f"{timeout_s}s", "-timeout_error",
            "-trace_msg", "-message_file", str(self.workdir / "messages.log"),
            "-trace_err", "-error_file", str(self.workdir / "errors.log"),
        ]  # fmt: skip
        for name, value in keys.items():
            argv += ["-set", name, value]
        if self.auth:
            argv += ["-au", self.auth[0], "-ap", self.auth[1]]
        return argv

    def start(
        self, scenario: str, dialled: str, caller: str, timeout_s: int = 90, **keys: str
    ) -> subprocess.Popen[bytes]:
        """Starts the call in the background (the benchmark runs many at once)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "sipp.out", "wb")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(
            self.stack.wrap(self.argv(scenario, dialled, caller, timeout_s, **keys)),
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return proc

    def finish(self, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> SippResult:
        """Waits for sipp and reads its trace."""
        try:
            code = proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        trace = self.workdir / "messages.log"
        text = trace.read_text(errors="replace") if trace.exists() else ""
        out = (self.workdir / "sipp.out").read_text(errors="replace")
        errors = self.workdir / "errors.log"
        if errors.exists():
            out += "\n" + errors.read_text(errors="replace")
        return SippResult(code, parse_messages(text), log=out[-4000:])

    def call(
        self, scenario: str, dialled: str, caller: str, timeout_s: int = 90, **keys: str
    ) -> SippResult:
        """Places one call and records the RTP the caller received and sent."""
        pcap = self.workdir / "caller-rtp.pcap"
        self.workdir.mkdir(parents=True, exist_ok=True)
        with capture_rtp(self.stack, f"udp port {self.media_port}", pcap):
            result = self.finish(
                self.start(scenario, dialled, caller, timeout_s, **keys), timeout_s + 30
            )
        self.attach_rtp(result, read_pcap(pcap))
        return result

    def attach_rtp(self, result: SippResult, packets: list[RtpPacket]) -> None:
        """Splits captured packets into what this caller received and what it sent."""
        result.rtp = [p for p in packets if p.dst_port == self.media_port]
        result.sent_rtp = [p for p in packets if p.src_port == self.media_port]
