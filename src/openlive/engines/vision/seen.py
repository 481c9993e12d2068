"""What emulator scripts see: the rule key ``seen: REGEX`` and the template values
``{seen}``, ``{ocr}``, ``{objects}``, ``{qr}`` (docs/vision.md). Pure: no model here.

``seen`` is searched, case-insensitively, in :meth:`Description.summary` of the latest frame
of the turn — ``text: … ; QR code: … ; objects: … ; colours: …`` — so ``seen: "exit"``
matches a sign that reads EXIT and ``seen: "QR code: https://"`` a QR code with a URL. A rule
with ``seen`` matches only when the turn has a frame and both ``match`` and ``seen`` are found;
``seen``'s named groups become template values, as ``match``'s do.
"""

from __future__ import annotations

import re
from typing import Any

from .description import Description

SEEN_HELP = ("case-insensitive regex searched in the latest video frame's description (text "
             "read, objects and people, QR contents, colours); the rule matches only when "
             "both 'match' and 'seen' do")
NOTHING = ""  # the template values when the turn has no video


def compile_seen(value: Any) -> re.Pattern[str]:
    """The ``seen`` key's regex (raises ``re.error`` with the reason)."""
    return re.compile(str(value), re.IGNORECASE)


def seen_match(pattern: re.Pattern[str], desc: Description | None) -> re.Match[str] | None:
    return pattern.search(desc.summary()) if desc is not None else None


def seen_values(desc: Description | None, m: re.Match[str] | None = None) -> dict[str, str]:
    """Template values for a reply: ``{seen}`` (the whole description), ``{ocr}``,
    ``{objects}``, ``{qr}`` (each empty when the turn has no video or nothing was found),
    plus the named groups of the ``seen`` match."""
    if desc is None:
        values = {"seen": NOTHING, "ocr": NOTHING, "objects": NOTHING, "qr": NOTHING}
    else:
        values = {"seen": desc.summary(), "ocr": desc.ocr, "objects": desc.object_words,
                  "qr": desc.qr_text}
    if m is not None:
        values.update({k: v or "" for k, v in m.groupdict().items()})
    return values
