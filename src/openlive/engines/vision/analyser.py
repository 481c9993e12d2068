"""A frame analyser: JPEG bytes -> :class:`~.description.Description`.

Stages, each timed: decode (Pillow, JPEG draft mode at the analysis size), OCR (rapidocr's
PP-OCRv6 small ONNX models), QR codes (OpenCV's detector), dominant colours (Pillow),
people (mediapipe: faces, hands, a body pose), objects (CenterNet, COCO's 80 kinds, converted
to ONNX at install time: :mod:`.objects`). Models load once, on first use, from the
wheels' own files after a SHA-256 check (:mod:`.models`). One :class:`FrameAnalyser` serves
every session of a server: a lock runs one frame at a time, so on a small machine the
analyser never takes more than ``threads`` cores. :meth:`FrameAnalyser.arun` runs its work
on the analyser's own worker thread, so frames waiting for it never hold the event loop's
default thread pool, which speech recognition and the LLM use.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .colours import dominant_colours
from .description import Description, Found
from .models import ModelError, objects_model_path, ocr_model_paths, people_model_dir

log = logging.getLogger("openlive.vision")
T = TypeVar("T")

STAGES = ("ocr", "qr", "colours", "people", "objects")
MIN_OCR_SCORE = 0.6

# mediaResolution -> the long side of the analysed image, in pixels. Google's docs say only
# that the setting caps the tokens spent on each image ("balance response quality with
# latency and cost", ai.google.dev/gemini-api/docs/media-resolution); these sizes are
# openlive's own, chosen so that LOW reads large signs and HIGH reads a screen's text.
ANALYSIS_SIZE = {
    "MEDIA_RESOLUTION_LOW": 320,
    "MEDIA_RESOLUTION_MEDIUM": 640,
    "MEDIA_RESOLUTION_HIGH": 1024,
}
DEFAULT_SIZE = 640
MAX_PIXELS = 16_000_000  # a larger frame is refused before it is decoded (memory)


class FrameError(ValueError):
    """The bytes are not an image Pillow can decode."""


def analysis_size(media_resolution: str | None) -> int:
    return ANALYSIS_SIZE.get(media_resolution or "", DEFAULT_SIZE)


def where(x: float, y: float | None = None) -> str:
    """A rough position from the centre's fractions of width and height."""
    side = "on the left" if x < 0.36 else "on the right" if x > 0.64 else "in the middle"
    if y is not None and y < 0.25:
        side += ", near the top"
    elif y is not None and y > 0.78:
        side += ", near the bottom"
    return side


class FrameAnalyser:
    def __init__(self, *, stages: Iterable[str] = STAGES, threads: int = 2) -> None:
        unknown = set(stages) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown vision stage(s) {sorted(unknown)}; known: {STAGES}")
        self.stages = tuple(s for s in STAGES if s in set(stages))
        self.threads = threads
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="openlive-vision")
        self._queued = 0
        self._ocr: Any = None
        self._qr: Any = None
        self._people: Any = None
        self._objects: Any = None
        self._objects_missing = False  # logged once; the other stages go on without it

    @property
    def busy(self) -> bool:
        """A frame is being analysed or waits for the analyser."""
        return self._queued > 0 or self._lock.locked()

    async def arun(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the analyser's worker thread."""
        self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, functools.partial(fn, *args, **kwargs))
        finally:
            self._queued -= 1

    def load(self) -> None:
        """Load (and verify) every stage's models now, not at the first frame."""
        with self._lock:
            if "ocr" in self.stages:
                self._ocr_engine()
            if "people" in self.stages:
                self._people_models()
            if "objects" in self.stages:
                self._objects_model()

    # --- the stages' models -------------------------------------------------------------
    def _ocr_engine(self) -> Any:
        if self._ocr is None:
            from rapidocr import RapidOCR

            paths = ocr_model_paths()
            self._ocr = RapidOCR(params={
                "Global.log_level": "error",
                "Global.use_cls": False,  # camera text is upright; saves a model run
                "Det.model_path": str(paths["det"]),
                "Rec.model_path": str(paths["rec"]),
                "Det.limit_type": "max",
                "Det.limit_side_len": 1024,
                "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            })
        return self._ocr

    def _people_models(self) -> Any:
        if self._people is None:
            people_model_dir()  # verifies the .tflite files mediapipe will load
            from .people import PeopleDetector

            self._people = PeopleDetector()
        return self._people

    def _objects_model(self) -> Any:
        """The CenterNet detector, or None when its model is not installed (logged once:
        the objects model comes from npm at install time, not from a wheel)."""
        if self._objects is None and not self._objects_missing:
            from .tfjs_onnx import CONVERTER_VERSION

            try:
                path = objects_model_path(converter=CONVERTER_VERSION)
            except ModelError as exc:
                self._objects_missing = True
                log.warning("vision: no objects will be named: %s", exc)
                return None
            from .objects import ObjectDetector

            self._objects = ObjectDetector(path, threads=self.threads)
        return self._objects

    # --- one frame ----------------------------------------------------------------------
    def analyse(self, jpeg: bytes, *, received_at: float, size: int = DEFAULT_SIZE,
                stages: Iterable[str] | None = None) -> Description:
        """Describe one frame (blocking: call it from a worker thread)."""
        wanted = tuple(s for s in (stages or self.stages) if s in self.stages)
        with self._lock:
            return self._analyse(jpeg, received_at, size, wanted)

    def _analyse(self, jpeg: bytes, received_at: float, size: int,
                 wanted: tuple[str, ...]) -> Description:
        import numpy as np
        from PIL import Image, UnidentifiedImageError

        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        try:
            image = Image.open(io.BytesIO(jpeg))
            full = image.size
            if full[0] * full[1] > MAX_PIXELS:
                raise FrameError(f"a {full[0]}x{full[1]} frame is larger than the "
                                 f"{MAX_PIXELS // 1_000_000} megapixels looked at")
            image.draft("RGB", (size, size))  # JPEG: decode at 1/2, 1/4, 1/8 scale
            image = image.convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError
                ) as exc:
            if isinstance(exc, FrameError):
                raise
            raise FrameError(f"not a decodable image: {exc}") from None
        if max(image.size) > size:
            image.thumbnail((size, size))
        rgb = np.asarray(image)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        timings["decode"] = time.perf_counter() - t0
        found: dict[str, Any] = {}
        skipped: list[str] = []
        for stage in wanted:
            t = time.perf_counter()
            try:
                found[stage] = getattr(self, f"_stage_{stage}")(image, rgb, bgr)
            except ImportError as exc:
                skipped.append(f"{stage} ({exc.name or exc} is not installed)")
            timings[stage] = time.perf_counter() - t
        people = found.get("people") or {}
        return Description(
            received_at=received_at, width=full[0], height=full[1], analysed_size=image.size,
            text=found.get("ocr", []), qr=found.get("qr", []),
            colours=found.get("colours", []), faces=people.get("faces", []),
            hands=people.get("hands", []), people=people.get("people", []),
            objects=found.get("objects", []),
            skipped=skipped, timings=timings)

    def _stage_ocr(self, image: Any, rgb: Any, bgr: Any) -> list[str]:
        result = self._ocr_engine()(bgr)
        if not result.txts:
            return []
        lines = []
        for text, score, box in zip(result.txts, result.scores, result.boxes, strict=False):
            text = str(text).strip()
            if text and score >= MIN_OCR_SCORE:
                lines.append((float(box[:, 1].min()), float(box[:, 0].min()), text))
        return [t for _, _, t in sorted(lines)]

    def _stage_qr(self, image: Any, rgb: Any, bgr: Any) -> list[str]:
        import cv2

        if self._qr is None:  # the ArUco-based detector finds more codes; the classic one
            self._qr = (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector())  # is the fallback
        multi, single = self._qr
        ok, texts, _points, _ = multi.detectAndDecodeMulti(bgr)
        found = [t for t in texts if t] if ok else []
        if not found:
            one = single.detectAndDecode(bgr)[0]
            found = [one] if one else []
        return list(dict.fromkeys(found))

    def _stage_colours(self, image: Any, rgb: Any, bgr: Any) -> list[str]:
        return dominant_colours(image)

    def _stage_people(self, image: Any, rgb: Any, bgr: Any) -> dict[str, list[Found]]:
        return self._people_models().detect(rgb, where)

    def _stage_objects(self, image: Any, rgb: Any, bgr: Any) -> list[Found]:
        detector = self._objects_model()
        return detector.detect(rgb, where) if detector is not None else []
