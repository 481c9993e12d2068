"""A session that will speak or listen starts loading the speech models at once (in the
background), so that the first utterance of `openlive serve`'s emulator does not wait."""

from __future__ import annotations

from live_client import MODEL
from openlive.engines.audio.voice_models import VoiceModels
from openlive.engines.emulator import EmulatorEngine
from openlive.wire.setup import Setup


def setup(**fields) -> Setup:
    return Setup.model_validate({"model": MODEL, **fields})


def test_text_sessions_load_nothing_and_audio_sessions_preload():
    voice = VoiceModels()
    engine = EmulatorEngine(voice=voice)
    engine.open_session(setup(generationConfig={"responseModalities": ["TEXT"]}), MODEL)
    assert voice._preload is None and voice._transcriber is None
    engine.open_session(setup(generationConfig={"responseModalities": ["AUDIO"]}), MODEL)
    preload = voice._preload
    assert preload is not None
    engine.open_session(setup(inputAudioTranscription={}), MODEL)
    assert voice._preload is preload  # once
    preload.join(timeout=120)
    assert not preload.is_alive()
    assert voice._transcriber is not None and voice._synthesizer is not None
