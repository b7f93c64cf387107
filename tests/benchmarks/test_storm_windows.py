"""The storm's report: each fault's recovery counts the failures that fault caused."""

from __future__ import annotations

import argparse

from benchmarks import storm

START = 1000.0  # a monotonic clock's reading: only differences matter


def _storm_with(events: dict[str, float], failures: list[tuple[float, str, str, int]]):
    run = storm.Storm(args=argparse.Namespace(), stack=None)
    run.events = {name: START + at for name, at in events.items()}
    run.recorder.requests = [
        storm.Request(START + at, kind, outcome, status) for at, kind, outcome, status in failures
    ]
    return run


def test_failures_once_postgresql_restarts_are_not_the_kills() -> None:
    """The kill came late (the replica holding the mail was found first): PostgreSQL's
    restart began 10 s after it, within the kill's recovery limit."""
    run = _storm_with(
        {
            "kill": 0.0,
            "HAProxy saw it down": 1.1,
            "killed replica back": 6.7,
            "pg restart": 10.6,
            "pg up": 11.3,
        },
        [
            (0.4, "confirm", "ServerDisconnectedError", 0),  # in flight to the killed one
            (10.9, "sign-up", "HTTP 502", 502),  # while PostgreSQL restarted
        ],
    )

    run.close_windows(probe_failures=[11.0 + START])

    assert run.kill_recovery() == {
        "HAProxy took it out": 1.1,
        "requests failing until": 1.1,  # was 11.0: the restart's failures were counted
        "replica back in rotation": 6.7,
    }
    assert round(run.events["pg recovered"] - run.events["pg restart"], 2) == 0.7
    # Both failures still fall in a restart window: neither is a 5xx outside them.
    assert run.recorder.five_xx_outside() == []


def test_a_kill_long_before_the_restart_keeps_its_own_late_failures() -> None:
    run = _storm_with(
        {"kill": 0.0, "HAProxy saw it down": 1.0, "killed replica back": 6.0, "pg restart": 30.0},
        [(4.2, "checkout", "HTTP 500", 500)],  # within the recovery limit of the kill
    )

    run.close_windows(probe_failures=[])

    assert run.kill_recovery()["requests failing until"] == 4.2
