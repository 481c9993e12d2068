"""An OpenAI-compatible HTTP endpoint as openlive's stages call it — the LLM over HTTP
(:mod:`.audio.openai_llm`) and a vision model (:mod:`.vision.vlm`): the base URL, the JSON
and Bearer headers (the key is never logged), one aiohttp session opened at first use,
and the start-up check ``GET {url}/models``. Each stage names itself (``WHAT``) and its
error type (``ERROR``, built from one message) in the messages these raise."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, ClassVar

import aiohttp


class OpenAIEndpoint:
    WHAT: ClassVar[str] = "HTTP"  # "the {WHAT} endpoint … answered …"
    ERROR: ClassVar[Callable[[str], Exception]] = RuntimeError

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._session: aiohttp.ClientSession | None = None

    def check(self, timeout: float = 5.0) -> list[str]:
        """``GET {url}/models`` now (blocking, at server start): the model ids served.
        Raises ``ERROR`` when the endpoint cannot be reached or refuses."""
        req = urllib.request.Request(self.url + "/models", headers=self._headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - user's URL
                body = json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise self.ERROR(f"the {self.WHAT} endpoint {self.url} answered GET /models "
                             f"with HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise self.ERROR(f"cannot reach the {self.WHAT} endpoint {self.url}: "
                             f"{reason}") from None
        data = body.get("data") or body.get("models") or []
        return [str(m.get("id") or m.get("model") or m.get("name")) for m in data
                if isinstance(m, dict)]

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _with_model(self, body: dict[str, Any], model: str | None) -> dict[str, Any]:
        if model:
            body["model"] = model
        return body
