"""The fields every job's summary carries (jobs/skeleton.py), whatever the job."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flockpilot.jobs.skeleton import RunOutcome, RunSummary


def summary() -> RunSummary:
    return RunSummary(job="post", account="1", day=date(2026, 11, 25), started_at=datetime(2026, 11, 25, 9, tzinfo=UTC))


def test_only_a_failed_summary_carries_error_and_it_is_never_empty() -> None:
    s = summary()
    assert "error" not in s.to_json()
    s.mark_partial("3 slots missed")
    assert "error" not in s.to_json()
    s.mark_failed("revoked: replace the tokens")
    body = s.to_json()
    assert body["outcome"] == RunOutcome.FAILED.value
    assert body["error"] == "3 slots missed; revoked: replace the tokens"
    blank = summary()
    blank.mark_failed("")
    assert blank.to_json()["error"].strip()
