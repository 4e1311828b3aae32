"""The mixer: followed creators get exactly the configured share of slots; creators and topics
are spread."""

from __future__ import annotations

import random

import pytest

from shua.feed.mixer import Candidate, MixState, mix


def candidates(rng: random.Random, *, inside: int = 30, outside: int = 60) -> list[Candidate]:
    rows = [Candidate(video_id=i, owner_id=rng.randrange(40), score=rng.random(), source="following",
                      in_network=True, topic=f"t{rng.randrange(8)}") for i in range(inside)]
    rows += [Candidate(video_id=1000 + i, owner_id=100 + rng.randrange(400), score=rng.random(), source="trending",
                       topic=f"t{rng.randrange(8)}") for i in range(outside)]
    return sorted(rows, key=lambda c: c.score, reverse=True)


class TestFollowShare:
    @pytest.mark.parametrize("share", [0.0, 0.10, 0.30, 0.5])
    def test_measured_share_matches_the_knob_over_10k_pages(self, share: float) -> None:
        rng = random.Random(7)
        state = MixState()
        placed = followed = 0
        for _ in range(10_000):
            # the cursor carries the state between pages, as JSON
            state = MixState.from_json(state.to_json())
            page = mix(candidates(rng), size=10, follow_share=share, state=state)
            placed += len(page)
            followed += sum(c.in_network for c in page)
        assert placed == 100_000
        assert abs(followed / placed - share) <= 0.01  # within ±1 percentage point

    def test_no_burst_after_a_drought_of_followed_videos(self) -> None:
        rng = random.Random(3)
        state = MixState()
        for _ in range(50):  # nothing new from followed creators for a while
            mix(candidates(rng, inside=0), size=10, follow_share=0.1, state=state)
        page = mix(candidates(rng), size=10, follow_share=0.1, state=state)
        assert sum(c.in_network for c in page) <= 1

    def test_only_followed_videos_left_still_fill_the_page(self) -> None:
        page = mix(candidates(random.Random(1), outside=0), size=10, follow_share=0.1, state=MixState())
        assert len(page) == 10


class TestDiversity:
    def test_never_the_same_creator_twice_in_a_row_when_avoidable(self) -> None:
        rng = random.Random(5)
        state = MixState()
        for _ in range(500):
            page = mix(candidates(rng), size=10, follow_share=0.1, state=state)
            assert all(a.owner_id != b.owner_id for a, b in zip(page, page[1:], strict=False))

    def test_topics_spread(self) -> None:
        rows = [Candidate(video_id=i, owner_id=i, score=100 - i, source="trending", topic="cats" if i < 6 else "food")
                for i in range(12)]
        page = mix(rows, size=6, follow_share=0.0, state=MixState())
        topics = [c.topic for c in page]
        assert topics[:3] == ["cats", "cats", "food"]  # two of the best topic, then a change

    def test_a_forged_state_is_harmless(self) -> None:
        for junk in (None, 3, "x", {"c": "lots", "o": "-1; drop", "t": [1, {}]}, {"c": 1e9}):
            state = MixState.from_json(junk)
            assert 0.0 <= state.credit <= 1.0 and state.last_owner is None or isinstance(state.last_owner, int)


class TestTopicSpread:
    def _tied(self) -> list[Candidate]:
        # A cold-start ranking: one topic fills the top (a batch of uploads, no engagement yet).
        rows = [Candidate(video_id=i, owner_id=i % 2, score=1.0 - i / 100, source="trending", topic="games")
                for i in range(10)]
        rows += [Candidate(video_id=100 + i, owner_id=10 + i, score=0.5 - i / 100, source="trending",
                           topic=f"t{i % 4}") for i in range(12)]
        return rows

    def test_never_three_of_a_topic_in_a_row_however_far_the_next_topic_is(self) -> None:
        page = mix(self._tied(), size=8, follow_share=0.0, state=MixState())
        topics = [c.topic for c in page]
        assert all(len({*topics[i:i + 3]}) > 1 for i in range(len(topics) - 2)), topics

    def test_a_topic_cap_spreads_the_page(self) -> None:
        page = mix(self._tied(), size=8, follow_share=0.0, state=MixState(), topic_cap=2)
        topics = [c.topic for c in page]
        assert topics.count("games") == 2 and len(set(topics)) == 5, topics

    def test_the_cap_relaxes_rather_than_leave_slots_empty(self) -> None:
        rows = [Candidate(video_id=i, owner_id=i % 3, score=1.0 - i / 100, source="trending", topic="games")
                for i in range(6)]
        assert len(mix(rows, size=5, follow_share=0.0, state=MixState(), topic_cap=2)) == 5
