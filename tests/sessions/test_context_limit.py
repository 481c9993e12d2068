"""A conversation larger than the model's input token limit, over a real WebSocket: without
contextWindowCompression the session closes with 1007 and Google's REST wording for it
(session/history.py cites both); another session on the server goes on (issue 13: 40 turns
of 15 MiB grew one session to a 157-million-token prompt, never refused)."""

from __future__ import annotations

import asyncio

from live_client import ServeProcess, closed_with, open_live, send, setup
from openlive.session.models import GEMINI_LIVE_MODELS, profile

MODEL = "models/" + GEMINI_LIVE_MODELS[0]  # a Google model: its input token limit applies


async def test_a_context_past_the_models_window_closes_only_that_session() -> None:
    window = profile(MODEL).input_token_limit  # type: ignore[union-attr]
    big = "x" * (window * 4 // 2 + 8)  # about half the window each, at 4 characters a token
    async with asyncio.timeout(60):
        async with ServeProcess() as server:
            other = await open_live(server)
            await setup(other, model=MODEL)
            ws = await open_live(server)
            await setup(ws, model=MODEL)
            for _ in range(2):
                await send(ws, {"clientContent": {"turns": [
                    {"role": "user", "parts": [{"text": big}]}], "turnComplete": False}})
            code, reason = await closed_with(ws, timeout=30)
            assert code == 1007
            assert reason.startswith("The input token count (")
            assert "exceeds the maximum number of tokens allowed" in reason
            await send(other, {"realtimeInput": {"audioStreamEnd": True}})
            await other.close()
            assert other.close_code == 1000  # closed by us, not by the server
