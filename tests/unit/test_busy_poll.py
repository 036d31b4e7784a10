"""reactor_tuning.wait: spin on poll(0) while traffic is dense, else block as before.

A scripted poller and clock stand in for epoll and perf_counter, so every
branch is checked without timing anything.
"""

import pytest

from redislite import reactor_tuning as rt
from redislite.config import Config


class Script:
    """A poller whose answers come from a list; each poll advances the clock."""

    def __init__(self, answers, step=1e-6):
        self.answers = list(answers)
        self.calls = []
        self.now = 100.0
        self.step = step

    def clock(self):
        return self.now

    def poll(self, timeout, maxevents):
        self.calls.append(timeout)
        self.now += self.step if timeout == 0 or not self.answers or self.answers[0] else timeout
        return self.answers.pop(0) if self.answers else []


def busy(warm, window=50e-6):
    b = rt.BusyPoll()
    b.window = window
    b.warm = warm
    return b


def test_cold_waits_block_once_and_a_quick_event_warms_up():
    s = Script([[(5, 1)]])
    b = busy(warm=False)
    assert rt.wait(s.poll, 8, 1.5, b.window, b, s.clock) == [(5, 1)]
    assert s.calls == [1.5]             # no spin: one blocking poll, as without busy polling
    assert b.warm                       # the event came within twice the window


def test_warm_wait_spins_until_the_event():
    s = Script([[], [], [], [(7, 1)]])
    b = busy(warm=True)
    assert rt.wait(s.poll, 8, 1.5, b.window, b, s.clock) == [(7, 1)]
    assert s.calls == [0, 0, 0, 0]      # never slept
    assert b.warm
    assert (b.found, b.empty) == (1, 0)


def test_a_spin_that_finds_nothing_sleeps_for_the_rest_and_cools_down():
    s = Script([[]] * 100 + [[]], step=10e-6)
    b = busy(warm=True)
    assert rt.wait(s.poll, 8, 2.0, b.window, b, s.clock) == []
    spins = [t for t in s.calls if t == 0]
    assert 1 <= len(spins) <= 6         # about window / step non-blocking polls
    assert s.calls[-1] == pytest.approx(2.0 - len(spins) * 10e-6)   # the remaining timeout
    assert not b.warm                   # the wait was long: sleep at once next time
    assert (b.found, b.empty) == (0, 1)


def test_a_reactor_timeout_shorter_than_the_window_ends_the_spin():
    s = Script([[]] * 100, step=10e-6)
    b = busy(warm=True)
    assert rt.wait(s.poll, 8, 20e-6, b.window, b, s.clock) == []
    assert set(s.calls) == {0}          # only non-blocking polls: the timer is due
    assert len(s.calls) <= 3


def test_no_timeout_means_block_after_the_spin():
    s = Script([[]] * 5 + [[(3, 1)]], step=10e-6)
    b = busy(warm=True)
    assert rt.wait(s.poll, 8, -1, b.window, b, s.clock) == [(3, 1)]
    assert s.calls[-1] == -1


def test_configure_reads_the_parameter_and_zero_turns_it_off(monkeypatch):
    b = rt.BusyPoll()
    monkeypatch.setattr(rt.os, "sched_getaffinity", lambda pid: {0, 1})
    b.configure(Config.defaults()["busy-poll-usec"])
    assert b.window == pytest.approx(50e-6)
    b.warm = True
    b.configure(0)
    assert b.window == 0 and not b.warm


def test_a_single_cpu_never_spins(monkeypatch):
    b = rt.BusyPoll()
    monkeypatch.setattr(rt.os, "sched_getaffinity", lambda pid: {0})
    b.configure(50)
    assert b.window == 0
