"""`webhooks events`' parts that need no stack: its options, the replay's pace and
what it says of an event it leaves alone."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from webhook_core.ledger import STATUSES
from webhooks_cli.cli import main
from webhooks_cli.errors import CliError
from webhooks_cli.events import parse_statuses, why_not_replayed
from webhooks_cli.replaying import ALREADY_PROCESSED, Pace, ReplayReport


def test_statuses_are_repeated_or_comma_lists_checked_against_the_ledgers() -> None:
    assert parse_statuses(["dead", "processed,Failed", " queued , dead"]) == ("dead", "processed", "failed", "queued")
    assert parse_statuses([",".join(STATUSES)]) == STATUSES
    with pytest.raises(CliError, match="no status 'done'; the statuses are received, queued"):
        parse_statuses(["processed,done"])


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["list", "--status", "done"], "no status 'done'"),
        (["list", "--since", "last week"], "--since takes 30m, 2h, 7d or an ISO time"),
        (["list", "--since", "1h", "--until", "2h"], "--until is not after --since"),
        (["replay"], "say which events: IDS, or --since"),
        (["replay", "stripe/evt_1", "--status", "dead"], "give IDS or filters, not both"),
    ],
)
def test_options_are_refused_before_any_stack_is_needed(arguments: list[str], said: str) -> None:
    result = CliRunner().invoke(main, ["events", *arguments])
    assert result.exit_code == 1
    assert said in result.output


def test_the_pace_spaces_sends_by_the_rate_and_zero_is_no_limit() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pace = Pace(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        pace.wait()
    assert slept == [0.25, 0.25]
    now[0] += 1  # a slow send leaves nothing to wait for
    pace.wait()
    assert slept == [0.25, 0.25]
    unlimited = Pace(0, clock=lambda: now[0], sleep=sleep)
    unlimited.wait()
    unlimited.wait()
    assert slept == [0.25, 0.25]


def test_why_an_event_is_not_replayed() -> None:
    assert why_not_replayed("processed", force=False, locked=False) == ALREADY_PROCESSED
    assert why_not_replayed("unhandled", force=False, locked=False) == "already unhandled; --force runs it again"
    assert why_not_replayed("processed", force=True, locked=False) is None
    assert why_not_replayed("dead", force=False, locked=False) is None
    assert why_not_replayed("failed", force=False, locked=False) is None
    assert "may still be running" in (why_not_replayed("failed", force=True, locked=True) or "")
    assert "already queued" in (why_not_replayed("queued", force=True, locked=False) or "")
    assert "being processed" in (why_not_replayed("processing", force=True, locked=False) or "")


def test_the_report_counts_each_outcome_and_groups_the_skips() -> None:
    told: list[tuple[str, str, str]] = []
    report = ReplayReport(on_progress=lambda *event: told.append(event))
    report.add("a", "sent")
    report.add("b", "skipped", ALREADY_PROCESSED)
    report.add("c", "skipped", ALREADY_PROCESSED)
    report.add("d", "failed", "not sent: InternalError")
    assert report.summary("sent") == "sent 1, skipped 2, failed 1"
    assert report.skip_reasons() == [(ALREADY_PROCESSED, 2)]
    assert [event[:2] for event in told] == [("a", "sent"), ("b", "skipped"), ("c", "skipped"), ("d", "failed")]
