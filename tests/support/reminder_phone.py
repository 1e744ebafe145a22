"""The patient's phone for reminder calls, shared by the e2e test (test_reminders_calls.py) and
the benchmark (bench/reminders.py): the practice they call from, the outbound trunk program,
sipp scenarios for a phone that answers and presses keys, is busy, rings out or is a mailbox, and
the providers (PROVIDER_FACTORY `tests.support.reminder_phone:providers`) the worker runs with.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from tests.support.profiles import (
    ONE_DENTIST_TOML,
    REMINDERS_ALL_DAY_TOML,
    lakeside_all_day_toml,
)
from tests.support.sipcall import DTMF_PCAP_DIR, ULAW_SILENCE, write_speech_ulaw

PRACTICE_NUMBER = "+14145550100"
PATIENT_PORT = 5099  # the patient's phone (sipp UAS) listens here
PATIENT_MEDIA = 16600


def reminder_profile(trunk: str) -> str:
    """The reminder practice: open and calling all day, one dentist, reminders over `trunk`."""
    return lakeside_all_day_toml(
        "Lakeside Reminder Dental",
        PRACTICE_NUMBER,
        ONE_DENTIST_TOML,
        "[practice.policies]\ncancellation_notice_hours = 24\n",
        REMINDERS_ALL_DAY_TOML,
        f'attempts = 3\nretry_minutes = 60\nringing_seconds = 8\noutbound_trunk = "{trunk}"\n',
    )


OUTBOUND_TRUNK = """
import asyncio, json, sys
from livekit import api
async def main():
    async with api.LiveKitAPI() as lk:
        t = await lk.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(
            trunk=api.SIPOutboundTrunkInfo(name="patients", address=sys.argv[1],
                                           numbers=[sys.argv[2]])))
        print(json.dumps({"trunk_id": t.sip_trunk_id}))
asyncio.run(main())
"""

HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="patient-phone">
  <recv request="INVITE" crlf="true"/>
"""
RESPONSE = """  <send>
    <![CDATA[
      SIP/2.0 {status}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:patient@[local_ip]:[local_port]>
      Content-Length: 0
    ]]>
  </send>
"""
ANSWER = """  <pause milliseconds="300"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:patient@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=patient 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <nop><action><exec rtp_stream="silence.ulaw,-1,0"/></action></nop>
"""
# The patient says nothing (AMD hears no speech: no machine), then uses the keypad.
PRESS = """  <pause milliseconds="{wait}"/>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
"""
BYE = """  <recv request="BYE" timeout="60000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
"""
BUSY = """  <recv request="ACK" crlf="true" timeout="10000"/>
</scenario>
"""


def keypress(digit: str, index: int, folder: Path) -> Path:
    """sip-tester's RFC 4733 capture of `digit`, as the `index`-th press of the call: its RTP
    sequence numbers and timestamps moved on, because the bridge takes a replay of the same
    event (same timestamp) for a retransmission and drops it (1 then 1 would arrive as one 1)."""
    data = bytearray((DTMF_PCAP_DIR / f"dtmf_2833_{digit}.pcap").read_bytes())
    offset, rtp = 24, 14 + 20 + 8  # pcap header; Ethernet + IPv4 + UDP before the RTP header
    while offset + 16 <= len(data):
        length = struct.unpack("<I", data[offset + 8 : offset + 12])[0]
        frame = offset + 16
        seq, stamp = struct.unpack("!HI", data[frame + rtp + 2 : frame + rtp + 8])
        shifted = ((seq + 1000 * index) & 0xFFFF, (stamp + 160_000 * index) & 0xFFFFFFFF)
        data[frame + rtp + 2 : frame + rtp + 8] = struct.pack("!HI", *shifted)
        data[frame + 14 + 20 + 6 : frame + 14 + 20 + 8] = b"\0\0"  # no UDP checksum
        offset = frame + length
    path = folder / f"press-{index}-{digit}.pcap"
    path.write_bytes(bytes(data))
    return path


def answering_scenario(folder: Path, *digits: str) -> str:
    presses = [
        PRESS.format(wait=wait, pcap=keypress(digit, index, folder))
        for index, (digit, wait) in enumerate(zip(digits, (13000, 9000), strict=False))
    ]
    ringing = RESPONSE.format(status="180 Ringing")
    return HEAD + ringing + ANSWER + "".join(presses) + BYE


def busy_scenario() -> str:
    return HEAD + RESPONSE.format(status="486 Busy Here") + BUSY


def voicemail_scenario() -> str:
    """A mailbox: answers, plays its greeting and the beep once (voicemail.ulaw), then records."""
    answered = ANSWER.replace("silence.ulaw,-1,0", "voicemail.ulaw,1,0")
    return HEAD + RESPONSE.format(status="180 Ringing") + answered + BYE


def write_voicemail_ulaw(folder: Path) -> float:
    """The mailbox's greeting, a 1 kHz beep, then 25 s of silence; returns when the beep ends."""
    greeting = write_speech_ulaw(GREETING, folder / "greeting.ulaw")
    beep = folder / "beep.ulaw"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", str(beep)]
        + ["synth", "0.5", "sine", "1000", "vol", "0.5"],
        check=True,
    )
    audio = greeting.read_bytes() + beep.read_bytes()
    (folder / "voicemail.ulaw").write_bytes(audio + bytes([ULAW_SILENCE]) * 8000 * 25)
    return len(audio) / 8000


def ringing_out_scenario() -> str:
    """Rings and is never picked up: the bridge gives up after the ringing timeout (CANCEL)."""
    cancel = """  <recv request="CANCEL" timeout="60000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
"""
    return HEAD + RESPONSE.format(status="180 Ringing") + cancel


GREETING = "Hi, you have reached Ann. Please leave a message after the tone."
AMD_PROMPT_START = "Task:\nClassify the call greeting transcript"


def providers(settings):  # noqa: ANN001, ANN201 - PROVIDER_FACTORY of the reminder worker
    """The e2e doubles, plus a model answering LiveKit's AMD the way a real one would: the
    greeting the STT double hears ("...leave a message after the tone") is a voicemail."""
    from receptionist.call.providers import Providers
    from tests.support.e2e_providers import EspeakTTS, HeardSTT, respond
    from tests.support.scripted_llm import Call, ScriptedLLM

    def answer(chat_ctx):  # noqa: ANN001, ANN202
        texts = [i.text_content or "" for i in chat_ctx.items if i.type == "message"]
        if texts and texts[0].startswith(AMD_PROMPT_START):
            heard = " ".join(texts[1:]).lower()
            label = "machine-vm" if "leave a message" in heard else "human"
            return Call("save_prediction", label=label)
        return respond(chat_ctx)

    return Providers(
        stt=HeardSTT(GREETING), llm=ScriptedLLM(then=answer), tts=EspeakTTS(), turn_detection="vad"
    )
