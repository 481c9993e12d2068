"""What the remote model stages share: :class:`BackendError`, and an OpenAI-compatible
client (the official ``openai`` package) with timeouts and retries.

The ``openai`` client retries a request that failed to connect, timed out or got HTTP 408,
409, 429 or 5xx, ``retries`` times, with exponential backoff and jitter (its
``max_retries``); anything else, or the last failure, becomes a :class:`BackendError` that
names the stage and the URL (never the key).
"""

from __future__ import annotations

import io
import wave
from typing import Any

from . import stage_metrics

DEFAULT_TIMEOUT = 30.0  # seconds for one request (the connection, and each read)
DEFAULT_RETRIES = 2


class BackendError(RuntimeError):
    """A model back end failed (the message names its stage and URL)."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


def openai_client(url: str, api_key: str | None, *, timeout: float = DEFAULT_TIMEOUT,
                  retries: int = DEFAULT_RETRIES) -> Any:
    """A synchronous ``openai.OpenAI`` for ``url`` (``http://host:port/v1``); call it from a
    worker thread."""
    try:
        import openai
    except ImportError:  # pragma: no cover - the local extra installs it
        raise BackendError("setup", "remote model stages need the openai package: "
                                    "pip install 'openlive[local]'") from None
    # a key-less server still gets a (meaningless) Bearer token: the client insists on one
    return openai.OpenAI(base_url=url.rstrip("/"), api_key=api_key or "none",
                         timeout=timeout, max_retries=retries)


def failed(stage: str, what: str, url: str, exc: BaseException) -> BackendError:
    """A :class:`BackendError` for ``exc`` (counted in the metrics)."""
    stage_metrics.backend_error(stage)
    status = getattr(exc, "status_code", None)
    detail = f"HTTP {status}" if status else type(exc).__name__
    message = str(getattr(exc, "message", "") or exc).splitlines()[0][:200] if str(exc) else ""
    return BackendError(stage, f"the {what} back end {url} failed: {detail}"
                               + (f": {message}" if message else ""))


def served_models(client: Any, stage: str, what: str, url: str) -> list[str]:
    """``GET {url}/models`` now, without retries: the model ids served, or a
    :class:`BackendError` saying why the back end cannot be used."""
    try:
        page = client.with_options(max_retries=0, timeout=5.0).models.list()
        return [str(m.id) for m in page.data]
    except Exception as exc:
        raise failed(stage, what, url, exc) from None


def wav_bytes(pcm: bytes, rate: int = 16_000) -> bytes:
    """Mono PCM16 as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()
