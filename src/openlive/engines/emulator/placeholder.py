"""The emulator's placeholder voice: audio for AUDIO replies when no speech synthesiser is
installed (the core install, CI).

Google's Live models answer in AUDIO only (session/models.py), so a scripted ``say:`` must
come out as speech: 24 kHz PCM16 mono (``audio/pcm;rate=24000``, the Live API's output
format), with the scripted text as its transcript. Without Piper (``openlive[local]``) the
audio is this documented signal, not speech:

* each letter or digit of the text is :data:`CHAR_SECONDS` of a quiet 250 Hz tone, every
  other character (spaces, punctuation) the same length of silence — so the audio's length
  follows the text (about 16 characters a second, a speaking pace) and words are audible as
  beeps;
* a turn's placeholder audio stops growing at :data:`MAX_TURN_SECONDS` (a 15 MiB echo must
  not become 250 hours of audio); the rest of the text still comes as transcript.

It is deterministic: the same text gives the same bytes, so recordings replay exactly.
"""

from __future__ import annotations

import math
import struct

RATE = 24_000
CHAR_SECONDS = 0.06
MAX_TURN_SECONDS = 600.0  # openlive's own cap per model turn (Google is silent)
_TONE_HZ = 250  # 96 samples a period at 24 kHz: a character holds 15 whole periods
_AMPLITUDE = 3_000  # about -21 dBFS: audible, not loud

_SAMPLES = round(RATE * CHAR_SECONDS)
_TONE = struct.pack(f"<{_SAMPLES}h", *(
    round(_AMPLITUDE * math.sin(2 * math.pi * _TONE_HZ * i / RATE)) for i in range(_SAMPLES)))
_SILENCE = bytes(2 * _SAMPLES)


def placeholder_pcm(text: str) -> bytes:
    """The placeholder audio of ``text``: PCM16 at :data:`RATE` Hz, ``CHAR_SECONDS`` a
    character (a tone for letters and digits, silence for the rest)."""
    return b"".join(_TONE if ch.isalnum() else _SILENCE for ch in text)


def seconds(pcm: bytes) -> float:
    return len(pcm) / (2 * RATE)


class PlaceholderBudget:
    """One model turn's placeholder audio, capped at :data:`MAX_TURN_SECONDS`."""

    def __init__(self, cap_seconds: float = MAX_TURN_SECONDS) -> None:
        self.left = int(cap_seconds / CHAR_SECONDS)  # characters of audio left

    def audio(self, text: str) -> bytes:
        """The audio for the next piece of text (shorter, or empty, past the cap)."""
        spoken = text[:max(self.left, 0)]
        self.left -= len(spoken)
        return placeholder_pcm(spoken)
