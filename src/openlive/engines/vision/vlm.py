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
import logging
from typing import Any

import aiohttp

from ..http_endpoint import OpenAIEndpoint
from .description import Description

log = logging.getLogger("openlive.vision")

INSTRUCTION = ("You describe one frame of a user's camera or shared screen for an assistant "
               "that cannot see it. Say what is there in two or three sentences: the main "
               "objects and people with rough positions, and any text exactly as written. "
               "Then answer the user's words below if they ask about the picture.")


class VisionModelError(RuntimeError):
    """The endpoint failed or cannot be reached (the message names the URL, never a key)."""


class VisionModel(OpenAIEndpoint):
    WHAT = "vision"
    ERROR = VisionModelError

    def __init__(self, url: str, *, model: str | None = None, api_key: str | None = None,
                 max_tokens: int = 160, timeout: float = 60.0) -> None:
        super().__init__(url, api_key=api_key, timeout=timeout)
        self.model = model
        self.max_tokens = max_tokens

    def describe_where(self) -> str:
        return f"vision model at {self.url}" + (f" ({self.model})" if self.model else "")

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
        return self._with_model(body, self.model)

    async def describe(self, jpeg: bytes, user_text: str, *, received_at: float,
                       mime: str = "image/jpeg") -> Description:
        """The vision model's description of one frame (raises :class:`VisionModelError`)."""
        url = self.url + "/chat/completions"
        try:
            async with self._client().post(url, json=self.request_body(jpeg, user_text, mime)
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

