"""The search analyzer: the same tokens for a caption and for a query, in Chinese and English."""

from __future__ import annotations

from pathlib import Path

import pytest

from shua.search import analysis
from shua.search.analysis import analyse, analyse_query


class TestChinese:
    def test_search_mode_words_and_bigrams(self) -> None:
        a = analyse("小猫咪真可爱")
        assert {"小猫", "猫咪", "小猫咪", "可爱"} <= set(a.words)
        assert a.bigrams == ["小猫", "猫咪", "咪真", "真可", "可爱"]

    def test_bigrams_match_whatever_the_cut(self) -> None:
        """jieba cuts 同城热点 differently alone and in a caption; the bigrams agree."""
        alone, inside = analyse_query("同城热点"), analyse("今天去看同城热点新闻")
        assert "同城" not in alone.words and "同城" in inside.words  # the words disagree …
        assert set(alone.bigrams) <= set(inside.bigrams)  # … the bigrams do not

    def test_pinyin_whole_and_initials(self) -> None:
        a = analyse("张三的小猫")
        assert {"zhangsan", "zs", "xiaomao", "xm"} <= set(a.pinyin)
        assert "的" not in a.words  # a stop word

    def test_query_latin_words_are_pinyin_too(self) -> None:
        assert "xiaomao" in analyse_query("xiaomao").pinyin
        assert "xiaomao" in analyse_query("xiao mao").pinyin  # typed with a space
        assert "zs" in analyse_query("zs").pinyin

    def test_a_lone_character_stands_as_itself(self) -> None:
        assert analyse_query("猫").bigrams == ["猫"]


class TestEnglishAndTags:
    def test_lowercase_plurals_and_stop_words(self) -> None:
        a = analyse("Chengdu Street Food in 60 seconds, CATS and Puppies")
        assert a.words == ["chengdu", "street", "food", "60", "second", "cat", "puppy"]
        assert analyse_query("cat").words == ["cat"] and analyse_query("Cats").words == ["cat"]

    def test_hashtags_and_mentions_are_exact_tokens(self) -> None:
        a = analyse("三只橘猫的早晨 #猫咪日常 #Cats @zhangsan 来吗")
        assert a.tags == ["#猫咪日常", "#cats", "@zhangsan"]
        assert {"猫咪", "日常"} <= set(a.words)  # the hashtag's words are words too
        assert "zhangsan" not in a.words  # a handle is only a mention

    def test_full_width_text_is_folded(self) -> None:
        assert analyse("ＣＡＴ １２").words == ["cat", "12"]


class TestBadInput:
    @pytest.mark.parametrize("query", ["", "   ", "😀😺", '"', "*", "NEAR", "-", ":", "\x00\x1f", "#", "@"])
    def test_nothing_searchable_is_empty_not_an_error(self, query: str) -> None:
        a = analyse_query(query)
        assert a.is_empty() or a.words == ["near"], a

    def test_sql_and_fts_syntax_are_plain_words(self) -> None:
        a = analyse_query("cat' OR 1=1; -- NEAR(\"a\" *)")
        assert set(a.words) <= {"cat", "1", "near", "or"} and "cat" in a.words

    def test_a_huge_query_is_cut(self) -> None:
        a = analyse_query("猫" * 10_000)
        assert a.bigrams == ["猫猫"] and len("".join(a.words)) <= analysis.MAX_QUERY_CHARS

    def test_mixed_scripts(self) -> None:
        a = analyse_query("成都hotpot火锅2024")
        assert {"成都", "hotpot", "火锅", "2024"} <= set(a.words)


class TestUserDictionary:
    def test_operator_words_stay_whole(self, tmp_path: Path) -> None:
        assert "刷刷星球" not in analyse("刷刷星球上线了").words
        path = tmp_path / "userdict.txt"
        path.write_text("# a new hashtag\n刷刷星球 10 n\nx\n", encoding="utf-8")
        assert analysis.load_user_dictionary(path) == 1
        assert "刷刷星球" in analyse("刷刷星球上线了").words
        assert analysis.load_user_dictionary(tmp_path / "missing.txt") == 0
