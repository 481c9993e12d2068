"""session/deadlines.py: connection lifetime, session duration (audio, video, compression),
goAway before the end, an engine's own goAway, and the 1011 DEADLINE_EXCEEDED close."""

from __future__ import annotations

import pytest

from openlive.session import Phase
from openlive.session.deadlines import seconds
from openlive.session.limits import Limits
from openlive.wire import errors
from openlive.wire.errors import LiveError

from .harness import Driver, live, video

LIFETIME = Limits(connection_lifetime=600, go_away_before=60, session_audio=None)


def closes_at(d: Driver, now: float) -> None:
    """tick(now) ends the connection with Google's 1011."""
    with pytest.raises(LiveError) as info:
        d.core.tick(now)
    assert (info.value.code, info.value.reason) == (1011, errors.DEADLINE_EXCEEDED)
    assert d.core.phase is Phase.CLOSED and d.core.next_deadline() is None


@pytest.mark.parametrize(("text", "value"), [("50s", 50.0), ("1.5s", 1.5), (" 10s ", 10.0),
                                             ("s", 0.0)])
def test_seconds(text, value):
    assert seconds(text) == value


def test_go_away_only_while_live():
    d = Driver()
    d.core.go_away("10s", 0.0)
    d.assert_sent()
    d = live()
    d.core.go_away("10s", 0.0)
    d.assert_sent({"goAway": {"timeLeft": "10s"}})
    d.core.close()
    d.core.go_away("5s", 0.0)
    d.assert_sent()


def test_connection_lifetime_go_away_then_deadline_close() -> None:
    d = Driver(now=1000.0, limits=LIFETIME).live()
    assert d.core.next_deadline() == 1540.0
    d.core.tick(1539.0)
    d.assert_sent()
    d.core.tick(1540.0)
    d.assert_sent({"goAway": {"timeLeft": "60s"}})
    assert d.core.next_deadline() == 1600.0
    closes_at(d, 1600.0)


def test_no_deadline_without_limits() -> None:
    d = live()
    assert d.core.next_deadline() is None
    d.core.tick(1e12)
    d.assert_sent()


def test_the_deadline_counts_from_the_connection_while_admitting() -> None:
    d = Driver(now=100.0, limits=LIFETIME).setup(sessionResumption={"handle": "h-slow"})
    assert d.core.phase is Phase.ADMITTING
    assert d.core.next_deadline() == 640.0
    d.core.tick(640.0)  # no goAway before the session is live
    d.assert_sent()
    closes_at(d, 700.0)


def test_session_limits_audio_video_and_compression() -> None:
    limits = Limits(connection_lifetime=None, go_away_before=0, session_audio=900,
                    session_video=120)
    d = Driver(now=0.0, limits=limits).live()
    assert d.core.next_deadline() == 900.0
    d.feed(video())
    assert d.core.next_deadline() == 120.0  # the first video frame moves the deadline
    c = Driver(now=0.0, limits=limits).live(contextWindowCompression={"slidingWindow": {}})
    assert c.core.next_deadline() is None


def test_resumed_session_keeps_its_start_for_the_duration_limit() -> None:
    limits = Limits(connection_lifetime=600, session_audio=900)
    s = Driver(now=0.0, limits=limits).live(sessionResumption={})
    snap = s.core.snapshot(expires_at=10_000.0)
    r = Driver(now=500.0, limits=limits).setup(sessionResumption={"handle": "h1"})
    r.admit({"h1": snap}, now=500.0)
    # session limit from the first connection, not 500 + 600
    assert r.core.deadlines.end(live=True, compressing=False) == 900.0
    assert r.core.next_deadline() == 900.0 - limits.go_away_before


# ------------------------------------------------- an engine's goAway (bug 3)

def test_after_an_engine_go_away_no_second_go_away_and_the_close_comes_on_time() -> None:
    d = Driver(now=0.0, limits=LIFETIME).live()
    assert d.core.next_deadline() == 540.0  # the limits' own goAway
    d.core.go_away("10s", 535.0)
    d.assert_sent({"goAway": {"timeLeft": "10s"}})
    assert d.core.next_deadline() == 545.0  # the engine's timeLeft, not 540 or 600
    d.core.tick(540.0)  # when the limits watcher would send its own goAway
    d.assert_sent()
    assert d.core.phase is Phase.LIVE and d.core.next_deadline() == 545.0
    closes_at(d, 545.0)
    d.assert_sent()


def test_an_engine_go_away_past_the_connection_end_still_ends_there() -> None:
    d = Driver(now=0.0, limits=LIFETIME).live()
    d.core.go_away("100s", 530.0)
    d.assert_sent({"goAway": {"timeLeft": "100s"}})
    assert d.core.next_deadline() == 600.0
    d.core.tick(540.0)
    d.assert_sent()
    closes_at(d, 600.0)


def test_an_engine_go_away_without_limits_closes_when_it_runs_out() -> None:
    d = live()
    d.core.go_away("2.5s", 10.0)
    d.drain()
    assert d.core.next_deadline() == 12.5
    d.core.tick(12.0)
    d.assert_sent()
    closes_at(d, 12.5)


def test_a_second_engine_go_away_keeps_the_earlier_close() -> None:
    d = live()
    d.core.go_away("30s", 0.0)
    d.core.go_away("60s", 10.0)
    assert d.core.next_deadline() == 30.0
    d.core.go_away("5s", 20.0)
    assert d.core.next_deadline() == 25.0


def test_a_connection_without_a_setup_closes_at_the_setup_timeout():
    """openlive's own limit (Google documents none): an idle socket cannot hold a slot."""
    limits = Limits(connection_lifetime=None, session_audio=None, session_video=None,
                    setup_timeout=30.0)
    d = Driver(limits=limits, now=100.0)
    assert d.core.next_deadline() == 130.0
    d.core.tick(129.0)
    with pytest.raises(LiveError) as info:
        d.core.tick(130.0)
    assert (info.value.code, info.value.reason) == (1011, errors.DEADLINE_EXCEEDED)
    assert d.core.phase is Phase.CLOSED
    ok = Driver(limits=limits, now=100.0).live()
    assert ok.core.next_deadline() is None  # a setup came: no setup deadline any more
    ok.core.tick(500.0)
    assert ok.core.phase is Phase.LIVE
