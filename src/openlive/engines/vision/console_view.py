"""What the browser console shows of a session's video: which session a page's frames went
to, and the latest description made of them (``GET /console/seen``, console/routes.py).

Nothing here is sent on the Live WebSocket: a Google-compatible client receives exactly
what it did before. The console finds its session by a fact only the sender knows: the
SHA-256 of the **first video frame** it sent on that connection (the page hashes the JPEG
it encoded; :func:`saw` hashes the bytes the session received). Two live sessions whose
first frames are the same bytes are both left unanswered (:class:`Ambiguous`).

The registry holds weak references (a closed session is gone even if :func:`forget` was not
called) and only the first frame's key per session. It is per process: with
``serve --workers N`` a page's HTTP request may reach another worker than its WebSocket.
"""

from __future__ import annotations

import hashlib
import weakref
from typing import Any

_by_key: dict[str, list[weakref.ref[Any]]] = {}
_keys: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


class Ambiguous(LookupError):
    """More than one live session received that first frame."""


def frame_key(frame: bytes) -> str:
    """The key of a session: the lowercase hex SHA-256 of its first video frame's bytes."""
    return hashlib.sha256(frame).hexdigest()


def saw(session: Any, frame: bytes) -> None:
    """``session`` (a :class:`~.session.SessionVision`) received a video frame: its first
    one names it for the console (later frames cost only a dictionary look-up)."""
    if not frame or session in _keys:
        return
    key = frame_key(frame)
    _keys[session] = key

    def gone(ref: weakref.ref[Any], key: str = key) -> None:
        _drop(key, ref)

    _by_key.setdefault(key, []).append(weakref.ref(session, gone))


def forget(session: Any) -> None:
    """The session closed."""
    key = _keys.pop(session, None)
    if key is None:
        return
    for ref in list(_by_key.get(key, [])):
        if ref() is session or ref() is None:
            _drop(key, ref)


def _drop(key: str, ref: weakref.ref[Any]) -> None:
    refs = _by_key.get(key)
    if refs is None:
        return
    if ref in refs:
        refs.remove(ref)
    if not refs:
        del _by_key[key]


def find(key: str) -> Any | None:
    """The live session whose first frame has ``key`` (None: none; :class:`Ambiguous`:
    more than one)."""
    live = [s for s in (ref() for ref in _by_key.get(key, [])) if s is not None]
    if len(live) > 1:
        raise Ambiguous(key)
    return live[0] if live else None


def report(session: Any) -> dict[str, Any]:
    """What the console shows: the latest description of the session's frames (made in the
    background or for a turn), with its age in seconds, or ``{"analysed": false}``."""
    watcher = session.watcher
    vlm_seen = getattr(session, "_vlm_seen", None)  # a vision model: described per turn
    desc = vlm_seen[1] if vlm_seen else watcher.latest()
    out: dict[str, Any] = {"analysed": desc is not None, "frames": watcher.frames,
                           "analyser": session.vision.describe()}  # frames: counted (turnCoverage)
    if desc is None:
        return out
    out.update({
        "age": round(desc.age(session.vision.clock()), 1),
        "source": desc.source,
        "caption": desc.caption,
        "text": list(desc.text),
        "qr": list(desc.qr),
        "objects": [found.words() for found in desc.objects],
        "people": desc.people_words(),
        "colours": list(desc.colours),
        "skipped": list(desc.skipped),
        "size": [desc.width, desc.height],
    })
    return out


def sessions() -> int:
    """How many live sessions the console could find (for messages)."""
    return sum(1 for refs in _by_key.values() for ref in refs if ref() is not None)


def answer(key: str) -> tuple[int, dict[str, Any]]:
    """``GET /console/seen``'s status and JSON body for ``key`` (a checked 64-hex hash):
    200 ``{"seen": report}``, or 404 with Google's error body and the reason (the install
    step when the vision extra is missing)."""
    try:
        session = find(key)
    except Ambiguous:
        return 404, _error("more than one session received that first frame: "
                           "send another one")
    if session is not None:
        return 200, {"seen": report(session)}
    text = "no live session on this server received that video frame"
    if sessions() == 0:
        from .models import INSTALL_HINT, missing_vision_packages

        missing = missing_vision_packages()
        if missing:
            text += (f": this server does not look at video (the vision extra is not "
                     f"installed: {', '.join(missing)}; {INSTALL_HINT})")
        else:
            text += " (does the server look at video? serve --vision on says so at start)"
    return 404, _error(text)


def _error(message: str) -> dict[str, Any]:
    return {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}}
