"""The staff app on a real socket: uvicorn on 127.0.0.1 (a free port), lifespan and all.

For tests that need a real server rather than the ASGI transport: the lifespan's background
tasks (the notification sender), and browsers (Playwright) that must connect to an address.

    async with live_server(create_app(settings, store=store, directory=d)) as base_url:
        ...   # http://127.0.0.1:<port>
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

START_TIMEOUT_S = 10.0


@asynccontextmanager
async def live_server(app: FastAPI, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serves `app` in this event loop until the block ends; yields its base URL."""
    config = uvicorn.Config(app, host=host, port=0, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(), name="live-server")
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not server.started:
                if serving.done():
                    serving.result()  # raises what stopped it
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await serving
