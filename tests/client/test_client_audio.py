"""Audio helpers: WAV reading, soxr resampling to 16 kHz mono, real-time pacing."""

from __future__ import annotations

import asyncio
import base64
import wave
from pathlib import Path

import numpy as np
import pytest
from client_listener import ListenerConnection

from openlive.client import audio, connect


def make_wav(path: Path, *, rate: int = 44100, channels: int = 2, seconds: float = 1.0,
             freq: float = 440.0, width: int = 2) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.5 * np.sin(2 * np.pi * freq * t)
    frames = np.repeat(tone[:, None], channels, axis=1)
    if width == 2:
        raw = (frames * 32767).astype("<i2").tobytes()
    elif width == 3:
        ints = (frames * 8388607).astype("<i4").reshape(-1)
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        raw = ((frames * 127) + 128).astype(np.uint8).tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return path


def dominant_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def test_stereo_44k_wav_becomes_16k_mono(tmp_path: Path) -> None:
    path = make_wav(tmp_path / "in.wav", rate=44100, channels=2, seconds=1.0)
    samples, rate = audio.read_wav(path)
    assert samples.shape == (44100, 2) and rate == 44100
    pcm = audio.load_input_audio(path)
    assert abs(len(pcm) - 32000) <= 4  # 1 s of 16 kHz 16-bit mono
    assert abs(dominant_hz(pcm, 16000) - 440) < 3
    peak = np.abs(np.frombuffer(pcm, dtype="<i2")).max()
    assert 0.45 * 32767 < peak < 0.55 * 32767  # level kept, no clipping


def test_other_sample_widths_and_rates(tmp_path: Path) -> None:
    for width, rate in ((3, 48000), (1, 8000)):
        path = make_wav(tmp_path / f"w{width}.wav", rate=rate, channels=1, seconds=0.5,
                        freq=300, width=width)
        pcm = audio.load_input_audio(path)
        assert abs(len(pcm) - 16000) <= 4
        assert abs(dominant_hz(pcm, 16000) - 300) < 5


def test_write_wav_and_helpers(tmp_path: Path) -> None:
    pcm = audio.float_to_pcm16(np.zeros(2400))
    audio.write_wav(tmp_path / "out.wav", pcm, 24000)
    samples, rate = audio.read_wav(tmp_path / "out.wav")
    assert rate == 24000 and samples.shape == (2400, 1)
    assert audio.mime_rate("audio/pcm;rate=24000") == 24000
    assert audio.mime_rate("audio/pcm", 16000) == 16000
    assert [len(c) for c in audio.chunks(b"\x00" * 3300, 16000, 50)] == [1600, 1600, 100]
    assert audio.pcm16_to_input(b"\x01\x00" * 10, 16000) == b"\x01\x00" * 10


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.wav").write_bytes(b"not a wav")
    for path, words in ((tmp_path / "bad.wav", "not an audio file this reader knows"),
                        (tmp_path / "missing.wav", "no such file")):
        try:
            audio.read_wav(path)
        except audio.AudioError as exc:
            assert words in str(exc)
        else:
            raise AssertionError("expected AudioError")


async def test_audio_is_streamed_at_real_time_pace(listen, tmp_path: Path) -> None:
    path = make_wav(tmp_path / "speech.wav", rate=22050, channels=2, seconds=1.0)

    async def handler(conn: ListenerConnection) -> None:
        await conn.setup_complete()

    async with asyncio.timeout(10):
        listener = await listen(handler)
        async with connect("gemini-2.0-flash-exp", base_url=listener.http_url) as session:
            seconds = await session.stream_audio_file(path, chunk_ms=100)
            await session.send_audio(np.zeros(4800, dtype=np.float32), sample_rate=48000)
            conn = listener.connections[0]
            while len(conn.frames) < 13:
                await asyncio.sleep(0.01)
    assert abs(seconds - 1.0) < 0.01
    frames = conn.frames[1:]
    chunks = [f for f in frames[:10] if "audio" in f.data["realtimeInput"]]
    assert len(chunks) == 10
    assert {c.data["realtimeInput"]["audio"]["mimeType"] for c in chunks} == {
        "audio/pcm;rate=16000"}
    total = sum(len(base64.b64decode(c.data["realtimeInput"]["audio"]["data"])) for c in chunks)
    assert abs(total - 32000) <= 4
    span = chunks[-1].at - chunks[0].at
    assert 0.85 <= span <= 1.3, span  # 10 chunks of 100 ms: the last one leaves at ~0.9 s
    assert frames[10].data == {"realtimeInput": {"audioStreamEnd": True}}
    resampled = base64.b64decode(frames[11].data["realtimeInput"]["audio"]["data"])
    assert len(resampled) == 3200  # 0.1 s at 48 kHz float -> 0.1 s at 16 kHz PCM16


def test_float_and_extensible_wav(tmp_path: Path) -> None:
    rate, channels = 48000, 3
    t = np.arange(rate // 2) / rate
    frames = np.repeat((0.25 * np.sin(2 * np.pi * 500 * t))[:, None], channels, axis=1)
    body = frames.astype("<f4").tobytes()
    guid_tail = bytes.fromhex("000000001000800000aa00389b71")
    for name, fmt in (
        ("float.wav", (3).to_bytes(2, "little") + channels.to_bytes(2, "little")
         + rate.to_bytes(4, "little") + (rate * 12).to_bytes(4, "little")
         + (12).to_bytes(2, "little") + (32).to_bytes(2, "little")),
        ("ext.wav", (0xFFFE).to_bytes(2, "little") + channels.to_bytes(2, "little")
         + rate.to_bytes(4, "little") + (rate * 12).to_bytes(4, "little")
         + (12).to_bytes(2, "little") + (32).to_bytes(2, "little") + (22).to_bytes(2, "little")
         + (32).to_bytes(2, "little") + (7).to_bytes(4, "little")
         + (3).to_bytes(2, "little") + guid_tail),
    ):
        riff = (b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt
                + b"data" + len(body).to_bytes(4, "little") + body)
        path = tmp_path / name
        path.write_bytes(b"RIFF" + len(riff).to_bytes(4, "little") + riff)
        samples, got_rate = audio.read_wav(path)
        assert samples.shape == (rate // 2, channels) and got_rate == rate
        pcm = audio.load_input_audio(path)
        assert abs(len(pcm) - 16000) <= 4
        assert abs(dominant_hz(pcm, 16000) - 500) < 5



@pytest.mark.parametrize("fmt,subtype,suffix", [
    ("FLAC", "PCM_16", "flac"), ("OGG", "VORBIS", "ogg"), ("MP3", "MPEG_LAYER_III", "mp3"),
])
def test_flac_ogg_and_mp3_are_read_as_wav_is(tmp_path: Path, fmt, subtype, suffix) -> None:
    """`openlive talk r.flac` said "not a PCM WAV file": files go through libsndfile."""
    import soundfile

    rate = 44100
    t = np.arange(rate) / rate
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t)] * 2, axis=1).astype(np.float32)
    path = tmp_path / f"speech.{suffix}"
    soundfile.write(str(path), stereo, rate, format=fmt, subtype=subtype)
    samples, got_rate = audio.read_audio(path)
    assert got_rate == rate and samples.shape[1] == 2
    pcm = audio.load_input_audio(path)
    assert abs(len(pcm) - 32000) <= 1200  # ~1 s (MP3 pads its frames)
    assert abs(dominant_hz(pcm, 16000) - 440) < 5
