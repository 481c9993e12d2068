import pytest

from openlive.engines.vision.analyser import FrameAnalyser


@pytest.fixture(scope="session")
def analyser() -> FrameAnalyser:
    """The real analyser with every stage's real models (the vision extra), loaded once."""
    a = FrameAnalyser(threads=2)
    a.load()
    return a
