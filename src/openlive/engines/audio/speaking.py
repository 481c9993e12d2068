"""A model turn spoken aloud (:class:`SpeakingTurn`): TTS clauses, pacing, and the turn held
open while its audio plays.

It wraps an engine's :class:`~openlive.engines.base.Turn`: text is cut into clauses and
spoken (24 kHz PCM16) as it streams; the turn stays open until its audio would have
finished playing, so speaking over it interrupts it, as on Google's service
(``generationComplete`` once the last clause plays, ``turnComplete`` after playback); each
clause's transcript enters the history when its audio starts playing.

Protocol rules stay in the session core; this module only calls models and reports.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from typing import Any

from ...wire.content import FunctionCall, FunctionResponse
from ...wire.server_messages import ServerContent, UsageMetadata
from ..base import Turn
from . import stage_metrics

FIRST_CLAUSE_MIN_CHARS = 1  # the reply starts speaking at its first comma
FIRST_CLAUSE_MAX_WORDS = 6  # or after its first six words (tts.ClauseSplitter)
PLAYBACK_SLACK_S = 0.05  # a clause due to play this soon goes out with its transcript


class SpeakingTurn:
    """A :class:`~openlive.engines.base.Turn` whose text is spoken: the engine streams text
    as usual; each complete clause is synthesized (in a thread) and sent as 24 kHz audio
    with its transcript. ``complete`` waits for the playback time before turnComplete.

    Audio goes out as soon as it is made, but each clause's transcript (which the session
    keeps in the history, and sends as outputTranscription) goes out when that clause's
    audio starts playing on the playback clock (the client plays what it receives at once,
    in order). So when the user barges in, the history holds the clauses the user had
    begun to hear, not the ones still queued; generationComplete follows the last one.
    """

    def __init__(self, turn: Turn, synthesizer: Any, *,
                 clock: Callable[[], float] = time.monotonic,
                 transcript_as_written: bool = False) -> None:
        """``transcript_as_written``: each clause's transcript is its text as the engine
        wrote it (the emulator: a script's exact words), not the spoken form (Markdown
        markup dropped, which suits an LLM's replies)."""
        from .tts import ClauseSplitter

        self._turn = turn
        self._synth = synthesizer
        self._clock = clock
        self._as_written = transcript_as_written
        self._splitter = ClauseSplitter(first_soft_min_chars=FIRST_CLAUSE_MIN_CHARS,
                                        first_max_words=FIRST_CLAUSE_MAX_WORDS)
        self._play_end = 0.0  # when the audio sent so far ends playing (clock time)
        self._spoken = 0
        self._pending: collections.deque[tuple[float, int, str]] = collections.deque()
        self._pacer: asyncio.Task[None] | None = None
        self.audio_seconds = 0.0
        self._started = clock()  # until the first audio goes out (stage_metrics.FIRST_AUDIO)
        #: what makes the text (``hold()``, ``release()``), held while the first clause is
        #: synthesized so that the synthesis has the cores (local.answer_stream)
        self.first_clause_hold: Any = None
        self.turn_id = turn.turn_id
        self.setup = turn.setup
        self.history = turn.history
        self.user = turn.user

    async def send_text(self, text: str) -> None:
        for clause in self._splitter.feed(text):
            await self._speak(clause)

    async def _flush(self) -> None:
        for clause in self._splitter.flush():
            await self._speak(clause)
        await self._drain()

    async def _speak(self, clause: str) -> None:
        from .tts import speakable

        written, clause = clause, speakable(clause)
        if not clause:
            return
        synth = self._synth
        # needed when what was sent before it has played (the first clause: now)
        due = time.monotonic() + max(0.0, self._play_end - self._clock())
        hold = self.first_clause_hold if not self._spoken else None
        if hold is not None:
            hold.hold()
        try:
            pcm = await asyncio.to_thread(lambda: b"".join(synth.synthesize(clause, due=due)))
        finally:
            if hold is not None:
                hold.release()
        if self._as_written:
            clause = written
        if not pcm:
            return
        rate = int(getattr(synth, "output_rate", 24_000))
        if not self._spoken:
            stage_metrics.stage(stage_metrics.FIRST_AUDIO, self._clock() - self._started)
        transcript = clause if not self._spoken else " " + clause
        self._spoken += 1
        seconds = len(pcm) / (2 * rate)
        self.audio_seconds += seconds
        now = self._clock()
        start = max(self._play_end, now)
        self._play_end = start + seconds
        if start - now <= PLAYBACK_SLACK_S and not self._pending:
            await self._turn.send_audio(pcm, rate, transcript)
            return
        await self._turn.send_audio(pcm, rate, None)
        self._pending.append((start, rate, transcript))
        if self._pacer is None or self._pacer.done():
            self._pacer = asyncio.get_running_loop().create_task(self._pace())

    async def _pace(self) -> None:
        """Send each queued transcript when its clause starts playing."""
        while self._pending:
            start, rate, transcript = self._pending[0]
            wait = start - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self._pending.popleft()
            await self._turn.send_audio(b"", rate, transcript)

    async def _drain(self) -> None:
        if self._pacer is not None:
            try:
                await asyncio.shield(self._pacer)
            except asyncio.CancelledError:
                self._pacer.cancel()
                raise

    async def send_audio(self, pcm: bytes, rate: int = 24_000,
                         transcript: str | None = None) -> None:
        await self._turn.send_audio(pcm, rate, transcript)

    async def generation_complete(self) -> None:
        await self._flush()
        await self._turn.generation_complete()

    async def call_tools(self, calls: list[FunctionCall]) -> list[FunctionResponse]:
        await self._flush()
        return await self._turn.call_tools(calls)

    async def send_event(self, content: ServerContent) -> None:
        await self._turn.send_event(content)

    async def send_raw(self, message: dict[str, Any]) -> None:
        await self._turn.send_raw(message)

    async def complete(self, usage: UsageMetadata | None = None, **fields: Any) -> None:
        await self._flush()  # the last transcript goes out when its clause starts playing
        await self._turn.generation_complete()
        wait = self._play_end - self._clock()
        if wait > 0:  # the turn stays open while its audio plays: speech interrupts it
            await asyncio.sleep(wait)
        await self._turn.complete(usage, **fields)

    async def go_away(self, time_left: str) -> None:
        await self._turn.go_away(time_left)

    async def close(self, code: int, reason: str) -> None:
        await self._turn.close(code, reason)
