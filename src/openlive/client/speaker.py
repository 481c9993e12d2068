"""Sound devices for ``openlive mic`` and ``chat --audio``: sounddevice (PortAudio), imported
only when needed. Servers and CI have no sound device; callers get a one-line reason."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

INSTALL_HINT = ("pip install 'openlive[audio]' (sounddevice; on Linux also PortAudio: "
                "apt install libportaudio2)")


class NoSoundDevice(RuntimeError):
    """No usable sound device: the message is one line a person can act on."""


def device(value: str | None) -> int | str | None:
    """A ``--input-device``/``--output-device`` value as sounddevice takes it: a number
    from ``--list-devices``, or part of a name."""
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value


def open_sounddevice(*, need_input: bool = False, need_output: bool = True,
                     input_device: int | str | None = None,
                     output_device: int | str | None = None) -> Any:
    """The sounddevice module, checked for the devices needed; else NoSoundDevice."""
    try:
        import sounddevice as sd  # noqa: PLC0415 - optional, heavy, needs PortAudio
    except ImportError:
        raise NoSoundDevice(f"sounddevice is not installed: {INSTALL_HINT}") from None
    except OSError as exc:  # the module is there but PortAudio is not
        raise NoSoundDevice(f"PortAudio is not available ({exc}): {INSTALL_HINT}") from None
    for kind, needed, chosen in (("input", need_input, input_device),
                                 ("output", need_output, output_device)):
        if not needed:
            continue
        try:
            if chosen is None:
                sd.query_devices(kind=kind)
            else:
                sd.query_devices(chosen, kind=kind)
        except Exception as exc:  # sounddevice raises PortAudioError / ValueError
            which = f"{kind} sound device {chosen!r}" if chosen is not None else \
                f"{kind} sound device"
            raise NoSoundDevice(f"no {which} found ({exc}); see openlive mic "
                                "--list-devices") from None
    return sd


class Player:
    """Plays 16-bit mono PCM as it arrives; :meth:`clear` drops what is queued (barge-in)."""

    def __init__(self, sd: Any, rate: int = 24000, device: int | str | None = None) -> None:
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._stream = sd.RawOutputStream(samplerate=rate, channels=1, dtype="int16",
                                          callback=self._fill, device=device)
        self._stream.start()

    def _fill(self, outdata: Any, frames: int, time: Any, status: Any) -> None:
        need = frames * 2
        with self._lock:
            chunk = bytes(self._buf[:need])
            del self._buf[:need]
        outdata[:len(chunk)] = chunk
        if len(chunk) < need:
            outdata[len(chunk):] = b"\x00" * (need - len(chunk))

    def play(self, pcm: bytes) -> None:
        with self._lock:
            self._buf.extend(pcm)

    def clear(self) -> None:
        with self._lock:
            self._buf.clear()

    @property
    def pending_seconds(self) -> float:
        with self._lock:
            return len(self._buf) / 2 / 24000

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


def silence(seconds: float, rate: int = 16000) -> bytes:
    return np.zeros(int(seconds * rate), dtype="<i2").tobytes()
