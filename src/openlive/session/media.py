"""Rules for realtime media: what audio the session accepts, and how big a piece may be.

Input audio is 16-bit little-endian PCM, ``audio/pcm;rate=N`` (spec/protocol.md §3,
"Audio formats"); the rate parser is :func:`openlive.wire.pcm.pcm_rate`, the one PCM mime
parser of the package. Google is silent on the size of one chunk: the 60 s cap is
openlive's own, so one frame cannot hold more audio than a session can use.
"""

from __future__ import annotations

from ..wire.content import Blob
from ..wire.errors import LiveError
from ..wire.pcm import pcm_rate

# Every server message must stay under the Python SDK's 1 MiB frame limit
# (spec/sdk-wire.md §2). JSON is sent ASCII-escaped, where one character can take 12 bytes
# (an emoji as two \uXXXX escapes).
MAX_TEXT_PART = 64 * 1024
# Model audio goes out in pieces of at most this many PCM bytes (0.5 s at 24 kHz; about
# 32 KiB of base64 per message).
MAX_AUDIO_PART = 24_000
MAX_AUDIO_CHUNK_SECONDS = 60  # openlive's own cap on one input chunk (Google is silent)
# openlive's own cap on the audio of one activity (activityStart to activityEnd, manual
# VAD), which an engine keeps until activityEnd: 32 MiB, about 17 min at 16 kHz (longer than
# Google's 15-minute audio session). Google is silent on a limit; past it the session closes
# with 1009, the WebSocket code for "a message too big to process" (RFC 6455 §7.4.1).
MAX_ACTIVITY_AUDIO_BYTES = 32 * 1024 * 1024


def activity_audio(held: int, blob: Blob) -> int:
    """The audio bytes of the open activity after ``blob``; 1009 past the cap."""
    held += len(blob.data or b"")
    if held > MAX_ACTIVITY_AUDIO_BYTES:
        raise LiveError(1009, f"openlive: one activity holds at most "
                              f"{MAX_ACTIVITY_AUDIO_BYTES // (1024 * 1024)} MiB of audio: send "
                              "activityEnd sooner")
    return held


def media_kind(blob: Blob) -> str:
    """``video`` for images (camera or screen frames), else ``audio``."""
    return "video" if (blob.mime_type or "").startswith("image/") else "audio"


def check_audio(blob: Blob) -> int:
    """The sample rate of an input audio chunk that an engine will hear. Raises 1007 for
    audio that is not PCM, is not whole 16-bit samples, or is too long for one message."""
    rate = pcm_rate(blob.mime_type)
    size = len(blob.data or b"")
    if size % 2:
        raise LiveError(1007, f"Audio data of {size} bytes is not whole 16-bit PCM "
                              "samples (an odd byte count).")
    if size > rate * 2 * MAX_AUDIO_CHUNK_SECONDS:
        raise LiveError(1007, f"Audio chunk too large ({size} bytes): send at most "
                              f"{MAX_AUDIO_CHUNK_SECONDS} s of audio per message.")
    return rate


def text_pieces(text: str) -> list[str]:
    """Model text cut so each serverContent stays under the 1 MiB frame limit."""
    return [text[i:i + MAX_TEXT_PART] for i in range(0, max(len(text), 1), MAX_TEXT_PART)]


def audio_pieces(pcm: bytes) -> list[bytes]:
    """Model audio cut into whole samples of at most :data:`MAX_AUDIO_PART` bytes."""
    step = MAX_AUDIO_PART - MAX_AUDIO_PART % 2
    return [pcm[i:i + step] for i in range(0, len(pcm), step)]
