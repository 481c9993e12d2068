"""tts.DueFirstLock: synthesis takes turns by when its audio is due, then first come."""

from __future__ import annotations

import threading
import time

from openlive.engines.audio.tts import DueFirstLock


def test_waiters_get_the_lock_in_order_of_due_time_then_arrival():
    lock = DueFirstLock()
    order: list[str] = []

    def take(name: str, due: float) -> None:
        with lock.held(due):
            order.append(name)

    release = threading.Event()

    def first() -> None:
        with lock.held(0.0):
            release.wait(10)

    holder = threading.Thread(target=first)
    holder.start()
    waiters = [threading.Thread(target=take, args=args) for args in
               [("later clause", 5.0), ("first clause", 1.0), ("second clause", 3.0),
                ("another first clause", 1.0)]]
    for t in waiters:  # one by one, so that arrival order is known
        queued = len(lock._queue)
        t.start()
        deadline = time.monotonic() + 10
        while len(lock._queue) == queued and time.monotonic() < deadline:
            time.sleep(0.001)
    assert len(lock._queue) == 4
    release.set()
    for t in [holder, *waiters]:
        t.join(10)
    assert order == ["first clause", "another first clause", "second clause", "later clause"]


def test_an_uncontended_lock_is_taken_at_once_and_released_on_error():
    lock = DueFirstLock()
    try:
        with lock.held(time.monotonic() + 60):  # due later, but nobody else waits
            raise ValueError("synthesis failed")
    except ValueError:
        pass
    done = threading.Event()
    t = threading.Thread(target=lambda: (lock.held(0.0).__enter__(), done.set()))
    t.start()
    assert done.wait(5)
