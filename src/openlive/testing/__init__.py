"""Testing Live apps against openlive: the ``live_server`` pytest fixture (installed as a
pytest plugin with the package) and :func:`start_live_server` for use outside pytest."""

from .server import (
    LiveTestServer,
    ObservedSession,
    OptionError,
    running_live_server,
    start_live_server,
)

__all__ = ["LiveTestServer", "ObservedSession", "OptionError", "running_live_server",
           "start_live_server"]
