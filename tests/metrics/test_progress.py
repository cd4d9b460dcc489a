import logging

from ganlab.metrics.progress import Progress, format_seconds


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_lines_every_interval_with_rate_and_time_left(caplog):
    clock = Clock()
    progress = Progress("inception features of 1000 generated images", 1000, 30, clock)
    with caplog.at_level(logging.INFO, logger="ganlab.metrics"):
        clock.now = 20
        progress.update(100)  # before the first interval: quiet
        clock.now = 40
        progress.update(100)  # 200 in 40 s: 5/s, 800 left = 160 s
        clock.now = 50
        progress.update(100)  # 10 s after the last line: quiet
        clock.now = 200
        progress.update(700)  # the end is always reported
    what = "inception features of 1000 generated images"
    assert [r.getMessage() for r in caplog.records] == [
        f"{what}: 200/1000 images, 5.0 images/s, 2 min 40 s left",
        f"{what}: 1000/1000 images, 5.0 images/s, 0 s left",
    ]


def test_a_pass_shorter_than_the_interval_prints_nothing(caplog):
    clock = Clock()
    progress = Progress("mnistnet features", 500, 30, clock)
    with caplog.at_level(logging.INFO, logger="ganlab.metrics"):
        clock.now = 10
        progress.update(500)
    assert caplog.records == []


def test_format_seconds():
    assert [format_seconds(s) for s in (4, 65, 3700)] == ["4 s", "1 min 5 s", "1 h 1 min"]
