"""A local HTTP server that speaks the Anthropic Messages API, for tests over a real socket.

Tests script its replies (a success with text, an error status, a slow reply, a dropped
connection) and read back every request it received, headers and JSON body included.
A request with ``"stream": true`` gets the same scripted reply as Server-Sent Events in the
Messages API streaming format (``message_start`` ... ``message_stop``, chunked), which can
also fail mid-stream with an ``error`` event or a cut connection. A reply can also be a raw
body (a 200 that is not JSON), and ``echo_key_in_errors`` makes the server quote the API key
it received in every error message, as a careless proxy would.

Request bodies may use the API's block forms: ``system`` and a message's ``content`` are a
string or a list of text blocks (``{"type": "text", "text": ..., "cache_control": ...}``);
``system_text``, ``message_text`` and ``user_text`` read either form.

``POST /v1/messages/count_tokens`` answers ``{"input_tokens": N}`` by ``count_tokens``, the
server's own deterministic tokenizer (ceil(UTF-8 bytes / 4); not Claude's), summed over the
system text and each message's text. These requests go to ``count_requests``, not
``requests``, never consume a scripted reply, and answer ``count_tokens_status`` (an error
body when it is not 200).

Prompt caching is simulated for 200 answers: every prompt block (system blocks, then each
message's blocks, in order) with ``cache_control`` is a breakpoint, and its prefix (the texts
of the blocks up to it) is cached per model, with no expiry. A request reads the longest of
its prefixes already cached (``cache_read_input_tokens``) and creates the rest of its last
prefix (``cache_creation_input_tokens``, broken down by the last breakpoint's ``ttl``, 5m
unless "1h", in ``cache_creation``); ``input_tokens`` stays the scripted one. Streamed answers
report the same usage in ``message_start``, and ``Recorded.usage`` keeps what was sent.

With ``reject_structured_outputs`` a request carrying ``output_config.format`` gets the 400
of a proxy that does not know structured outputs, without consuming a scripted reply.
"""

import itertools
import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

STREAM_CHUNK_CHARS = 16  # characters of text per content_block_delta event


@dataclass
class Reply:
    """One scripted answer: text (200), an error status, a delay, or a dropped connection.

    ``stream_error`` (an error type such as ``overloaded_error``) and ``drop_mid_stream``
    only act on a streamed answer: after the first text delta the server sends that
    ``error`` event, or cuts the connection, instead of finishing the message.
    """

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
    stream_error: str = ""
    drop_mid_stream: bool = False
    raw_body: bytes | None = None  # sent as is, as application/json, instead of a message


def ok(text: str, **kwargs: Any) -> Reply:
    return Reply(text=text, **kwargs)


def error(status: int, message: str = "scripted error", **kwargs: Any) -> Reply:
    return Reply(status=status, message=message, **kwargs)


STRUCTURED_OUTPUTS_REJECTED = "output_config.format: Extra inputs are not permitted"


def count_tokens(text: str) -> int:
    """The server's own deterministic token count: ceil(UTF-8 bytes / 4). Not Claude's."""
    return math.ceil(len(text.encode("utf-8")) / 4)


def _blocks(content: Any) -> list[dict[str, Any]]:
    """A ``system`` or message ``content`` as text blocks: a string is one block."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if b.get("type") == "text"]


def _text(content: Any) -> str:
    return "\n\n".join(b["text"] for b in _blocks(content))


def system_text(body: dict[str, Any]) -> str:
    """The system prompt's text, string or blocks (joined by a blank line)."""
    return _text(body.get("system"))


def message_text(message: dict[str, Any]) -> str:
    """One message's text, string or blocks (joined by a blank line)."""
    return _text(message["content"])


def user_text(body: dict[str, Any]) -> str:
    """The text of every user message, one message per line."""
    return "\n".join(message_text(m) for m in body["messages"] if m["role"] == "user")


def input_token_count(body: dict[str, Any]) -> int:
    """What ``count_tokens`` answers: the system text's tokens plus each message's."""
    messages = body.get("messages", [])
    return count_tokens(system_text(body)) + sum(count_tokens(message_text(m)) for m in messages)


def _cache_usage(read: int = 0, created_5m: int = 0, created_1h: int = 0) -> dict[str, Any]:
    return {
        "cache_creation_input_tokens": created_5m + created_1h,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": created_5m,
            "ephemeral_1h_input_tokens": created_1h,
        },
    }


def _usage(reply: Reply, cache: dict[str, Any]) -> dict[str, Any]:
    return {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens, **cache}


def _message(
    reply: Reply, body: dict[str, Any], request_id: str, usage: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": f"msg_{request_id}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "unknown"),
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


_FINISH_REASONS = {"end_turn": "stop", "max_tokens": "length"}


def _chat_completion(reply: Reply, body: dict[str, Any], request_id: str) -> dict[str, Any]:
    """The reply as an OpenAI chat completion (``POST /v1/chat/completions``)."""
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "unknown"),
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": reply.text},
            "finish_reason": _FINISH_REASONS.get(reply.stop_reason, reply.stop_reason),
        }],
        "usage": {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        },
    }


def _chat_error(status: int, message: str) -> dict[str, Any]:
    """An error body as OpenAI-compatible servers send it."""
    kind = "rate_limit_exceeded" if status == 429 else ERROR_TYPES.get(status, "api_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _error_payload(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def _stream_events(
    reply: Reply, body: dict[str, Any], request_id: str, usage: dict[str, Any]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The events (name, data) of a streamed answer, as the Messages API sends them."""
    start = _message(reply, body, request_id, {**usage, "output_tokens": 1})
    start.update(content=[], stop_reason=None)
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    block = {"type": "text", "text": ""}
    yield "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
    text = reply.text
    chunks = [text[i : i + STREAM_CHUNK_CHARS] for i in range(0, len(text), STREAM_CHUNK_CHARS)]
    for chunk in chunks or [""]:  # one delta at least, where a scripted failure can happen
        delta = {"type": "text_delta", "text": chunk}
        yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    stop = {"stop_reason": reply.stop_reason, "stop_sequence": None}
    usage = {"output_tokens": reply.output_tokens}
    yield "message_delta", {"type": "message_delta", "delta": stop, "usage": usage}
    yield "message_stop", {"type": "message_stop"}


@dataclass
class Recorded:
    """A request as the server received it."""

    headers: dict[str, str]
    body: dict[str, Any]
    completed: bool = False
    received_at: float = field(default_factory=time.time)  # seconds since the epoch
    usage: dict[str, Any] | None = None  # the usage sent with a 200 message, as sent

    @property
    def user_text(self) -> str:
        return user_text(self.body)


class MessagesAPIServer:
    """Serves ``POST /v1/messages`` on 127.0.0.1 from a queue of scripted replies.

    When the queue is empty it answers with ``fallback`` if set, else with what
    ``responder(body)`` returns if set, else 500. With ``chat=True`` it speaks OpenAI's
    chat completions instead (``POST /v1/chat/completions``, not streamed): the same
    scripts, answered as chat completions and OpenAI-style error bodies.
    ``POST /v1/messages/count_tokens`` is answered apart (see the module docstring).
    """

    def __init__(self, chat: bool = False) -> None:
        self.requests: list[Recorded] = []
        self.count_requests: list[Recorded] = []  # POST /v1/messages/count_tokens
        self.count_tokens_status = 200
        self.reject_structured_outputs = False
        # (model, the texts of a breakpoint's prefix) -> their tokens; never expires
        self.prompt_cache: dict[tuple[str, tuple[str, ...]], int] = {}
        self._replies: list[Reply] = []
        self.fallback: Reply | None = None
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self.echo_key_in_errors = False
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests it was answering at one moment
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._answer()
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                recorded = Recorded({k.lower(): v for k, v in self.headers.items()}, body)
                if urlsplit(self.path).path.endswith("/count_tokens"):
                    self._count_tokens(recorded)
                    return
                output_format = (body.get("output_config") or {}).get("format")
                rejected = server.reject_structured_outputs and output_format is not None
                with server._lock:
                    server.requests.append(recorded)
                    if rejected:
                        reply: Reply | None = error(400, STRUCTURED_OUTPUTS_REJECTED)
                    else:
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
                if server.echo_key_in_errors:
                    key = recorded.headers.get("x-api-key") or recorded.headers.get(
                        "authorization", ""
                    )
                    reply = replace(reply, message=f"{reply.message} (credential: {key})")
                if reply.status == 200 and reply.raw_body is None and not chat:
                    recorded.usage = _usage(reply, server._use_prompt_cache(body))
                try:
                    if body.get("stream") and recorded.usage is not None:
                        recorded.completed = self._send_stream(
                            reply, body, request_id, recorded.usage
                        )
                    else:
                        self._send_json(reply, body, request_id, recorded.usage)
                        recorded.completed = reply.status == 200
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _count_tokens(self, recorded: Recorded) -> None:
                with server._lock:
                    server.count_requests.append(recorded)
                    status = server.count_tokens_status
                reply = Reply(status=status, message="scripted count_tokens error")
                if status == 200:
                    payload = {"input_tokens": input_token_count(recorded.body)}
                else:
                    payload = _error_payload(ERROR_TYPES.get(status, "api_error"), reply.message)
                request_id = f"req_test_{next(server._ids):04d}"
                self._send_payload(reply, request_id, payload)
                recorded.completed = status == 200

            def _send_head(self, reply: Reply, request_id: str, content_type: str) -> None:
                self.send_response(reply.status)
                self.send_header("content-type", content_type)
                self.send_header("x-request-id" if chat else "request-id", request_id)
                for name, value in reply.headers.items():
                    self.send_header(name, value)

            def _send_json(
                self,
                reply: Reply,
                body: dict[str, Any],
                request_id: str,
                usage: dict[str, Any] | None,
            ) -> None:
                if reply.raw_body is not None:
                    self._send_head(reply, request_id, "application/json")
                    self.send_header("content-length", str(len(reply.raw_body)))
                    self.end_headers()
                    self.wfile.write(reply.raw_body)
                    return
                if chat:
                    payload = (_chat_completion(reply, body, request_id) if reply.status == 200
                               else _chat_error(reply.status, reply.message))
                elif usage is not None:
                    payload = _message(reply, body, request_id, usage)
                else:
                    error_type = ERROR_TYPES.get(reply.status, "api_error")
                    payload = _error_payload(error_type, reply.message)
                self._send_payload(reply, request_id, payload)

            def _send_payload(
                self, reply: Reply, request_id: str, payload: dict[str, Any]
            ) -> None:
                data = json.dumps(payload).encode()
                self._send_head(reply, request_id, "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _send_stream(
                self, reply: Reply, body: dict[str, Any], request_id: str, usage: dict[str, Any]
            ) -> bool:
                """Write the reply as SSE in chunked encoding; True if it reached message_stop."""
                self._send_head(reply, request_id, "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for event, data in _stream_events(reply, body, request_id, usage):
                    self._write_event(event, data)
                    if event != "content_block_delta":
                        continue
                    if reply.drop_mid_stream:
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return False
                    if reply.stream_error:
                        message = reply.message or reply.stream_error
                        self._write_event("error", _error_payload(reply.stream_error, message))
                        self._write_chunk(b"")
                        return False
                self._write_chunk(b"")
                return True

            def _write_event(self, event: str, data: dict[str, Any]) -> None:
                self._write_chunk(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())

            def _write_chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def _use_prompt_cache(self, body: dict[str, Any]) -> dict[str, Any]:
        """The cache part of a 200 answer's usage; caches every breakpoint's prefix."""
        model = str(body.get("model", ""))
        blocks = _blocks(body.get("system")) + [
            b for m in body.get("messages", []) for b in _blocks(m["content"])
        ]
        texts = [b["text"] for b in blocks]
        breakpoints = [i for i, b in enumerate(blocks) if b.get("cache_control")]
        if not breakpoints:
            return _cache_usage()
        prefixes = {  # in order: the last one is the last breakpoint's
            (model, tuple(texts[: i + 1])): sum(count_tokens(t) for t in texts[: i + 1])
            for i in breakpoints
        }
        with self._lock:
            cached = [n for key, n in prefixes.items() if key in self.prompt_cache]
            self.prompt_cache.update(prefixes)
        read = max(cached, default=0)
        created = list(prefixes.values())[-1] - read
        if blocks[breakpoints[-1]]["cache_control"].get("ttl") == "1h":
            return _cache_usage(read, created_1h=created)
        return _cache_usage(read, created_5m=created)

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
