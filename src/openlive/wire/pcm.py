"""The one PCM mime type parser: ``audio/pcm[;rate=N]`` (spec/protocol.md §3, "Audio
formats"). The session core refuses other audio with it; observers (the recorder, the
replay) read audio with :func:`pcm_rate_or_none`, so that every part of openlive hears the
same audio at the same rate. No I/O."""

from __future__ import annotations

import functools

from .errors import LiveError

# Input audio: `audio/pcm;rate=N` with N in this range.
PCM_RATES = (8_000, 192_000)


@functools.lru_cache(maxsize=256)  # every audio chunk asks; a client sends one or two types
def pcm_rate(mime_type: str | None, *, default: int = 16_000) -> int:
    """The sample rate of ``audio/pcm[;rate=N]`` input (16 kHz when not given; a missing mime
    type counts as 16 kHz PCM). Anything else is refused with 1007. ``default``: the rate
    when none is named (24 kHz for the model's output audio)."""
    if not mime_type:
        return default
    kind, _, params = mime_type.partition(";")
    if kind.strip().lower() not in ("audio/pcm", "audio/l16"):
        raise LiveError(1007, f"Unsupported audio mime type {mime_type!r}: send "
                              "16-bit little-endian PCM as 'audio/pcm;rate=N'.")
    rate = default
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "rate":
            try:
                rate = int(value.strip())
            except ValueError:
                raise LiveError(1007, f"Invalid audio sample rate in {mime_type!r}.") from None
    if not PCM_RATES[0] <= rate <= PCM_RATES[1]:
        raise LiveError(1007, f"Unsupported audio sample rate {rate} in {mime_type!r}: "
                              f"use {PCM_RATES[0]}..{PCM_RATES[1]} Hz.")
    return rate


def pcm_rate_or_none(mime_type: str | None, *, default: int = 16_000) -> int | None:
    """:func:`pcm_rate` for observers: None where the session core would refuse the audio."""
    try:
        return pcm_rate(mime_type, default=default)
    except LiveError:
        return None
