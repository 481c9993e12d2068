"""The voice benchmark sets (text in bench/data/, audio made here, nothing downloaded).

* :func:`spoken_questions`, :func:`fact_questions`, :func:`pause_utterances` read the sets.
* :data:`VOICES` and :func:`speak`: the sets spoken by Debian's flite (its built-in
  voices) and espeak-ng (variants), none of them the engine's own Piper voice
  (``make speech-voices`` installs both), as 16 kHz PCM16 trimmed to the speech.
* :func:`browser_path`: the same audio as a browser would send it (see its docstring for
  exactly what is simulated).
* :func:`normalise`, :func:`wer_counts`, :func:`proper_nouns`, :func:`contains_answer`:
  scoring.
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
import wave
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
RATE = 16_000

#: name -> command line that writes a WAV to the path put in place of ``{wav}``
VOICES: dict[str, list[str]] = {
    "flite-slt": ["flite", "-voice", "slt", "-o", "{wav}", "-t", "{text}"],
    "flite-rms": ["flite", "-voice", "rms", "-o", "{wav}", "-t", "{text}"],
    "flite-awb": ["flite", "-voice", "awb", "-o", "{wav}", "-t", "{text}"],
    "flite-kal16": ["flite", "-voice", "kal16", "-o", "{wav}", "-t", "{text}"],
    "espeak-en-us": ["espeak-ng", "-v", "en-us", "-s", "160", "-w", "{wav}", "{text}"],
    "espeak-en-gb-f3": ["espeak-ng", "-v", "en-gb+f3", "-s", "160", "-w", "{wav}", "{text}"],
}
DEFAULT_VOICES = list(VOICES)


def _lines(name: str) -> list[str]:
    return [s for line in (DATA / name).read_text().splitlines()
            if (s := line.strip()) and not s.startswith("#")]


def spoken_questions() -> list[str]:
    return _lines("voice_questions.txt")


def fact_questions() -> list[tuple[str, list[str]]]:
    out = []
    for line in _lines("voice_facts.tsv"):
        q, answers = line.split("\t")
        out.append((q, [a.strip() for a in answers.split("|")]))
    return out


def engine_setup(system: str | None = None):
    """The setup of a local-engine session: no system instruction (the engine's default
    one) unless ``system`` is given."""
    from openlive.wire.setup import Setup

    setup: dict = {"model": "models/openlive-local"}
    if system:
        setup["systemInstruction"] = {"parts": [{"text": system}]}
    return Setup.model_validate(setup)


def engine_messages(question: str, setup=None) -> list[dict[str, str]]:
    """``question`` as the local engine puts it to the LLM: the chat messages of a session
    (:func:`engine_setup` unless given) whose first user turn it is."""
    from openlive.engines.local.prompt import chat_messages
    from openlive.wire.content import Content

    user = Content.model_validate({"role": "user", "parts": [{"text": question}]})
    return chat_messages(setup or engine_setup(), [user])


def pause_utterances() -> list[list[str]]:
    return [[c.strip() for c in line.split("|")] for line in _lines("voice_pauses.txt")]


def pause_lengths_ms(text: str, count: int) -> list[int]:
    """A fixed pseudo-random pause length in [300, 700] ms for each gap of ``text``."""
    rng = np.random.default_rng(zlib.crc32(text.encode()))
    return [int(x) for x in rng.integers(300, 701, size=count)]


# ------------------------------------------------------------------------ speech


def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        assert w.getsampwidth() == 2, "16-bit WAV expected"
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        if w.getnchannels() > 1:
            pcm = pcm.reshape(-1, w.getnchannels())[:, 0]
        return pcm, w.getframerate()


def speak(voice: str, text: str, *, trim: bool = True) -> np.ndarray:
    """``text`` in ``voice`` as 16 kHz int16 (trimmed to the first/last sample above
    -40 dBFS unless ``trim`` is false)."""
    import soxr

    with tempfile.TemporaryDirectory() as tmp:
        wav = str(Path(tmp) / "out.wav")
        cmd = [a.replace("{wav}", wav).replace("{text}", text) for a in VOICES[voice]]
        subprocess.run(cmd, check=True, capture_output=True)
        pcm, rate = _read_wav(Path(wav).read_bytes())
    if rate != RATE:
        pcm = soxr.resample(pcm, rate, RATE, quality="VHQ").astype("<i2")
    if trim:
        loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 328)
        if len(loud):
            pcm = pcm[loud[0]:loud[-1] + 1]
    return pcm


def join_with_pauses(clauses: list[np.ndarray], pauses_ms: list[int]) -> np.ndarray:
    parts: list[np.ndarray] = []
    for i, c in enumerate(clauses):
        parts.append(c)
        if i < len(pauses_ms):
            parts.append(np.zeros(RATE * pauses_ms[i] // 1000, dtype="<i2"))
    return np.concatenate(parts)


def browser_path(pcm16k: np.ndarray, seed: int = 0, lead_s: float = 0.2,
                 tail_s: float = 1.0) -> list[np.ndarray]:
    """The utterance (with ``lead_s``/``tail_s`` of silence) as a browser tab would send it:
    48 kHz, 20 ms chunks. Simulated, in order (deterministic for a seed):

    1. resampled 16 kHz -> 48 kHz (soxr "HQ", the browser's capture rate);
    2. a microphone's background: white noise 35 dB below the speech's RMS, plus a 50 Hz
       hum 45 dB below it, over the whole stream (silence included);
    3. WebRTC-style processing: a 2nd-order Butterworth high-pass at 80 Hz, then an
       automatic gain control that moves the level towards -21 dBFS RMS with a 0.3 s
       attack (one gain per 10 ms frame, at most +12 dB) and a limiter that keeps each
       frame's peak under -1 dBFS.

    Not simulated: echo cancellation and noise suppression (their effect on clean
    synthetic speech without an echo is mostly the AGC's). The server then resamples the
    48 kHz chunks to 16 kHz as the listener does (``soxr.ResampleStream``): see
    :func:`server_resample`."""
    import soxr
    from scipy.signal import butter, sosfilt

    sr = 48_000
    lead = np.zeros(int(lead_s * RATE), dtype=np.float32)
    tail = np.zeros(int(tail_s * RATE), dtype=np.float32)
    x16 = np.concatenate([lead, pcm16k.astype(np.float32), tail])
    x = soxr.resample(x16, RATE, sr, quality="HQ").astype(np.float64)
    speech_rms = float(np.sqrt(np.mean(pcm16k.astype(np.float64) ** 2))) or 1.0
    rng = np.random.default_rng(seed)
    x += rng.normal(0.0, speech_rms * 10 ** (-35 / 20), x.size)
    t = np.arange(x.size) / sr
    x += np.sqrt(2) * speech_rms * 10 ** (-45 / 20) * np.sin(2 * np.pi * 50 * t)
    x = sosfilt(butter(2, 80, "highpass", fs=sr, output="sos"), x)
    frame = sr // 100
    target = 32768 * 10 ** (-21 / 20)
    gain, alpha = 1.0, 1 - np.exp(-0.01 / 0.3)
    level = 0.0
    out = np.empty_like(x)
    for k in range(0, x.size, frame):
        seg = x[k:k + frame]
        rms = float(np.sqrt(np.mean(seg ** 2)))
        level = max(rms, level * 0.995)  # a peak-hold level: silence does not pump the gain
        want = min(10 ** (12 / 20), target / level) if level > 1 else 1.0
        gain += alpha * (want - gain)
        peak = float(np.max(np.abs(seg))) * gain
        limit = 32767 * 10 ** (-1 / 20)
        out[k:k + frame] = seg * (gain if peak <= limit else gain * limit / peak)
    out = np.clip(np.round(out), -32768, 32767).astype("<i2")
    step = sr * 20 // 1000
    return [out[i:i + step] for i in range(0, out.size, step)]


def server_resample(chunks: list[np.ndarray], rate: int = 48_000) -> np.ndarray:
    """What the listener does with ``audio/pcm;rate=48000`` chunks: a soxr stream to 16 kHz."""
    import soxr

    rs = soxr.ResampleStream(rate, RATE, 1, dtype="int16")
    parts = [np.asarray(rs.resample_chunk(c), dtype="<i2") for c in chunks]
    parts.append(np.asarray(rs.resample_chunk(np.zeros(0, dtype="<i2"), last=True),
                            dtype="<i2"))
    return np.concatenate(parts)


# ----------------------------------------------------------------------- scoring

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """A cardinal in words, as a speaker says it ("one hundred five", no "and")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_words(n % 100))
    if n < 1_000_000:
        return (number_words(n // 1000) + " thousand"
                + ("" if n % 1000 == 0 else " " + number_words(n % 1000)))
    return str(n)


_ALIASES = {"ok": "okay", "e mails": "emails", "e mail": "email", "mum": "mom",
            "alright": "all right", "timer's": "timer is"}


def normalise(text: str) -> list[str]:
    """Lower case, no punctuation (apostrophes kept), numbers in words ("7:30" -> seven
    thirty, "$100" -> one hundred dollars, "25%" -> twenty five percent)."""
    t = text.lower().replace("’", "'")
    t = re.sub(r"\$(\d+)", r"\1 dollars", t)
    t = re.sub(r"€(\d+)", r"\1 euros", t)
    t = re.sub(r"(\d+)%", r"\1 percent", t)
    t = re.sub(r"(\d{1,2}):(\d\d)", lambda m: m.group(1) + " " + (
        "" if m.group(2) == "00" else m.group(2)), t)
    t = re.sub(r"(\d),(\d{3})", r"\1\2", t)
    t = re.sub(r"\d+", lambda m: " " + number_words(int(m.group(0))) + " ", t)
    t = re.sub(r"[^a-z' ]+", " ", t.replace("-", " "))
    t = " " + " ".join(w.strip("'") for w in t.split()) + " "
    for a, b in _ALIASES.items():
        t = t.replace(f" {a} ", f" {b} ")
    return t.split()


def wer_counts(ref: str, hyp: str) -> tuple[int, int]:
    """(word edits, reference words): word-level Levenshtein on normalised text."""
    r, h = normalise(ref), normalise(hyp)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1], len(r)


def proper_nouns(text: str) -> list[str]:
    """Capitalised words after the first (names and places: "France", "Tokyo"), and
    'I' excepted."""
    words = re.findall(r"[A-Za-z']+", text)
    return [w for w in words[1:] if w[0].isupper() and w != "I"]


def missed_nouns(ref: str, hyp: str) -> list[str]:
    heard = set(normalise(hyp))
    return [n for n in proper_nouns(ref) if normalise(n)[0] not in heard]


def _answer_form(text: str) -> str:
    t = re.sub(r"[^a-z0-9 ]+", " ", text.lower().replace("-", " "))
    return " " + " ".join(t.split()) + " "


def contains_answer(reply: str, answers: list[str]) -> bool:
    """The reply holds one of the accepted answers as whole words (digits and number words
    both count: "8" and "eight")."""
    r = _answer_form(reply)
    r_words = _answer_form(" ".join(normalise(reply)))
    for a in answers:
        a = _answer_form(a)
        if a in r or a in r_words:
            return True
        if a.strip().isdigit() and _answer_form(number_words(int(a))) in r_words:
            return True
    return False


def print_misses(rows: list[dict], show: int) -> Counter:
    """Print the proper nouns missed (of those spoken) and the ``show`` worst transcripts,
    for rows of ``voice``, ``text``, ``heard``, ``edits``, ``words``, ``missed`` (and
    ``path`` when there is one); return the missed nouns' counts."""
    missed = Counter(n for r in rows for n in r["missed"])
    nouns = Counter(n for r in rows for n in proper_nouns(r["text"]))
    print("\nproper nouns missed (times missed / times spoken): " + (", ".join(
        f"{n} {missed[n]}/{nouns[n]}" for n, _ in missed.most_common()) or "none"))
    worst = sorted(rows, key=lambda r: -r["edits"])[:show]
    print(f"\nworst {len(worst)} transcripts:")
    for r in worst:
        path = f" {r['path']:<8}" if "path" in r else ""
        print(f"  {r['voice']:<16}{path} {r['edits']}/{r['words']}  "
              f"{r['text']!r} -> {r['heard']!r}")
    return missed


# ------------------------------------------------------------------------ setups


def activity_detection(setup: dict, silence_ms: int | None,
                       sensitivity: str | None = None) -> dict:
    """``setup`` with ``realtimeInputConfig.automaticActivityDetection`` carrying
    ``silenceDurationMs`` / ``endOfSpeechSensitivity`` when given (else unchanged)."""
    aad: dict = {}
    if silence_ms is not None:
        aad["silenceDurationMs"] = silence_ms
    if sensitivity:
        aad["endOfSpeechSensitivity"] = sensitivity
    if aad:
        setup["realtimeInputConfig"] = {"automaticActivityDetection": aad}
    return setup
