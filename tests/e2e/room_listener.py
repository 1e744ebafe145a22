"""A hidden listener in the next call's room: which data-stream topics reach other participants.

Notes the rooms there are, prints `ready`, waits for a new room whose name starts with PREFIX,
joins it as a hidden participant and counts the byte and text streams that arrive, by topic,
until the room closes or SECONDS pass. Run inside the stack's namespace with
LIVEKIT_* set; prints `ready`, then one line of JSON:

    python room_listener.py PREFIX SECONDS   # {"room": "...", "topics": {"lk.transcription": 4}}
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter

from livekit import api, rtc

# The topics LiveKit's agents publish on; handlers must be registered by name to be counted.
TOPICS = ("lk.agent.session", "lk.transcription", "lk.chat", "lk.agent.events")


async def next_room(prefix: str, seconds: float) -> str:
    async with api.LiveKitAPI() as lk:

        async def names() -> set[str]:
            rooms = (await lk.room.list_rooms(api.ListRoomsRequest())).rooms
            return {r.name for r in rooms if r.name.startswith(prefix)}

        before = await names()
        print("ready", flush=True)
        for _ in range(int(seconds * 10)):
            if found := await names() - before:
                return found.pop()
            await asyncio.sleep(0.1)
    raise SystemExit(f"no new room starting with {prefix!r} within {seconds:.0f} s")


async def listen(prefix: str, seconds: float) -> dict:
    name = await next_room(prefix, seconds)
    token = (
        api.AccessToken(os.environ["LIVEKIT_API_KEY"], os.environ["LIVEKIT_API_SECRET"])
        .with_identity("e2e-listener")
        .with_grants(api.VideoGrants(room_join=True, room=name, hidden=True))
        .to_jwt()
    )
    room = rtc.Room()
    topics: Counter[str] = Counter()
    for topic in TOPICS:
        room.register_byte_stream_handler(topic, lambda _r, _p, t=topic: topics.update([t]))
        room.register_text_stream_handler(topic, lambda _r, _p, t=topic: topics.update([t]))
    over = asyncio.Event()  # the agent deletes the room when the call ends
    room.on("disconnected", lambda *_: over.set())
    await room.connect(os.environ["LIVEKIT_URL"], token)
    try:
        await asyncio.wait_for(over.wait(), timeout=seconds)
    except TimeoutError:
        pass
    finally:
        await room.disconnect()
    return {"room": name, "topics": dict(topics)}


if __name__ == "__main__":
    prefix, seconds = sys.argv[1], float(sys.argv[2])
    print(json.dumps(asyncio.run(listen(prefix, seconds))))
