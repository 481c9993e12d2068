"""The fixture's equivalent of `openlive serve --permissive`: the marker keyword
``permissive=True`` (a ServerConfig field) lifts the per-model refusals (issue 12)."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

from openlive.testing import running_live_server
from openlive.wire import endpoints

TEXT_ON_3_8 = {"setup": {"model": "models/gemini-3.8-live",
                         "generationConfig": {"responseModalities": ["TEXT"]}}}


@pytest.mark.parametrize("permissive,answer", [
    (False, None), (True, {"setupComplete": {}})])
def test_permissive_is_one_keyword_away(permissive, answer):
    with running_live_server(tls=False, permissive=permissive) as server:
        url = endpoints.live_url(server.url)
        with connect(url, open_timeout=10, close_timeout=2) as ws:
            ws.send(json.dumps(TEXT_ON_3_8))
            if answer is not None:
                assert json.loads(ws.recv(timeout=10)) == answer
                return
            with pytest.raises(Exception) as closed:
                ws.recv(timeout=10)
    assert closed.value.rcvd.code == 1007
    assert closed.value.rcvd.reason == "Cannot extract voices from a non-audio request."
