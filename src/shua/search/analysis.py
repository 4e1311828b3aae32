"""Text analysis for search: the same tokens for indexing and for queries.

Chinese is cut with jieba in search mode (小猫咪 → 小猫 / 猫咪 / 小猫咪), with an operator-extendable
user dictionary for new slang and hashtags. jieba cuts one string differently by context (同城热点
alone → 同 / 城 / 热点; inside a caption → 同城 / 热点), so words alone miss exact matches: every
run of Chinese also gives its character bigrams, a field that matches whatever the cut. Chinese
words also give their pinyin, whole and as initials (小猫 → xiaomao, xm), so "xiaomao" finds 小猫.
English is lowercased, split on anything not a letter or digit, stop words dropped, plurals
folded (cats → cat). #hashtags and @handles are exact tokens of their own.

Fields (all lowercase, deduplicated in first-seen order):
    words    jieba words and English words
    bigrams  Chinese character bigrams (a lone Chinese character stands as itself)
    chars    a document's single Chinese characters, so a one-character query (猫) finds 小猫 and
             猫咪; queries of two or more characters match by bigrams, which are more precise
    pinyin   pinyin of Chinese words, whole and initials
    tags     "#hashtag" and "@handle"
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import jieba
from pypinyin import Style, lazy_pinyin

MAX_DOCUMENT_CHARS = 5000
MAX_QUERY_CHARS = 100  # longer queries are cut, not refused: people paste whole captions
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{_HAN}]+")
_IS_HAN = re.compile(f"^[{_HAN}]+$")
_LATIN_WORD = re.compile(r"[a-z0-9]+")
_TAG = re.compile(rf"#([{_HAN}A-Za-z0-9_\u00c0-\u024f]{{1,50}})")
_MENTION = re.compile(r"@([A-Za-z0-9_]{1,30})")
STOP_WORDS = frozenset({
    "的", "了", "是", "在", "和", "与", "就", "都", "也", "还", "又", "吗", "呢", "吧", "啊", "呀", "哦", "嗯", "着",
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on", "or", "the",
    "to", "with",
})


@dataclass(frozen=True)
class Analysed:
    words: list[str] = field(default_factory=list)
    bigrams: list[str] = field(default_factory=list)
    pinyin: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    chars: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.words or self.bigrams or self.pinyin or self.tags)


class _Segmenter:
    """One jieba tokenizer per process, loaded on first use (about a second), with the user
    dictionary. A lock, because jieba's lazy initialisation is not thread-safe."""

    def __init__(self) -> None:
        self._tokenizer: jieba.Tokenizer | None = None
        self._lock = threading.Lock()
        self._extra: set[str] = set()

    def tokenizer(self) -> jieba.Tokenizer:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    for word in self._extra:
                        tokenizer.add_word(word)
                    self._tokenizer = tokenizer
        return self._tokenizer

    def add_words(self, words: Iterable[str]) -> int:
        """Teach the segmenter words it should keep whole (new slang, hashtags); returns how many."""
        added = 0
        for word in words:
            word = normalise(word).strip()
            if is_dictionary_word(word) and word not in self._extra:
                self._extra.add(word)
                if self._tokenizer is not None:
                    self._tokenizer.add_word(word)
                added += 1
        return added

    def cut(self, text: str) -> list[str]:
        return [w for w in self.tokenizer().cut_for_search(text) if w.strip()]


def is_dictionary_word(word: str) -> bool:
    """Words worth teaching jieba: 2–20 Chinese characters (English and digits split anyway)."""
    return 2 <= len(word) <= 20 and bool(_IS_HAN.match(word))


SEGMENTER = _Segmenter()


def load_user_dictionary(path: Path) -> int:
    """Words from an operator's file, one per line (jieba's format: the word first; '#' comments)."""
    if not path.exists():
        return 0
    lines = path.read_text(encoding="utf-8").splitlines()
    return SEGMENTER.add_words(line.split()[0] for line in lines if line.strip() and not line.startswith("#"))


def normalise(text: str) -> str:
    """NFKC (full-width Ａ１ → A1, ｃａｔ → cat), lowercased, control characters gone."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(c if c.isprintable() else " " for c in text)


def _fold_english(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _bigrams(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]


def _pinyin(word: str, initials: bool) -> list[str]:
    syllables = [s for s in lazy_pinyin(word, style=Style.NORMAL, errors="ignore") if s.isalpha()]
    if not syllables:
        return []
    whole = "".join(syllables)
    return [whole, "".join(s[0] for s in syllables)] if initials and len(syllables) > 1 else [whole]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def analyse(text: str, *, max_chars: int = MAX_DOCUMENT_CHARS, initials: bool = True) -> Analysed:
    """A document's tokens (a caption, a nickname, a hashtag's name). `initials=False` leaves out
    pinyin initials: two letters match far too much in a caption (猫咪 and 妹妹 are both "mm");
    they are for completing short names (suggestions, people)."""
    text = normalise(text[:max_chars])
    tags = [f"#{t}" for t in _TAG.findall(text)] + [f"@{m}" for m in _MENTION.findall(text)]
    body = _MENTION.sub(" ", text).replace("#", " ")
    words: list[str] = []
    bigrams: list[str] = []
    pinyin: list[str] = []
    for token in SEGMENTER.cut(body):
        if _IS_HAN.match(token):
            if token not in STOP_WORDS:
                words.append(token)
                pinyin += _pinyin(token, initials)
        else:
            words += [_fold_english(w) for w in _LATIN_WORD.findall(token) if w not in STOP_WORDS]
    chars: list[str] = []
    for run in _HAN_RUN.findall(body):
        bigrams += _bigrams(run)
        chars += [c for c in run if c not in STOP_WORDS]
    return Analysed(words=_unique(words), bigrams=_unique(bigrams), pinyin=_unique(pinyin), tags=_unique(tags),
                    chars=_unique(chars))


def analyse_query(query: str) -> Analysed:
    """A query's tokens: as a document's, plus Latin words as pinyin too ("xiaomao" or "xiao mao"
    finds 小猫; "zs" finds 张三 by initials). Long queries are cut to MAX_QUERY_CHARS."""
    found = analyse(query, max_chars=MAX_QUERY_CHARS, initials=False)  # documents have none
    latin = _LATIN_WORD.findall(normalise(query[:MAX_QUERY_CHARS]))
    letters = [w for w in latin if w.isalpha()]
    pinyin = found.pinyin + letters + (["".join(letters)] if len(letters) > 1 else [])
    return Analysed(words=found.words, bigrams=found.bigrams, pinyin=_unique(pinyin), tags=found.tags)  # no chars
