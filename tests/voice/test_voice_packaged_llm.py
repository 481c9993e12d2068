"""The larger packaged LLM is one flag away: ``--llm-model qwen2.5-coder-1.5b``."""

from __future__ import annotations

import argparse

import pytest

from openlive.engines.audio.models import PACKAGED_LLMS
from openlive.engines.local import options
from openlive.engines.options import EngineOptionError


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    options.add_arguments(p.add_argument_group())
    return p.parse_args(list(argv))


def test_a_packaged_name_passes_the_path_check():
    options._checked(parse("--llm-model", "qwen2.5-coder-1.5b"))
    with pytest.raises(EngineOptionError, match="no such file"):
        options._checked(parse("--llm-model", "qwen2.5-coder-15b"))
    assert set(PACKAGED_LLMS) == {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"}
