"""What an OpenAI-compatible server says of its model: the context window, and token counts.

Chat completions has no standard way to ask either, so each server's own endpoint is tried,
once per ``ServerProbe`` (a provider, so once a run), and the first that answers is kept:

* context window: llama.cpp's ``llama-server`` reports ``n_ctx`` at ``GET /props``; vLLM
  reports ``max_model_len`` for each model at ``GET /v1/models``;
* prompt tokens: vLLM's ``POST /tokenize`` takes the messages (its ``count`` includes the
  chat template); llama.cpp's ``llama-server`` ``POST /tokenize`` and ``llama-cpp-python``'s
  ``POST /extras/tokenize/count`` take text, so each turn gets ``TURN_OVERHEAD_TOKENS`` for
  its template.

Every probe is bounded by ``PROBE_TIMEOUT_S`` seconds; a server that answers none of them
gets ``None`` (the caller falls back to settings, or a bound).
"""

import threading
from typing import Any

import httpx2

from ecl_core.llm.windows import ModelLimits
from ecl_core.types import CompletionRequest
from ecl_core.usage.limits import TURN_OVERHEAD_TOKENS

__all__ = ["PROBE_TIMEOUT_S", "ServerProbe"]

PROBE_TIMEOUT_S = 5.0
_TOKENIZERS = ("vllm", "llama-server", "llama-cpp-python")


def _root(base_url: str) -> str:
    """The server root: the API root without its trailing ``/v1``."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


class ServerProbe:
    """Asks one OpenAI-compatible server about one model (module docstring).

    Args:
        base_url: The API root, with ``/v1``.
        api_key: Sent as a bearer token, as chat completions sends it; never logged.
        model: The model the server serves.
    """

    def __init__(self, *, base_url: str, api_key: str, model: str) -> None:
        self._base = base_url.rstrip("/")
        self._root = _root(base_url)
        self._model = model
        self._headers = {"authorization": f"Bearer {api_key}"}
        self._lock = threading.Lock()
        self._tokenizer: str | None = None
        self._tokenizer_known = False

    def limits(self) -> ModelLimits | None:
        """The window the server reports (``/props``, then ``/v1/models``), or None."""
        props = self._get(f"{self._root}/props")
        if isinstance(props, dict):
            settings = props.get("default_generation_settings")
            n_ctx = props.get("n_ctx") or (settings or {}).get("n_ctx")
            if isinstance(n_ctx, int) and n_ctx > 0:
                return ModelLimits(n_ctx, source="llama-server /props n_ctx")
        models = self._get(f"{self._base}/models")
        for entry in models.get("data", []) if isinstance(models, dict) else []:
            length = entry.get("max_model_len") if isinstance(entry, dict) else None
            if entry.get("id") == self._model and isinstance(length, int) and length > 0:
                return ModelLimits(length, source="/v1/models max_model_len")
        return None

    def count(self, request: CompletionRequest) -> int | None:
        """The prompt tokens of ``request`` by the server's tokenizer, or None if it has none."""
        with self._lock:
            known, tokenizer = self._tokenizer_known, self._tokenizer
        candidates = (tokenizer,) if known else _TOKENIZERS
        for name in candidates:
            if name is None:
                return None
            counted = self._count_with(name, request)
            if counted is not None:
                with self._lock:
                    self._tokenizer, self._tokenizer_known = name, True
                return counted
        with self._lock:
            self._tokenizer, self._tokenizer_known = None, True
        return None

    def _count_with(self, tokenizer: str, request: CompletionRequest) -> int | None:
        turns = [request.system, *(m.content for m in request.inlined_messages())]
        if tokenizer == "vllm":
            messages = [{"role": "system", "content": request.system}] + [
                {"role": m.role, "content": m.content} for m in request.inlined_messages()
            ]
            answer = self._post(f"{self._root}/tokenize",
                                {"model": self._model, "messages": messages})
            count = answer.get("count") if isinstance(answer, dict) else None
            return count if isinstance(count, int) else None
        overhead = TURN_OVERHEAD_TOKENS * len(turns)
        if tokenizer == "llama-server":
            answer = self._post(f"{self._root}/tokenize", {"content": "\n".join(turns)})
            tokens = answer.get("tokens") if isinstance(answer, dict) else None
            return len(tokens) + overhead if isinstance(tokens, list) else None
        answer = self._post(f"{self._root}/extras/tokenize/count",
                            {"input": "\n".join(turns), "model": self._model})
        count = answer.get("count") if isinstance(answer, dict) else None
        return count + overhead if isinstance(count, int) else None

    def _get(self, url: str) -> Any:
        return self._send("GET", url, None)

    def _post(self, url: str, body: dict[str, Any]) -> Any:
        return self._send("POST", url, body)

    def _send(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        try:
            response = httpx2.request(method, url, json=body, headers=self._headers,
                                      timeout=PROBE_TIMEOUT_S)
        except httpx2.HTTPError:
            return None
        if response.status_code != 200:
            return None
        try:
            return response.json()
        except ValueError:
            return None
