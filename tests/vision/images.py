"""Images made at test time (signs rendered with Pillow, QR codes with segno, plain scenes)
and real photos that scikit-image's wheel ships (skimage/data)."""

from __future__ import annotations

import io
from pathlib import Path

import segno
import skimage
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

PHOTOS = Path(skimage.__file__).parent / "data"


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = font_manager.findfont(font_manager.FontProperties(
        family="DejaVu Sans", weight="bold" if bold else "normal"))
    return ImageFont.truetype(path, size)


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def sign(words: str, *, size: tuple[int, int] = (640, 480), board=(200, 30, 30),
         ink="white", background=(70, 110, 70), text_size: int = 54,
         bold: bool = True) -> Image.Image:
    """A board with ``words`` on it, on a plain background (one line per ``\\n``)."""
    img = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(img)
    f = font(text_size, bold)
    box = draw.multiline_textbbox((0, 0), words, font=f, spacing=12)
    w, h = box[2] - box[0], box[3] - box[1]
    x, y = (size[0] - w) // 2, (size[1] - h) // 2
    draw.rectangle((x - 30, y - 30, x + w + 30, y + h + 40), fill=board)
    draw.multiline_text((x, y - box[1]), words, font=f, fill=ink, spacing=12)
    return img


def qr_scene(payload: str, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A QR code (segno) on a grey wall, to the right of the middle."""
    buf = io.BytesIO()
    segno.make_qr(payload, error="m").save(buf, kind="png", scale=6, border=4)
    code = Image.open(buf).convert("RGB")
    img = Image.new("RGB", size, (120, 120, 120))
    img.paste(code, (size[0] - code.width - 60, (size[1] - code.height) // 2))
    return img


def plain(colour: tuple[int, int, int], size: tuple[int, int] = (640, 480)) -> Image.Image:
    return Image.new("RGB", size, colour)


def photo(name: str) -> Image.Image:
    return Image.open(PHOTOS / name).convert("RGB")
