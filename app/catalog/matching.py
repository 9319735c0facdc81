"""Match a need, in a founder's own words, to capabilities and the units that offer them.

Offline and in-process: the need and each capability's text (names, description, glossary
keywords and the names of its units, in both languages) become terms: Chinese is cut into words
by jieba (its dictionary ships in the package; the glossary's keywords are added to a private
copy, so "氮化镓" stays one word), other text into lower-case words with plural and -ing/-ed
endings dropped. A BM25 index (bm25s) over those terms ranks the capabilities. An English word
the index does not know is read as the closest one it does (a typo), when one is close enough.

The index is built once per catalogue data version (app/dataversion.py), never per request,
and the same need against the same catalogue always gives the same answer."""

from __future__ import annotations

import difflib
import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import bm25s
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import dataversion
from app.catalog.models import Capability, Equipment, EquipmentStatus, Facility
from app.catalog.schema import CapabilitySpec, Catalogue
from app.errors import BadRequest
from app.extensions import db

MAX_NEED = 500
# A need: some text that is not only blanks, without NUL (the API document states it as this).
NEED_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
DEFAULT_LIMIT = 5
MAX_LIMIT = 20
# A capability scoring below this share of the best one is noise, not a suggestion.
MIN_SHARE_OF_BEST = 0.15
# How close an unknown English word must be to a known one to be read as it (difflib ratio).
TYPO_CUTOFF = 0.8
MIN_TYPO_LENGTH = 6
# How much each field of a capability counts: its names most, the glossary next.
NAME_WEIGHT = 3
KEYWORD_WEIGHT = 2
# The share of the best score of a capability offered by the same unit that a capability gets.
SIBLING_SHARE = 0.5
# How much a capability's score drops when every word it matched is matched by one ranked above.
REDUNDANCY = 0.4

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"([{_CJK}]+)|([a-z0-9]+)")
_VOLUME = re.compile(r"(\d+)\s*(?:升|l\b|litres?\b|liters?\b)")
_HAS_CJK = re.compile(rf"[{_CJK}]")

_EN_STOP = frozenset(
    """a an the our we us my i me you your need needs needed want wants wanted to of and or for
    with in on at by is are be been being must can could would should will it its this that
    these those some any do does did how what which who where when looking look find help please
    get have has had from under about like new use using used than very really much lot lots
    also if not no up out there make made whether into our's them they their so as such just
    only one two test tests testing tested check checking see measure measuring product
    products sample samples""".split()
)
_ZH_STOP = frozenset(
    """的 了 我们 我 你们 你 需要 需 想 想要 要 一下 和 与 及 以及 在 是 能 能否 能够
    可以 必须 对 把 做 进行 有 没有 什么 怎么 怎样 哪里 哪儿 哪 一个 这个 那个 这些
    那些 我司 公司 帮 帮忙 请 吗 呢 吧 啊 下 个 给 用 还 也 都 就 会 看看 看 找 些
    或 或者 是否 如何 希望 打算 准备 得 地 着 过 让 被 从 到 上 里 测 测试 检测
    试验 做个 一些 多少 够 不 很 比较 里面 它 它们 其 这 那 并 且 而 但 如果 所以
    因为 产品 样品 一测""".split()
)

_base_lock = threading.Lock()
_base: Any = None


def _load_jieba() -> Any:
    """Return jieba's default tokenizer, loaded once per process, quietly and warning-free.

    Also keeps bm25s from logging each index it builds.

    jieba imports pkg_resources (deprecated by setuptools, a warning on import) and logs at
    DEBUG to stderr while it builds or loads its dictionary cache (in the temp directory)."""
    global _base
    with _base_lock:
        if _base is None:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"pkg_resources is deprecated")
                warnings.filterwarnings(
                    "ignore", message=r"invalid escape sequence", category=DeprecationWarning
                )
                warnings.filterwarnings(
                    "ignore", message=r"invalid escape sequence", category=SyntaxWarning
                )
                import jieba
            logging.getLogger("jieba").setLevel(logging.WARNING)
            # bm25s logs every index it builds at DEBUG.
            logging.getLogger("bm25s").setLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _base = tokenizer
        return _base


def _private_tokenizer(words: Iterable[str]) -> Any:
    """Return a copy of jieba's tokenizer that also knows `words`, leaving the shared one as is.

    A fresh copy per index keeps segmentation a function of the catalogue alone; with no words
    to add (an empty catalogue) the shared one serves, unchanged, without the copy's cost."""
    base = _load_jieba()
    added = sorted({w for w in words if _HAS_CJK.search(w) and " " not in w})
    if not added:
        return base
    import jieba  # already imported, warnings handled, by _load_jieba

    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = dict(base.FREQ)
    tokenizer.total = base.total
    tokenizer.initialized = True
    for word in added:
        tokenizer.add_word(word)
    return tokenizer


def stem(word: str) -> str:
    """Return an English word without its plural or -ing/-ed ending (tests, testing -> test)."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def normalise(text: str) -> str:
    """Return text in one form: full-width to ASCII, lower case, volumes as `50l`."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _VOLUME.sub(r"\1l", text)


@dataclass(frozen=True)
class Term:
    """One term of a text and the words it was written as."""

    key: str
    surface: str


def terms(text: str, tokenizer: Any) -> list[Term]:
    """Cut text into index terms: jieba words for Chinese, stemmed words and pairs for the rest."""
    found: list[Term] = []
    previous: Term | None = None
    for match in _RUN.finditer(normalise(text)):
        chinese, other = match.groups()
        if chinese:
            previous = None
            for word in tokenizer.cut_for_search(chinese, HMM=False):
                if word not in _ZH_STOP:
                    found.append(Term(word, word))
        elif other not in _EN_STOP and not (len(other) == 1 and other.isalpha()):
            term = Term(stem(other), other)
            if previous is not None:
                # Two words in a row count once more as a phrase: "thermal shock", "salt spray".
                found.append(
                    Term(f"{previous.key} {term.key}", f"{previous.surface} {term.surface}")
                )
            found.append(term)
            previous = term
    return found


# What the index knows of one capability: the glossary entry as facilities.yaml states it.
CapabilityText = CapabilitySpec


@dataclass(frozen=True)
class UnitText:
    """What the index knows of one bookable unit."""

    slug: str
    name_zh: str
    name_en: str
    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """One suggested capability: how well it fits, the units offering it, and why."""

    capability: str
    score: float
    units: tuple[str, ...]
    why: tuple[str, ...]


class Matcher:
    """A BM25 index over the capabilities that at least one active unit offers."""

    def __init__(self, capabilities: Sequence[CapabilityText], units: Sequence[UnitText]) -> None:
        offered: dict[str, list[UnitText]] = {}
        for unit in sorted(units, key=lambda u: u.slug):
            for name in unit.capabilities:
                offered.setdefault(name, []).append(unit)
        known = {c.slug: c for c in capabilities}
        self.capabilities = [
            known.get(slug) or CapabilityText(slug, slug, slug) for slug in sorted(offered)
        ]
        self._tokenizer = _private_tokenizer(
            word for c in self.capabilities for word in (c.name_zh, *c.keywords_zh)
        )
        self._units = offered
        self._unit_terms = {
            unit.slug: {t.key for t in terms(f"{unit.name_zh} {unit.name_en}", self._tokenizer)}
            for unit in units
        }
        # How a term reads when the need's own word for it was a typo: as the glossary writes it.
        self._display: dict[str, str] = {}
        for capability in self.capabilities:
            for text in (capability.name_en, *capability.keywords_en, capability.description_en):
                for term in terms(text, self._tokenizer):
                    self._display.setdefault(term.key, term.surface)
        corpus = [self._document(c) for c in self.capabilities]
        self._document_terms = [set(document) for document in corpus]
        position = {c.slug: i for i, c in enumerate(self.capabilities)}
        self._siblings = [
            sorted(
                {position[name] for unit in self._units[c.slug] for name in unit.capabilities}
                - {i}
            )
            for i, c in enumerate(self.capabilities)
        ]
        self._vocabulary = sorted({key for document in corpus for key in document})
        self._ascii_vocabulary = [key for key in self._vocabulary if key.isascii()]
        self._known = set(self._vocabulary)
        self._index = bm25s.BM25()
        if corpus:
            self._index.index(corpus, show_progress=False)

    def _document(self, capability: CapabilityText) -> list[str]:
        def keys(*texts: str) -> list[str]:
            return [t.key for text in texts for t in terms(text, self._tokenizer)]

        unit_names = [f"{u.name_zh} {u.name_en}" for u in self._units[capability.slug]]
        return [
            *keys(capability.name_zh, capability.name_en, capability.slug) * NAME_WEIGHT,
            *keys(*capability.keywords_zh, *capability.keywords_en) * KEYWORD_WEIGHT,
            *keys(capability.description_zh, capability.description_en, *unit_names),
        ]

    def query_terms(self, need: str) -> list[Term]:
        """Return the need's distinct terms the index knows, typos read as the closest word."""
        found: dict[str, Term] = {}
        for term in terms(need, self._tokenizer):
            key = term.key
            if (
                key not in self._known
                and key.isascii()
                and " " not in key
                and len(key) >= MIN_TYPO_LENGTH
            ):
                close = [
                    word
                    for word in difflib.get_close_matches(
                        key, self._ascii_vocabulary, n=3, cutoff=TYPO_CUTOFF
                    )
                    if abs(len(word) - len(key)) <= 1
                ][:1]
                if close:
                    key = close[0]
                    term = Term(key, self._display.get(key, key))
            if key in self._known and key not in found:
                found[key] = Term(key, term.surface)
        return list(found.values())

    def match(self, need: str, limit: int = DEFAULT_LIMIT) -> list[Match]:
        """Return the capabilities that best fit the need, best first, at most `limit`."""
        query = self.query_terms(need)
        if not query or not self.capabilities:
            return []
        direct = self._index.get_scores([t.key for t in query])
        # A unit that does what the need says usually does its other capabilities for it too
        # (an anechoic chamber for antenna measurement): each capability also gets a share of
        # the best score among those it shares a unit with.
        scores = [
            float(score) + SIBLING_SHARE * max((float(direct[j]) for j in siblings), default=0.0)
            for score, siblings in zip(direct, self._siblings, strict=True)
        ]
        ranked = sorted(
            (
                (round(score, 4), self.capabilities[i].slug, i)
                for i, score in enumerate(scores)
                if score > 0
            ),
            key=lambda item: (-item[0], item[1]),
        )
        if not ranked:
            return []
        ranked_position = {slug: i for i, (_score, slug, _index) in enumerate(ranked)}
        floor = ranked[0][0] * MIN_SHARE_OF_BEST
        candidates = [
            (score, slug, index, [t for t in query if t.key in self._document_terms[index]])
            for score, slug, index in ranked
            if score >= floor
        ]
        matches: list[Match] = []
        covered: set[str] = set()
        while candidates and len(matches) < limit:
            # A need often has several parts ("heat and high voltage"): a capability matching
            # only words the ones above already matched counts for less than one adding a part.
            best = max(
                candidates,
                key=lambda c: (_discounted(c[0], c[3], covered), -ranked_position[c[1]]),
            )
            candidates.remove(best)
            score, slug, _index, hit = best
            # Never rising, as each pick only adds covered words: the list reads best first.
            score = round(_discounted(score, hit, covered), 4)
            covered |= {t.key for t in hit}
            matches.append(
                Match(slug, score, self._ranked_units(slug, {t.key for t in query}), _why(hit))
            )
        return matches

    def _ranked_units(self, capability: str, query: set[str]) -> tuple[str, ...]:
        units = self._units[capability]
        return tuple(
            unit.slug
            for unit in sorted(
                units, key=lambda u: (-len(self._unit_terms[u.slug] & query), u.slug)
            )
        )


def _discounted(score: float, hit: list[Term], covered: set[str]) -> float:
    """Return the score less REDUNDANCY times the share of its words already covered."""
    if not hit:
        return score
    repeated = sum(1 for t in hit if t.key in covered) / len(hit)
    return score * (1 - REDUNDANCY * repeated)


def _why(hit: list[Term]) -> tuple[str, ...]:
    """Return the need's own words that matched, a word inside a longer one left out."""
    words = list(dict.fromkeys(t.surface for t in hit))
    return tuple(w for w in words if not any(w != other and w in other for other in words))


# ---------------------------------------------------------------- the app's matcher


def read_need(q: str | None) -> str:
    """Return the need text, trimmed; raise BadRequest naming `q` when it cannot be matched."""
    need = (q or "").strip()
    if not need:
        raise BadRequest(
            _("The parameter %(name)s must describe what you need.", name="q"), field="q"
        )
    if "\x00" in need:
        raise BadRequest(
            _("The parameter %(name)s must not contain NUL characters.", name="q"), field="q"
        )
    if len(need) > MAX_NEED:
        raise BadRequest(
            _("The parameter %(name)s takes at most %(n)d characters.", name="q", n=MAX_NEED),
            field="q",
        )
    return need


def read_limit(value: str | None) -> int:
    """Return how many capabilities to suggest; raise BadRequest naming `limit` when bad."""
    if value is None:
        return DEFAULT_LIMIT
    limit = int(value) if value.strip().isdigit() else 0
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(
            _(
                "The parameter %(name)s must be a whole number from 1 to %(n)d.",
                name="limit",
                n=MAX_LIMIT,
            ),
            field="limit",
        )
    return limit


def units_of(matches: Sequence[Match]) -> dict[str, Equipment]:
    """Return the units the matches name, by slug, with their facilities loaded."""
    slugs = {slug for match in matches for slug in match.units}
    if not slugs:
        return {}
    return {
        unit.slug: unit
        for unit in db.session.scalars(
            select(Equipment)
            .where(Equipment.slug.in_(slugs))
            .options(selectinload(Equipment.facility))
        )
    }


def build_matcher() -> Matcher:
    """Build the index from the catalogue's capabilities and active units in active facilities."""
    capabilities = [
        CapabilityText(
            c.slug,
            c.name_zh,
            c.name_en,
            c.description_zh,
            c.description_en,
            tuple(c.keywords_zh),
            tuple(c.keywords_en),
        )
        for c in db.session.scalars(select(Capability))
    ]
    units = [
        UnitText(u.slug, u.name_zh, u.name_en, tuple(u.capability_names))
        for u in db.session.scalars(
            select(Equipment)
            .join(Facility)
            .where(Equipment.status == EquipmentStatus.ACTIVE, Facility.active.is_(True))
            .options(selectinload(Equipment.capabilities))
        )
    ]
    return Matcher(capabilities, units)


def current_matcher() -> Matcher:
    """Return the matcher of the current catalogue, built once per catalogue data version."""
    return dataversion.cache("capability-matcher", max_entries=1).get_or_compute(
        dataversion.CATALOGUE, "matcher", build_matcher
    )


def match_need(q: str | None, limit: int = DEFAULT_LIMIT) -> list[Match]:
    """Return the capabilities and units that fit a need, best first."""
    return current_matcher().match(read_need(q), limit)


def matcher_of_catalogue(catalogue: Catalogue) -> Matcher:
    """Build the index straight from a read facilities.yaml (for the quality set and the bench)."""
    capabilities = [
        CapabilityText(
            c.slug,
            c.name_zh,
            c.name_en,
            c.description_zh,
            c.description_en,
            c.keywords_zh,
            c.keywords_en,
        )
        for c in catalogue.capabilities
    ]
    units = [
        UnitText(unit.slug, unit.name_zh, unit.name_en, unit.capabilities)
        for facility in catalogue.facilities
        for unit in facility.equipment
        if unit.status == EquipmentStatus.ACTIVE
    ]
    return Matcher(capabilities, units)
