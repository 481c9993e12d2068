"""A session that will speak or listen starts loading the speech models at once (in the
background), so that the first reply or utterance of `openlive serve`'s emulator does not
wait; one that only speaks loads only speech synthesis (Whisper waits for audio, and a
server stopping soon after does not wait for it)."""

from __future__ import annotations

from live_client import MODEL
from openlive.engines.audio.voice_models import VoiceModels
from openlive.engines.emulator import EmulatorEngine
from openlive.wire.setup import Setup


def setup(**fields) -> Setup:
    return Setup.model_validate({"model": MODEL, **fields})


def test_text_sessions_load_nothing_speaking_ones_synthesis_listening_ones_both():
    voice = VoiceModels()
    engine = EmulatorEngine(voice=voice)
    # a TEXT reply on a gemini model is refused by the core before any engine sees it;
    # the engine's own rule is what is checked here
    engine.open_session(setup(generationConfig={"responseModalities": ["TEXT"]}), MODEL)
    assert voice._preload is None and voice._transcriber is None
    engine.open_session(setup(generationConfig={"responseModalities": ["AUDIO"]}), MODEL)
    speaking = voice._preload
    assert speaking is not None
    speaking.join(timeout=120)
    assert voice._synthesizer is not None and voice._transcriber is None
    engine.open_session(setup(), MODEL)  # AUDIO by default: already loaded, no new thread
    assert voice._preload is speaking
    engine.open_session(setup(inputAudioTranscription={}), MODEL)
    hearing = voice._preload
    assert hearing is not speaking
    engine.open_session(setup(inputAudioTranscription={}), MODEL)
    assert voice._preload is hearing  # once
    hearing.join(timeout=120)
    assert voice._transcriber is not None
