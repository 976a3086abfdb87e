"""The daily job's report says what reached the mail server, not what was written."""

from assetmap.jobs.daily import JobReport


def test_failed_reminders_are_not_counted_as_sent() -> None:
    report = JobReport(reminders={0: 2, 1: 1}, reminders_failed=2)
    (line,) = [text for text in report.lines() if text.startswith("reminders:")]
    assert line.startswith("reminders: 1 sent, 2 not delivered yet")
    assert "3 written (2 at level 1, 1 at level 2)" in line


def test_all_delivered_reads_as_sent() -> None:
    report = JobReport(reminders={0: 2})
    assert "reminders: 2 sent (2 at level 1)" in report.lines()
    assert "reminders: 0 sent" in JobReport().lines()
