"""Barge-in keeps in the history only what the user could have heard: SpeakingTurn (real
Piper) sends each clause's transcript when its audio starts playing, into the real session
core, which an interruption then closes."""

from __future__ import annotations

import asyncio
import json

from openlive.engines.audio.speaking import SpeakingTurn
from openlive.engines.audio.voice_models import VoiceModels
from openlive.session import SessionCore
from openlive.wire.server_messages import ServerMessage
from session.harness import MODEL  # tests/session/harness.py


class CoreTurn:
    """The engine's Turn straight onto a SessionCore (what the server's turn does, no I/O)."""

    def __init__(self, session: SessionCore, turn_id: int) -> None:
        self.session, self.turn_id = session, turn_id
        self.setup, self.history, self.user = session.setup, list(session.history), None

    async def send_text(self, text: str) -> None:
        self.session.model_text(self.turn_id, text)

    async def send_audio(self, pcm: bytes, rate: int = 24_000, transcript: str | None = None):
        self.session.model_audio(self.turn_id, pcm, rate, transcript)

    async def generation_complete(self) -> None:
        self.session.generation_complete(self.turn_id)

    async def complete(self, usage=None) -> None:
        self.session.complete_turn(self.turn_id, usage)


class Presynthesized:
    """Piper's voice with each clause of ``text`` made in advance, so the turn's synthesis
    takes no time whatever the machine's load: on a busy machine Piper can take longer than
    the first clause plays, and the next clause's transcript then (rightly) goes out at once."""

    def __init__(self, synth, text: str) -> None:
        from openlive.engines.audio.speaking import FIRST_CLAUSE_MIN_CHARS
        from openlive.engines.audio.tts import ClauseSplitter, speakable

        splitter = ClauseSplitter(first_soft_min_chars=FIRST_CLAUSE_MIN_CHARS)
        clauses = [speakable(c) for c in [*splitter.feed(text), *splitter.flush()]]
        self.output_rate = getattr(synth, "output_rate", 24_000)
        self.pcm = {c: b"".join(synth.synthesize(c)) for c in clauses if c}

    def synthesize(self, clause: str, *, due: float | None = None) -> list[bytes]:
        return [self.pcm[clause]]


def sent(messages: list[ServerMessage], key: str) -> list:
    out = []
    for m in messages:
        sc = m.server_content
        if sc is not None and getattr(sc, key, None):
            out.append(getattr(sc, key))
    return out


async def test_interrupted_history_holds_only_clauses_that_began_playing():
    session = SessionCore()
    session.receive_frame(json.dumps({"setup": {
        "model": MODEL, "outputAudioTranscription": {},
        "generationConfig": {"responseModalities": ["AUDIO"]}}}))
    session.user_speech("Tell me about Paris.")
    (ready,) = [e for e in session.events_received() if type(e).__name__ == "TurnReady"]
    text = ("Paris is the capital of France, with about two million people. "
            "It lies on the river Seine. The Eiffel Tower was built in 1889. "
            "Its museums hold famous paintings.")
    synth = await asyncio.to_thread(VoiceModels.shared().synthesizer)
    synth = await asyncio.to_thread(Presynthesized, synth, text)
    turn = SpeakingTurn(CoreTurn(session, ready.turn_id), synth)
    await turn.send_text(text)  # all four clauses synthesized and their audio sent
    outbox = session.messages_to_send()
    audio = [p for m in outbox if m.server_content and m.server_content.model_turn
             for p in m.server_content.model_turn.parts if p.inline_data is not None]
    assert sum(len(p.inline_data.data) for p in audio) / 48_000 > 4  # seconds queued
    said = [t.text for t in sent(outbox, "output_transcription")]
    assert said == ["Paris is the capital of France,"]  # the first clause plays at once
    await asyncio.sleep(0.2)
    session.speech_started()  # the user speaks during the first clause's playback
    outbox += session.messages_to_send()
    assert sent(outbox, "interrupted")
    model = [c for c in session.history if c.role == "model"]
    assert len(model) == 1 and model[0].text() == said[0]
    await asyncio.sleep(0.05)  # the pacer's later transcripts are dropped: turn is over
    outbox += session.messages_to_send()
    assert [t.text for t in sent(outbox, "output_transcription")] == said
    turn._pacer.cancel()
