"""Whether a user's turn asks about what the camera or screen shows (then the latest frame
is analysed now if it has not been; otherwise the last background description is used)."""

from __future__ import annotations

import re

_ASKS = re.compile(
    r"\b(see|seeing|seen|look(s|ing)?|watch(ing)?|show(s|ing|n)?|camera|screen|picture|"
    r"photo|image|video|frame|read|reads|say|says|written|write|sign|label|text|qr|code|"
    r"colou?rs?|holding|hold|wearing|in front of|behind me|this|that|these|those|here|"
    r"who|how many|count|visible|recogni[sz]e|identify|describe)\b",
    re.IGNORECASE)


def asks_about_view(text: str) -> bool:
    """True when the text plausibly asks about the view ("what do you see?", "what does this
    sign say?", "how many people are here?"). Errs on the side of looking."""
    return bool(_ASKS.search(text or ""))
