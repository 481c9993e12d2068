"""Audio for the Live API: WAV files in and out, resampling (soxr) and PCM16 helpers.

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


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A WAV file as float32 samples in [-1, 1], shape (frames, channels), and its rate.

    Integer PCM (8/16/24/32-bit) and 32/64-bit float, plain or WAVE_FORMAT_EXTENSIBLE."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except (wave.Error, EOFError) as exc:
        # the stdlib reads only integer PCM (and no EXTENSIBLE header before Python 3.12)
        return _read_riff(Path(path), exc)
    return pcm_to_float(raw, width).reshape(-1, channels), rate


_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


def _read_riff(path: Path, cause: Exception) -> tuple[np.ndarray, int]:
    data = path.read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError(f"{path}: not a PCM WAV file ({cause})")
    fmt: bytes | None = None
    body: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        chunk = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = chunk
        elif cid == b"data":
            body = chunk
        pos += 8 + size + (size & 1)
    if fmt is None or body is None or len(fmt) < 16:
        raise AudioError(f"{path}: WAV file without fmt or data chunk")
    tag = int.from_bytes(fmt[0:2], "little")
    channels = int.from_bytes(fmt[2:4], "little")
    rate = int.from_bytes(fmt[4:8], "little")
    bits = int.from_bytes(fmt[14:16], "little")
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = int.from_bytes(fmt[24:26], "little")  # first two bytes of the SubFormat GUID
    if channels < 1 or rate < 1:
        raise AudioError(f"{path}: bad WAV header ({channels} channels, {rate} Hz)")
    if tag == _FLOAT and bits in (32, 64):
        samples = np.frombuffer(body[:len(body) - len(body) % (bits // 8)],
                                dtype="<f4" if bits == 32 else "<f8").astype(np.float32)
    elif tag == _PCM and bits in (8, 16, 24, 32):
        width = bits // 8
        samples = pcm_to_float(body[:len(body) - len(body) % width], width)
    else:
        raise AudioError(f"{path}: unsupported WAV encoding (format {tag}, {bits} bits); "
                         "convert it to PCM, e.g. ffmpeg -i IN -c:a pcm_s16le OUT.wav")
    frames = len(samples) // channels
    return samples[:frames * channels].reshape(frames, channels), rate


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
    """A WAV file of any rate and channel count as 16 kHz mono PCM16."""
    samples, rate = read_wav(path)
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
