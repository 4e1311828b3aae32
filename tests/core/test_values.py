"""IDs, money, cursors and language negotiation."""

from __future__ import annotations

import multiprocessing
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from shua.core import ids
from shua.core.errors import InvalidRequest
from shua.core.i18n import negotiate, translator
from shua.core.money import CurrencyMismatch, Money
from shua.core.pagination import decode_cursor, encode_cursor


def _ids_in_child(n: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put([ids.new_id() for _ in range(n)])


class TestIds:
    def test_unique_and_increasing(self) -> None:
        generated = [ids.new_id() for _ in range(20_000)]  # several thousand per millisecond
        assert len(set(generated)) == len(generated)
        assert generated == sorted(generated)
        assert all(0 < i < 2**63 for i in generated)

    def test_time_ordered(self) -> None:
        before = int(time.time() * 1000)
        value = ids.new_id()
        assert before - 5 <= ids.id_timestamp_ms(value) <= int(time.time() * 1000) + 5

    def test_node_bits_distinguish_generators(self) -> None:
        a, b = ids.IdGenerator(1), ids.IdGenerator(2)
        assert {a.next_id() for _ in range(1000)}.isdisjoint({b.next_id() for _ in range(1000)})
        with pytest.raises(ValueError):
            ids.IdGenerator(1024)

    def test_processes_do_not_collide(self) -> None:
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        procs = [ctx.Process(target=_ids_in_child, args=(3000, out)) for _ in range(3)]
        for p in procs:
            p.start()
        batches = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join()
        merged = [i for batch in batches for i in batch] + [ids.new_id() for _ in range(3000)]
        assert len(set(merged)) == len(merged)

    def test_json_string_both_ways(self) -> None:
        class M(BaseModel):
            id: ids.ID

        big = 2**62 + 12345
        assert M(id=big).model_dump_json() == f'{{"id":"{big}"}}'
        assert M.model_validate({"id": str(big)}).id == big
        assert M.model_validate_json(f'{{"id":"{big}"}}').id == big


class TestMoney:
    def test_arithmetic_stays_integral(self) -> None:
        assert Money(1999) + Money(1) == Money(2000)
        assert (Money(100) - Money(250)).amount == -150
        assert Money(12345).format() == "123.45 CNY"
        assert Money(-5).format() == "-0.05 CNY"

    def test_refuses_floats_and_mixed_currencies(self) -> None:
        with pytest.raises(TypeError):
            Money(1.5)  # type: ignore[arg-type]
        with pytest.raises(CurrencyMismatch):
            Money(1, "CNY") + Money(1, "USD")
        with pytest.raises(ValueError):
            Money(1, "XXX")

    @given(st.integers(min_value=0, max_value=10**12),
           st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=8).filter(lambda r: sum(r) > 0))
    def test_allocate_never_loses_a_fen(self, amount: int, ratios: list[int]) -> None:
        parts = Money(amount).allocate(ratios)
        assert sum(p.amount for p in parts) == amount
        assert all(p.amount >= 0 for p in parts)


class TestCursor:
    @given(st.dictionaries(st.sampled_from(["id", "t", "score"]), st.integers() | st.text(max_size=20)))
    def test_round_trip(self, values: dict[str, object]) -> None:
        assert decode_cursor(encode_cursor(values)) == values

    @pytest.mark.parametrize("bad", ["!!!", "bm90IGpzb24", "WzEsMl0", "%%%%"])
    def test_garbage_is_a_client_error(self, bad: str) -> None:
        with pytest.raises(InvalidRequest):
            decode_cursor(bad)


class TestLanguage:
    @pytest.mark.parametrize(("header", "expected"), [
        ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"), ("zh-TW", "zh-CN"),
        ("fr-FR,en;q=0.5", "en"), ("", "zh-CN"), (None, "zh-CN"), ("en;q=0.2,zh;q=0.9", "zh-CN"),
        ("garbage;;q=x", "zh-CN"),
    ])
    def test_accept_language(self, header: str | None, expected: str) -> None:
        assert negotiate(header) == expected

    def test_explicit_choice_wins(self) -> None:
        assert negotiate("zh-CN", preferred="en") == "en"
        assert negotiate("en", preferred="klingon") == "en"

    def test_missing_key_falls_back_to_key(self) -> None:
        assert translator("en")("no.such.key") == "no.such.key"
