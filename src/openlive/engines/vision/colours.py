"""Dominant colours of an image, named in plain words (Pillow's median-cut quantiser)."""

from __future__ import annotations

import colorsys
from typing import Any

MIN_SHARE = 0.12  # a colour named must cover at least this share of the frame


def colour_name(r: int, g: int, b: int) -> str:
    """A plain name for an RGB colour (hue, lightness and saturation bands)."""
    h, lightness, s = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
    if lightness < 0.12:
        return "black"
    if lightness > 0.9:
        return "white"
    if s < 0.15 or (s < 0.25 and 0.2 < lightness < 0.8 and max(r, g, b) - min(r, g, b) < 30):
        return "grey"
    deg = h * 360
    if deg < 15 or deg >= 340:
        name = "red"
    elif deg < 40:
        name = "orange"
    elif deg < 70:
        name = "yellow"
    elif deg < 165:
        name = "green"
    elif deg < 200:
        name = "cyan"
    elif deg < 255:
        name = "blue"
    elif deg < 310:
        name = "purple"
    else:
        name = "pink"
    if name in ("orange", "red", "yellow") and lightness < 0.35:
        return "brown"
    if name == "red" and lightness > 0.7:
        return "pink"
    return name


def dominant_colours(image: Any, most: int = 3) -> list[str]:
    """Up to ``most`` colour names of a Pillow RGB image, the largest area first."""
    small = image.convert("RGB").resize((48, 48))
    quantised = small.quantize(colors=8)
    palette = quantised.getpalette() or []
    counts = quantised.getcolors() or []
    total = sum(c for c, _ in counts) or 1
    shares: dict[str, float] = {}
    for count, index in counts:
        r, g, b = palette[3 * index: 3 * index + 3]
        name = colour_name(r, g, b)
        shares[name] = shares.get(name, 0.0) + count / total
    ranked = sorted(shares.items(), key=lambda kv: -kv[1])
    return [name for name, share in ranked if share >= MIN_SHARE][:most]
