"""The short soak (`make soak` runs 10,000): deliveries for every source over HTTP,
duplicates, injected receiver faults with provider retries, flaky and poison
handlers, Twilio SMS form posts, 3% of bodies over 300 KB (some claim-checked). Nothing accepted is lost,
nothing is processed twice."""

from __future__ import annotations

from benchmarks.soak import run


def test_a_short_soak_loses_nothing_and_processes_nothing_twice() -> None:
    result = run(300, chaos=0.05, seed=11, log=lambda line: None)
    poison = {envelope for envelope, marker in result.markers.items() if marker == "poison"}
    flaky = {envelope for envelope, marker in result.markers.items() if marker == "flaky"}
    assert (len(result.lost), result.processed_twice) == (0, 0), result.report()
    assert (result.rejected, result.gave_up) == (0, 0), result.report()
    assert result.large_deliveries >= 0.02 * result.deliveries, result.report()
    assert any(envelope.startswith("twilio/") for envelope in result.processed)  # Twilio's SMS form posts
    assert result.injected > 0  # the faults happened, and the providers' retries got through
    # 30% of 300: answered 200, or (a copy arriving after the first's claim ran out while the
    # queue was backed up) taken over and absorbed by the processor's lock.
    assert result.duplicates + result.taken_over >= 80
    assert result.dead_lettered == poison  # exactly the poison, nothing else
    assert flaky <= set(result.processed)  # failed once, then succeeded
    assert result.handler_failures >= len(flaky) + len(poison)
