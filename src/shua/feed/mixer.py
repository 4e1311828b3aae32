"""The last step of For You: turn ranked candidates into a page.

The follow share is a policy, not an accident of ranking: Douyin found that showing followed
creators in the recommended feed more than about 10 % of the time lowered dwell time, so the
mixer hands out in-network slots at exactly that rate (`SHUA_FEED_FOLLOW_SHARE`, default 0.10,
varied by experiments). It uses error diffusion rather than a coin per slot: a credit grows by the
share every slot and an in-network item is placed whenever a whole credit is there, so the share
converges to the knob precisely and does not drift at page boundaries (the credit travels in the
cursor). When no followed creator has anything new, the credit is capped at one slot instead of
building up into a burst of followed videos later.

Diversity: never two items from one creator in a row while anyone else has a candidate, and
never three of one topic in a row while any candidate has another topic (ranking ties are common
at cold start — a batch of uploads, no engagement yet — and a near-rank-only rule let one topic
fill the page); both rules relax rather than leave a slot empty, the topic rule first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shua.core.ids import parse_id


@dataclass(frozen=True)
class Candidate:
    video_id: int
    owner_id: int
    score: float
    source: str
    in_network: bool = False  # from a creator the viewer follows
    topic: str | None = None  # the first hashtag or category, for topic spread


@dataclass
class MixState:
    """What one page leaves for the next (it rides in the cursor)."""

    credit: float = 0.0
    last_owner: int | None = None
    recent_topics: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"c": round(self.credit, 4), "o": str(self.last_owner) if self.last_owner else None,
                "t": self.recent_topics[-2:]}

    @classmethod
    def from_json(cls, data: object) -> MixState:
        if not isinstance(data, dict):
            return cls()
        credit = data.get("c")
        owner = data.get("o")
        topics = data.get("t")
        return cls(
            credit=min(1.0, max(0.0, float(credit))) if isinstance(credit, int | float) else 0.0,
            last_owner=parse_id(owner) if isinstance(owner, str) else None,
            recent_topics=[t for t in topics if isinstance(t, str)][-2:] if isinstance(topics, list) else [],
        )


def _pick(pool: list[Candidate], state: MixState, page_topics: dict[str, int], topic_cap: int | None) -> Candidate:
    # The rules reach as far down as it takes: a prolific creator or a popular topic can fill
    # the whole top of the ranking, and a run of them is what people notice.
    def spread(candidate: Candidate) -> bool:
        return candidate.owner_id != state.last_owner and not (
            candidate.topic is not None and state.recent_topics[-2:] == [candidate.topic] * 2)

    if topic_cap is not None:
        for candidate in pool:
            if spread(candidate) and (candidate.topic is None or page_topics.get(candidate.topic, 0) < topic_cap):
                return candidate
    for candidate in pool:
        if spread(candidate):
            return candidate
    for candidate in pool:
        if candidate.owner_id != state.last_owner:
            return candidate
    return pool[0]


def mix(ranked: list[Candidate], *, size: int, follow_share: float, state: MixState,
        topic_cap: int | None = None) -> list[Candidate]:
    """Up to `size` candidates in page order; `state` is updated for the next page. With
    `topic_cap`, at most that many of one topic per page while other topics have candidates
    (For You sets it for a viewer it knows nothing about: a spread of categories to start from)."""
    share = min(1.0, max(0.0, follow_share))
    inside = [c for c in ranked if c.in_network]
    outside = [c for c in ranked if not c.in_network]
    page: list[Candidate] = []
    page_topics: dict[str, int] = {}
    while len(page) < size and (inside or outside):
        state.credit = min(1.0 + share, state.credit + share)
        use_inside = bool(inside) and (state.credit >= 1.0 - 1e-9 or not outside)
        pool = inside if use_inside else outside
        chosen = _pick(pool, state, page_topics, topic_cap)
        pool.remove(chosen)
        if chosen.in_network:
            state.credit = max(0.0, state.credit - 1.0)
        elif not inside:
            state.credit = min(state.credit, 1.0 - share)  # nothing followed to show: do not save up
        page.append(chosen)
        state.last_owner = chosen.owner_id
        if chosen.topic is not None:
            state.recent_topics = [*state.recent_topics, chosen.topic][-2:]
            page_topics[chosen.topic] = page_topics.get(chosen.topic, 0) + 1
    return page
