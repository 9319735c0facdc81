"""Matching quality on the labelled needs (tests/catalog/data/needs.yaml), and determinism.

The floors are what the matcher reaches today (see bench/matching.py for the figures): a change
to the glossary or the ranking that loses a need fails here. The held-out half was never used to
tune the glossary; its floor guards against tuning to the dev half only."""

from __future__ import annotations

from functools import cache

import pytest

from app.catalog.matching import Matcher, matcher_of_catalogue
from app.catalog.sync import load_catalogue
from bench.matching import CATALOGUE_FILE, evaluate, labelled_needs

FLOORS = {
    # split: (recall@3, MRR)
    "dev": (0.97, 0.99),
    "held-out": (0.96, 0.98),
    None: (0.97, 0.99),
}


@cache
def _matcher() -> Matcher:
    return matcher_of_catalogue(load_catalogue(CATALOGUE_FILE))


def test_the_labelled_set_is_large_bilingual_and_uses_real_capabilities() -> None:
    needs = labelled_needs()
    slugs = {c.slug for c in load_catalogue(CATALOGUE_FILE).capabilities}
    assert len(needs) >= 60
    assert len(labelled_needs("dev")) == len(labelled_needs("held-out"))
    assert sum(any("\u4e00" <= ch <= "\u9fff" for ch in n["need"]) for n in needs) >= 30
    assert sum(n["need"].isascii() for n in needs) >= 30
    assert {slug for n in needs for slug in n["expect"]} <= slugs


@pytest.mark.parametrize("split", ["dev", "held-out", None])
def test_recall_at_3_and_mrr_stay_at_least_what_was_reached(split: str | None) -> None:
    quality = evaluate(_matcher(), labelled_needs(split))
    recall_floor, mrr_floor = FLOORS[split]

    assert quality.recall_at_3 >= recall_floor, quality.misses
    assert quality.mrr >= mrr_floor, quality.misses


def test_the_same_need_and_catalogue_give_the_same_answer() -> None:
    fresh = matcher_of_catalogue(load_catalogue(CATALOGUE_FILE))
    for item in labelled_needs():
        assert fresh.match(item["need"], 10) == _matcher().match(item["need"], 10)


def test_the_issue_example_finds_heat_and_voltage_tests_in_the_first_three() -> None:
    found = _matcher().match("our GaN power devices must survive heat and high voltage", 5)

    assert {m.capability for m in found[:3]} == {
        "power-device-test",
        "high-voltage-test",
        "temperature-cycling",
    }
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)


def test_a_typo_is_read_as_the_word_and_shown_as_the_glossary_writes_it() -> None:
    best = _matcher().match("temprature cycling for automotive electronics", 1)[0]
    assert best.capability == "temperature-cycling"
    assert "temprature" not in best.why
    assert any(word.startswith("temperature") for word in best.why)
