"""MEMORY DOCTOR's report (redislite/commands/memory.py) from the INFO memory figures.

The texts are Redis 7.0.15's, captured from Debian's redis-server; the
compat suite compares the empty-instance report byte for byte."""

from redislite.commands.memory import doctor_report

MB = 1024 * 1024


def figures(used, peak=None, rss=None, scripts=0):
    rss = used if rss is None else rss
    return {"used": used, "peak": used if peak is None else peak, "rss": rss,
            "frag": rss / used, "scripts": scripts, "startup": 0, "dataset": used}


def test_an_instance_under_5_mb_is_too_small_to_judge():
    report = doctor_report(figures(4 * MB, peak=100 * MB, rss=400 * MB, scripts=5000))
    assert report.startswith("Hi Sam, this instance is empty or is using very little memory")
    assert report.endswith("as soon as I finished rebooting.\n")


def test_nothing_to_report():
    assert doctor_report(figures(50 * MB, peak=70 * MB, rss=65 * MB, scripts=1000)) == (
        "Hi Sam, I can't find any memory issue in your instance. "
        "I can only account for what occurs on this base.\n")


def test_each_issue_in_redis_order_between_the_header_and_the_footer():
    report = doctor_report(figures(10 * MB, peak=16 * MB, rss=30 * MB, scripts=1001))
    assert report.startswith("Sam, I detected a few issues in this Redis instance memory implants:\n\n")
    assert report.endswith("I'm here to keep you safe, Sam. I want to help you.\n")
    peak = report.index(" * Peak memory: In the past this instance used more than 150%")
    rss = report.index(" * High total RSS: ")
    scripts = report.index(" * Many scripts: There seem to be many cached scripts")
    assert peak < rss < scripts
    assert 'The currently used allocator is "python".\n\n' in report


def test_high_rss_needs_both_the_ratio_and_10_mb():
    # ratio 3 but only 10 MB over: not reported (Redis: > 1.4 and > 10 MB)
    assert doctor_report(figures(5 * MB, rss=15 * MB)).startswith("Hi Sam, I can't find")
    assert "High total RSS" in doctor_report(figures(5 * MB, rss=15 * MB + 1))
    # 20 MB over but a ratio of 1.2: not reported
    assert doctor_report(figures(100 * MB, rss=120 * MB)).startswith("Hi Sam, I can't find")
