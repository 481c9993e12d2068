"""COCO objects ("a dog on the left, a cup") with CenterNet, run by onnxruntime.

The model is CenterNet on a MobileNetV3 backbone (``models/centernet.*`` of the npm package
``@vladmandic/human@3.3.6``, from github.com/610265158/mobilenetv3_centernet), converted from
its TFJS graph to ONNX at install time (:mod:`.objects_install`) and cut at its two heads:

* ``tower_0/keypoints``: 1x128x128x80, a sigmoid heat map per COCO class (stride 4);
* ``tower_0/wh``: 1x128x128x4, the distances from each cell's centre to the box's left,
  top, right and bottom edges, in input pixels.

The frame is scaled to fit 512x512 keeping its aspect ratio and padded with grey (stretching
it, as ``@vladmandic/human`` does, turned the cat photo into a dog); RGB values 0-255. The
decoding is the graph's own, in NumPy: peaks are the cells equal to the 3x3 max-pool of the
heat map, the ``TOP_K`` best peaks above ``MIN_SCORE`` are kept, and a per-class overlap test
drops duplicates. Not thread-safe: :class:`~.analyser.FrameAnalyser` calls it under its lock.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .description import Found

__all__ = ["COCO_LABELS", "INPUT", "MIN_SCORE", "ObjectDetector", "decode", "letterbox"]

INPUT = 512
STRIDE = 4
MIN_SCORE = 0.4
TOP_K = 100
MAX_OBJECTS = 10
MAX_OVERLAP = 0.5  # IoU above which a same-class box is a duplicate
PAD = 114  # grey fill of the letterbox
OUTPUTS = ("tower_0/keypoints", "tower_0/wh")
INPUT_NAME = "tower_0/images"

COCO_LABELS = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)


def letterbox(rgb: np.ndarray, size: int = INPUT) -> tuple[np.ndarray, float]:
    """``rgb`` (HxWx3 uint8) scaled to fit ``size`` x ``size``, top-left, padded with grey:
    (1 x size x size x 3 float32, the scale applied)."""
    from PIL import Image

    h, w = rgb.shape[:2]
    k = size / max(h, w)
    nw, nh = max(1, round(w * k)), max(1, round(h * k))
    image = Image.fromarray(rgb)
    if (nw, nh) != (w, h):
        image = image.resize((nw, nh), Image.BILINEAR)
    out = np.full((size, size, 3), PAD, np.float32)
    out[:nh, :nw] = np.asarray(image, np.float32)
    return out[None], k


def _peaks(heat: np.ndarray) -> np.ndarray:
    """Cells of ``heat`` (H x W x C) that equal the 3x3 max around them (TF's SAME max-pool,
    which ignores the padding)."""
    padded = np.pad(heat, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    h, w = heat.shape[:2]
    pooled = heat.copy()
    for dy in range(3):
        for dx in range(3):
            np.maximum(pooled, padded[dy:dy + h, dx:dx + w], out=pooled)
    return heat == pooled


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def decode(heat: np.ndarray, wh: np.ndarray, *, min_score: float = MIN_SCORE,
           top_k: int = TOP_K, max_objects: int = MAX_OBJECTS,
           ) -> list[tuple[int, float, np.ndarray]]:
    """(class, score, box x1 y1 x2 y2 in input pixels) of the objects in CenterNet's heads:
    ``heat`` H x W x C, ``wh`` H x W x 4; best first."""
    heat = heat.astype(np.float32, copy=False)
    scores = np.where(_peaks(heat), heat, 0.0).reshape(-1)
    n_cls = heat.shape[2]
    k = min(top_k, scores.size)
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    kept: list[tuple[int, float, np.ndarray]] = []
    for i in best:
        score = float(scores[i])
        if score < min_score or len(kept) >= max_objects:
            break
        cell, cls = divmod(int(i), n_cls)
        y, x = divmod(cell, heat.shape[1])
        left, top, right, bottom = (float(v) for v in wh[y, x])
        cx, cy = x * STRIDE, y * STRIDE
        box = np.array([cx - left, cy - top, cx + right, cy + bottom], np.float32)
        if any(c == cls and _iou(box, b) > MAX_OVERLAP for c, _, b in kept):
            continue
        kept.append((cls, score, box))
    return kept


class ObjectDetector:
    def __init__(self, model: Path, *, threads: int = 2) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # no busy-waiting between frames: the cores are the speech and LLM stages' too
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model), options,
                                             providers=["CPUExecutionProvider"])

    def heads(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """The raw heads for ``rgb`` (H x W x 3 uint8): heat map, box sizes, input scale."""
        x, k = letterbox(rgb)
        heat, wh = self._session.run(list(OUTPUTS), {INPUT_NAME: x})
        return heat[0], wh[0], k

    def detect(self, rgb: np.ndarray, where: Callable[[float, float], str],
               *, min_score: float = MIN_SCORE) -> list[Found]:
        """The objects in ``rgb``, best first, each with a rough position."""
        heat, wh, k = self.heads(rgb)
        h, w = rgb.shape[:2]
        out = []
        for cls, score, box in decode(heat, wh, min_score=min_score):
            x1, y1, x2, y2 = (box / k).tolist()
            cx = min(max((x1 + x2) / 2 / w, 0.0), 1.0)
            cy = min(max((y1 + y2) / 2 / h, 0.0), 1.0)
            out.append(Found(COCO_LABELS[cls], where(cx, cy), round(score, 3)))
        return out
