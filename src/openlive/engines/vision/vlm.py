"""A real vision model behind an OpenAI-compatible chat-completions endpoint (``--vlm-url``):
llama.cpp's ``llama-server`` with a vision projector (``--mmproj``), vLLM, Ollama.

For a turn that has a frame, :meth:`VisionModel.describe` sends the latest frame as an
``image_url`` content part (a ``data:image/jpeg;base64,…`` URL, the form all three servers
take) beside the user's words, and returns the model's answer as a
:class:`~.description.Description` with a ``caption``; the local engine's own LLM then
answers the user with that description in its context, as it does with the detectors' one.
The API key (``--vlm-api-key-env``) is sent as a Bearer token and never logged.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from typing import Any

import aiohttp

from .description import Description

log = logging.getLogger("openlive.vision")

INSTRUCTION = ("You describe one frame of a user's camera or shared screen for an assistant "
               "that cannot see it. Say what is there in two or three sentences: the main "
               "objects and people with rough positions, and any text exactly as written. "
               "Then answer the user's words below if they ask about the picture.")


class VisionModelError(RuntimeError):
    """The endpoint failed or cannot be reached (the message names the URL, never a key)."""


class VisionModel:
    def __init__(self, url: str, *, model: str | None = None, api_key: str | None = None,
                 max_tokens: int = 160, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.max_tokens = max_tokens
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._session: aiohttp.ClientSession | None = None

    def describe_where(self) -> str:
        return f"vision model at {self.url}" + (f" ({self.model})" if self.model else "")

    def check(self, timeout: float = 5.0) -> list[str]:
        """``GET {url}/models`` now (blocking, at server start): the model ids served."""
        req = urllib.request.Request(self.url + "/models", headers=self._headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - user's URL
                body = json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise VisionModelError(f"the vision endpoint {self.url} answered GET /models "
                                   f"with HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise VisionModelError(f"cannot reach the vision endpoint {self.url}: "
                                   f"{reason}") from None
        data = body.get("data") or body.get("models") or []
        return [str(m.get("id") or m.get("model") or m.get("name")) for m in data
                if isinstance(m, dict)]

    def request_body(self, jpeg: bytes, user_text: str, mime: str = "image/jpeg"
                     ) -> dict[str, Any]:
        image = f"data:{mime};base64,{base64.b64encode(jpeg).decode()}"
        body: dict[str, Any] = {
            "messages": [
                {"role": "system", "content": INSTRUCTION},
                {"role": "user", "content": [
                    {"type": "text", "text": f"The user said: {user_text or '(nothing yet)'}"},
                    {"type": "image_url", "image_url": {"url": image}},
                ]},
            ],
            "max_tokens": self.max_tokens,
            "temperature": 0,
            "stream": False,
        }
        if self.model:
            body["model"] = self.model
        return body

    async def describe(self, jpeg: bytes, user_text: str, *, received_at: float,
                       mime: str = "image/jpeg") -> Description:
        """The vision model's description of one frame (raises :class:`VisionModelError`)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=self.timeout))
        url = self.url + "/chat/completions"
        try:
            async with self._session.post(url, json=self.request_body(jpeg, user_text, mime)
                                          ) as r:
                if r.status != 200:
                    raise VisionModelError(f"the vision endpoint {url} answered HTTP "
                                           f"{r.status}: {(await r.text())[:200]}")
                body = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise VisionModelError(f"the vision endpoint {url} failed: "
                                   f"{type(exc).__name__}: {exc}") from None
        try:
            caption = str(body["choices"][0]["message"]["content"] or "").strip()
        except (KeyError, IndexError, TypeError):
            raise VisionModelError(f"the vision endpoint {url} sent no choices[0].message"
                                   ) from None
        return Description(received_at=received_at, width=0, height=0,
                           source=self.describe_where(), caption=caption)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
