"""A real OTLP/HTTP trace receiver for tests: a small HTTP server that keeps every export request.

The worker's exporter (opentelemetry-exporter-otlp-proto-http) POSTs protobuf
`ExportTraceServiceRequest`s to `/v1/traces`; this server answers as a collector does and keeps
the bodies, which `spans` decodes with opentelemetry-proto. In-process (`OtlpReceiver`, on
loopback) for conversation tests; as a program (`python -m tests.support.otlp HOST PORT FOLDER`,
one file per request) inside an e2e stack's network namespace, where the worker can reach it.
"""

from __future__ import annotations

import gzip
import sys
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    attributes: dict[str, object]
    events: list[tuple[str, dict[str, object]]]
    status_message: str
    resource: dict[str, object]

    def texts(self) -> Iterator[str]:
        """Every text the span carries: its name, keys, values, events, status, resource."""
        yield self.name
        yield self.status_message
        for mapping in (self.attributes, self.resource, *(attrs for _, attrs in self.events)):
            for key, value in mapping.items():
                yield key
                yield from _texts(value)
        for name, _ in self.events:
            yield name


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _texts(item)
    elif isinstance(value, bytes):
        yield value.decode("utf-8", errors="replace")


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind) if kind else None


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, object]:
    return {pair.key: _value(pair.value) for pair in pairs}


def spans(bodies: Iterable[bytes]) -> list[ReceivedSpan]:
    """The spans in a sequence of export request bodies (already decompressed)."""
    found = []
    for body in bodies:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    found.append(
                        ReceivedSpan(
                            name=span.name,
                            attributes=_attributes(span.attributes),
                            events=[(e.name, _attributes(e.attributes)) for e in span.events],
                            status_message=span.status.message,
                            resource=resource,
                        )
                    )
    return found


def _decoded(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


class OtlpReceiver:
    """An OTLP/HTTP collector on `host` (an ephemeral port): `endpoint` is its base address."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, folder: Path | None = None) -> None:
        self.bodies: list[bytes] = []
        self.folder = folder
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                body = _decoded(self.rfile.read(length), self.headers.get("Content-Encoding", ""))
                if self.path != TRACES_PATH:
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.keep(body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def keep(self, body: bytes) -> None:
        with self._lock:
            self.bodies.append(body)
            if self.folder is not None:
                (self.folder / f"{len(self.bodies):05d}.pb").write_bytes(body)

    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return spans(list(self.bodies))

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def spans_in(folder: Path) -> list[ReceivedSpan]:
    """The spans a receiver program wrote to `folder`."""
    return spans(path.read_bytes() for path in sorted(folder.glob("*.pb")))


def main(argv: list[str]) -> None:
    host, port, folder = argv[0], int(argv[1]), Path(argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    with OtlpReceiver(host, port, folder) as receiver:
        print("ready", receiver.endpoint, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
