"""Audio for the Live API: audio files in (WAV, FLAC, OGG, MP3), WAV out, resampling (soxr)
and PCM16 helpers.

The Live API takes raw 16-bit little-endian mono PCM, natively at 16 kHz
(``audio/pcm;rate=16000``), and answers with 24 kHz PCM (``audio/pcm;rate=24000``).
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soxr

from ..wire.pcm import pcm_rate_or_none

INPUT_RATE = 16000
OUTPUT_RATE = 24000
INPUT_MIME = f"audio/pcm;rate={INPUT_RATE}"


class AudioError(ValueError):
    """An audio file or buffer that cannot be used; the message says why."""


def mime_rate(mime_type: str | None, default: int = OUTPUT_RATE) -> int:
    """``audio/pcm;rate=24000`` -> 24000 (by the one PCM mime parser, :mod:`openlive.wire.pcm`;
    ``default`` for a missing or unreadable rate)."""
    return pcm_rate_or_none(mime_type, default=default) or default


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """An audio file as float32 samples in [-1, 1], shape (frames, channels), and its rate:
    WAV of any kind (integer or float PCM, WAVE_FORMAT_EXTENSIBLE), FLAC, OGG/Vorbis/Opus,
    MP3 — whatever libsndfile reads (the ``soundfile`` wheel bundles it)."""
    import soundfile

    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        if not Path(path).exists():
            raise AudioError(f"{path}: no such file") from None
        raise AudioError(f"{path}: not an audio file this reader knows (WAV, FLAC, OGG, MP3): "
                         f"{exc}") from None
    if samples.shape[1] < 1 or rate < 1:
        raise AudioError(f"{path}: no audio in it")
    return samples, int(rate)


read_wav = read_audio  # the name before FLAC, OGG and MP3 were read too


def pcm_to_float(raw: bytes, width: int = 2) -> np.ndarray:
    """Integer PCM (8, 16, 24 or 32 bit, little-endian) -> float32 in [-1, 1]."""
    if width == 1:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v & 0x800000, v - 0x1000000, v)
        return v.astype(np.float32) / 8388608.0
    if width == 4:
        return (np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2147483648.0).astype(
            np.float32)
    raise AudioError(f"unsupported sample width: {width} bytes")


def float_to_pcm16(samples: np.ndarray) -> bytes:
    """float samples in [-1, 1] -> 16-bit little-endian PCM (clipped)."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    return (np.round(clipped * 32767.0)).astype("<i2").tobytes()


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,) by averaging the channels."""
    samples = np.asarray(samples, dtype=np.float32)
    return samples.mean(axis=1) if samples.ndim == 2 else samples


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling with soxr (high quality); mono or (frames, channels)."""
    if from_rate == to_rate:
        return np.asarray(samples, dtype=np.float32)
    if from_rate <= 0 or to_rate <= 0:
        raise AudioError(f"bad sample rate: {from_rate} -> {to_rate}")
    return soxr.resample(np.asarray(samples, dtype=np.float32), from_rate, to_rate, quality="HQ")


def to_input_pcm(samples: np.ndarray, rate: int) -> bytes:
    """Any float samples (mono or multichannel, any rate) -> 16 kHz mono PCM16."""
    return float_to_pcm16(resample(to_mono(samples), rate, INPUT_RATE))


def pcm16_to_input(pcm: bytes, rate: int, channels: int = 1) -> bytes:
    """PCM16 at any rate/channel count -> 16 kHz mono PCM16 (unchanged if it already is)."""
    if rate == INPUT_RATE and channels == 1:
        return pcm
    return to_input_pcm(pcm_to_float(pcm, 2).reshape(-1, channels), rate)


def load_input_audio(path: str | Path) -> bytes:
    """An audio file (see :func:`read_audio`) of any rate and channel count as 16 kHz mono
    PCM16."""
    samples, rate = read_audio(path)
    return to_input_pcm(samples, rate)


def chunks(pcm: bytes, rate: int = INPUT_RATE, ms: int = 100) -> Iterator[bytes]:
    """Split mono PCM16 into chunks of ``ms`` milliseconds (the last one may be shorter)."""
    size = max(2, rate * ms // 1000 * 2)
    for start in range(0, len(pcm), size):
        yield pcm[start:start + size]


def duration(pcm: bytes, rate: int = INPUT_RATE) -> float:
    """Seconds of mono PCM16."""
    return len(pcm) / 2 / rate


def write_wav(path: str | Path, pcm: bytes, rate: int = OUTPUT_RATE, channels: int = 1) -> None:
    """Save PCM16 as a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
