"""`openlive serve`'s logs: plain text, or one JSON object a line (``--log-format json``).

JSON lines come from python-json-logger: ``time``, ``level``, ``logger``, ``message``, the
``worker`` with ``--workers N``, the ``session`` (the number in a line's ``[session N]``
label) and any ``close_code`` a line carries (``extra={"close_code": ...}``), and the
traceback as ``exc_info``. openlive never logs keys, tokens or resumption handles; as a
second guard, every configured API key is masked (``***``) in every line, in both formats.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

from pythonjsonlogger.json import JsonFormatter

LOG_FORMATS = ("text", "json")
_SESSION = re.compile(r"\[session (\d+)\]")


class _SessionJson(JsonFormatter):
    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        found = _SESSION.search(log_data.get("message") or "")
        if found is not None:
            log_data["session"] = int(found.group(1))


class _MaskSecrets(logging.Filter):
    """Replaces each secret in a record's message with ``***`` (a last guard)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._pattern = re.compile("|".join(re.escape(s) for s in sorted(
            {s for s in secrets if s}, key=len, reverse=True)))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._pattern.sub("***", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: str = "info", log_format: str = "text", *, worker: str = "",
              secrets: Iterable[str] = (), stream: Any = None) -> None:
    """Install the root handler (replacing any earlier one)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        static = {"worker": worker} if worker else None
        handler.setFormatter(_SessionJson(
            "{asctime}{levelname}{name}{message}", style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields=static))
    else:
        tag = f" w{worker}" if worker else ""
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s %(levelname)-7s %(name)s{tag}: %(message)s"))
    secrets = [s for s in secrets if s]
    if secrets:
        handler.addFilter(_MaskSecrets(secrets))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
