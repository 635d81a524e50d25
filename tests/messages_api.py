"""A local HTTP server that speaks the Anthropic Messages API, for tests over a real socket.

Tests script its replies (a success with text, an error status, a slow reply, a dropped
connection) and read back every request it received, headers and JSON body included.
"""

import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Reply:
    """One scripted answer: text (200), an error status, a delay, or a dropped connection."""

    text: str = ""
    status: int = 200
    stop_reason: str = "end_turn"
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False
    hold: threading.Event | None = None  # answer only once set (or the server stops)
    input_tokens: int = 11
    output_tokens: int = 7


def ok(text: str, **kwargs: Any) -> Reply:
    return Reply(text=text, **kwargs)


def error(status: int, message: str = "scripted error", **kwargs: Any) -> Reply:
    return Reply(status=status, message=message, **kwargs)


@dataclass
class Recorded:
    """A request as the server received it."""

    headers: dict[str, str]
    body: dict[str, Any]
    completed: bool = False

    @property
    def user_text(self) -> str:
        return "\n".join(m["content"] for m in self.body["messages"] if m["role"] == "user")


class MessagesAPIServer:
    """Serves ``POST /v1/messages`` on 127.0.0.1 from a queue of scripted replies.

    When the queue is empty it answers with ``fallback`` if set, else with what
    ``responder(body)`` returns if set, else 500.
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._replies: list[Reply] = []
        self.fallback: Reply | None = None
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                recorded = Recorded({k.lower(): v for k, v in self.headers.items()}, body)
                with server._lock:
                    server.requests.append(recorded)
                    reply = server._replies.pop(0) if server._replies else server.fallback
                    if reply is None and server.responder is not None:
                        reply = server.responder(body)
                reply = reply or error(500, "the test server has no scripted reply left")
                while reply.hold and not (reply.hold.is_set() or server._stopping.is_set()):
                    reply.hold.wait(0.05)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                request_id = f"req_test_{next(server._ids):04d}"
                if reply.status == 200:
                    payload: dict[str, Any] = {
                        "id": f"msg_{request_id}",
                        "type": "message",
                        "role": "assistant",
                        "model": body.get("model", "unknown"),
                        "content": [{"type": "text", "text": reply.text}],
                        "stop_reason": reply.stop_reason,
                        "stop_sequence": None,
                        "usage": {
                            "input_tokens": reply.input_tokens,
                            "output_tokens": reply.output_tokens,
                            "cache_creation_input_tokens": 0,
                            "cache_read_input_tokens": 0,
                        },
                    }
                else:
                    payload = {
                        "type": "error",
                        "error": {
                            "type": ERROR_TYPES.get(reply.status, "api_error"),
                            "message": reply.message,
                        },
                    }
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.send_header("request-id", request_id)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                    recorded.completed = reply.status == 200
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, replies: Iterable[Reply | str]) -> None:
        with self._lock:
            self._replies.extend(ok(r) if isinstance(r, str) else r for r in replies)

    def start(self) -> "MessagesAPIServer":
        self._thread.start()
        return self

    def wait_for_requests(self, count: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.requests)} of {count} requests arrived")
            time.sleep(0.05)

    def completed_bodies(self) -> list[str]:
        """The JSON bodies of the requests that got a 200 answer, in order."""
        return [json.dumps(r.body, sort_keys=True) for r in self.requests if r.completed]

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
