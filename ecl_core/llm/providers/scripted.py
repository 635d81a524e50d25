"""The scripted provider: replays canned responses, for tests and for reproducing a run."""

import json
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ecl_core.codebase.safe_read import read_user_file
from ecl_core.errors import ConfigError, PermanentLLMError, TransientLLMError, ValidationError
from ecl_core.types import CompletionRequest, CompletionResponse, TokenUsage

__all__ = ["ScriptedProvider"]

ScriptItem = str | Mapping[str, Any]
MAX_SCRIPT_BYTES = 16 * 1024 * 1024
"""The largest script file read, in bytes."""


class ScriptedProvider:
    """Answers each call with the next item of a script.

    An item is either the response text, or a mapping with ``text`` and optionally
    ``stop_reason``, ``input_tokens``, ``output_tokens`` and ``latency_ms`` (simulated
    time the call takes, in milliseconds); or a mapping with ``error``
    (``"transient"`` or ``"permanent"``), ``message`` and optionally ``status_code`` and
    ``retry_after_s``, which is raised instead of answering.

    Args:
        script: The items, in call order.
        model: The model name reported in responses.

    Attributes:
        requests: Every request received, in order.
    """

    name = "scripted"

    def __init__(self, script: Sequence[ScriptItem], *, model: str = "scripted") -> None:
        self.model = model
        self._script = list(script)
        self._lock = threading.Lock()
        self.requests: list[CompletionRequest] = []

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> "ScriptedProvider":
        """Load a script from a JSON file holding a list of items.

        The file is read by the one safe reader (``read_user_file``): a regular file of at
        most 16 MiB, not a symlink, so a FIFO or ``/dev/zero`` is refused at once instead of
        blocking the step or filling its memory.

        Raises:
            ConfigError: The file is missing, not a regular file, too large, not UTF-8, or
                not a JSON list.
        """
        try:
            items = json.loads(read_user_file(path, field="scripted_path",
                                              max_bytes=MAX_SCRIPT_BYTES))
        except ValidationError as err:
            raise ConfigError(f"cannot read scripted responses: {err}") from None
        except json.JSONDecodeError as err:
            raise ConfigError(f"cannot read scripted responses from {path}: {err}") from err
        if not isinstance(items, list):
            raise ConfigError(f"scripted responses in {path} must be a JSON list")
        return cls(items, **kwargs)

    def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Return (or raise) the next scripted item.

        Raises:
            ConfigError: The script has no item left for this call.
            TransientLLMError: The item says ``"error": "transient"``.
            PermanentLLMError: The item says ``"error": "permanent"``.
        """
        with self._lock:
            call_number = len(self.requests) + 1
            if call_number > len(self._script):
                raise ConfigError(
                    f"scripted provider has {len(self._script)} response(s); "
                    f"call {call_number} ({request.step or 'unnamed step'}) has none"
                )
            self.requests.append(request)
            item = self._script[call_number - 1]
        started = time.perf_counter()
        if isinstance(item, str):
            item = {"text": item}
        if item.get("latency_ms"):
            time.sleep(float(item["latency_ms"]) / 1000)
        if "error" in item:
            error_cls = TransientLLMError if item["error"] == "transient" else PermanentLLMError
            raise error_cls(
                str(item.get("message", "scripted failure")),
                status_code=item.get("status_code"),
                retry_after_s=item.get("retry_after_s"),
            )
        return CompletionResponse(
            text=str(item["text"]),
            usage=TokenUsage(
                input_tokens=int(item.get("input_tokens", 0)),
                output_tokens=int(item.get("output_tokens", 0)),
            ),
            stop_reason=item.get("stop_reason", "end_turn"),
            model=self.model,
            provider=self.name,
            request_id=f"scripted-{call_number}",
            latency_ms=(time.perf_counter() - started) * 1000,
        )
