"""The browser console served at ``/``: static files (no build step) and its token route.

``add_console_routes(app, store=…, open_server=…, tokens=…)`` adds, ahead of the Live
server's catch-all route (server/run.py composes the two; the console knows nothing of the
server but the token store it shares and two flags):

* ``GET /`` — the console page; ``GET /console/…`` — its scripts, worklets and styles.
* ``POST /console/token`` — a short-lived, single-use ephemeral token for the page, so that
  the page never holds the server's API key. Served only to loopback peers (see
  :mod:`openlive.console.tokens`); an open server (no keys) answers ``{"open": true}``.
* ``GET /console/seen?frame=…`` — what the server saw in the page's video (the vision
  extra's description of its session's latest frame), for the same loopback pages; the
  session is named by the SHA-256 of its first frame (docs/vision.md, "In the console").
"""

from __future__ import annotations

from .routes import STATIC_DIR, add_console_routes

__all__ = ["STATIC_DIR", "add_console_routes"]
