"""``openlive recordings show`` on files that are not recordings (a user error: one line,
exit 2), and ``python -m openlive`` as the same command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from openlive.cli import main


@pytest.mark.parametrize(("content", "why"), [
    ("root:x:0:0:root:/root:/bin/bash\n", "no JSON lines in it"),
    ("", "no JSON lines in it"),
    (b"\x89PNG\r\n\x1a\n\xff\xfe", "no JSON lines in it"),
    ('{"name": "x"}\n', "its lines are not recorded messages"),
    ("[1, 2]\n", "its lines are not recorded messages"),
    ('{"t": 0, "direction": "client", "message": {}}\n', "does not start with a session's"),
])
def test_a_file_that_is_not_a_recording_is_said_so(tmp_path, capsys, content, why) -> None:
    path = tmp_path / "file.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    assert main(["recordings", "show", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"openlive: {path} is not a recording (")
    assert len(err.strip().splitlines()) == 1 and why in err


def test_a_recording_is_shown(tmp_path, capsys) -> None:
    path = tmp_path / "r.jsonl"
    lines = [{"t": 0.0, "direction": "open", "session": "r", "started": "x"},
             {"t": 0.1, "direction": "client", "message": {"realtimeInput": {"text": "hi"}}},
             {"t": 0.2, "direction": "close", "code": 1000}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["recordings", "show", str(path)]) == 0
    assert 'realtimeInput {"text": "hi"}' in capsys.readouterr().out


def test_python_dash_m_openlive() -> None:
    done = subprocess.run([sys.executable, "-m", "openlive", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("openlive ")
    done = subprocess.run([sys.executable, "-m", "openlive", "recordings", "show", "/etc/passwd"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "is not a recording" in done.stderr


def test_show_says_how_much_audio_and_audio_writes_it(tmp_path, capsys) -> None:
    import base64
    import wave

    pcm = b"\x01\x00" * 1600  # 0.1 s at 16 kHz
    path = tmp_path / "a.jsonl"
    lines = [{"t": 0.0, "direction": "open", "session": "a"},
             {"t": 0.0, "direction": "client", "message": {"realtimeInput": {"audio": {
                 "mimeType": "audio/pcm;rate=16000", "data": base64.b64encode(pcm).decode()}}}}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["recordings", "show", str(path)]) == 0
    assert "audio: 0.10 s from the app, 0.00 s from the model (openlive recordings audio" in (
        capsys.readouterr().out)
    assert main(["recordings", "audio", str(path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "a.client.wav")
    with wave.open(str(tmp_path / "a.client.wav")) as w:
        assert w.readframes(w.getnframes()) == pcm
    assert main(["recordings", "audio", "/etc/passwd"]) == 2


def test_list_marks_files_that_are_not_recordings(tmp_path, capsys) -> None:
    (tmp_path / "notes.jsonl").write_text('{"todo": 1}\n')
    (tmp_path / "binary.jsonl").write_bytes(b"\xff\xfe\x00")
    assert main(["recordings", "list", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "notes" in out and "binary" in out and out.count("(not a recording)") == 2
    assert main(["recordings", "show", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
