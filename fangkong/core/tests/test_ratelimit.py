"""Rate counters: one row a key, shared by every process, a fixed window."""

from io import StringIO

import pytest
from django.core.management import call_command

from fangkong.core import ratelimit
from fangkong.core.errors import RateLimited
from fangkong.core.models import RateCounter

pytestmark = pytest.mark.django_db
WHAT = ("查找", "searches")


def test_counts_within_a_window_and_starts_again_in_the_next(clock):
    clock.move_to("2026-11-23T10:00:10+00:00", tick=False)
    assert [ratelimit.count("k", window_s=60) for _ in range(3)] == [1, 2, 3]
    assert ratelimit.used("k", window_s=60) == (3, 50)
    clock.shift(50)
    assert ratelimit.used("k", window_s=60) == (0, 60)
    assert ratelimit.count("k", window_s=60) == 1
    assert RateCounter.objects.count() == 1  # the row is reused, not added


def test_hit_refuses_past_the_limit_with_the_wait_in_both_languages(clock):
    clock.move_to("2026-11-23T10:00:45+00:00", tick=False)
    for _ in range(2):
        ratelimit.hit("k", limit=2, window_s=60, what=WHAT)
    with pytest.raises(RateLimited) as refused:
        ratelimit.hit("k", limit=2, window_s=60, what=WHAT)
    assert refused.value.retry_after == 15
    assert "查找过于频繁" in refused.value.zh and "15" in refused.value.zh
    assert refused.value.en.startswith("too many searches") and refused.value.code == "rate_limited"
    ratelimit.hit("other", limit=2, window_s=60, what=WHAT)  # keys are apart


def test_a_limit_of_zero_is_off():
    for _ in range(5):
        ratelimit.hit("k", limit=0, window_s=60, what=WHAT)
    assert not RateCounter.objects.exists()


def test_prune_counters_drops_only_old_windows(clock):
    ratelimit.count("old", window_s=60)
    clock.shift(2 * 86_400)
    ratelimit.count("new", window_s=60)
    out = StringIO()
    call_command("prune_counters", stdout=out)
    assert "Dropped 1" in out.getvalue()
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["new"]
