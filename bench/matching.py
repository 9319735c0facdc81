"""Time the match of a one-sentence need, and measure matching quality on the labelled needs.

    python -m bench.matching [--repeat N]

Builds the index once from facilities.yaml (as the app does once per catalogue data version),
then times single matches of one-sentence needs in both languages, and prints recall@3 and MRR
of the labelled set tests/catalog/data/needs.yaml, its dev and held-out halves apart."""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app.catalog.matching import Matcher, matcher_of_catalogue
from app.catalog.sync import load_catalogue

ROOT = Path(__file__).resolve().parent.parent
NEEDS_FILE = ROOT / "tests" / "catalog" / "data" / "needs.yaml"
CATALOGUE_FILE = ROOT / "facilities.yaml"
SENTENCES = (
    "our GaN power devices must survive heat and high voltage",
    "我们的氮化镓功率器件必须耐高温和高压",
)


@dataclass(frozen=True)
class Quality:
    needs: int
    recall_at_3: float
    mrr: float
    misses: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]


def labelled_needs(split: str | None = None) -> list[dict[str, Any]]:
    """Return the labelled needs, of one split ("dev", "held-out") or all."""
    needs = yaml.safe_load(NEEDS_FILE.read_text(encoding="utf-8"))["needs"]
    return [n for n in needs if split is None or n["split"] == split]


def evaluate(matcher: Matcher, needs: list[dict[str, Any]]) -> Quality:
    """Return mean recall@3 (expected among the first three / min(3, expected)) and MRR."""
    recalls, ranks, misses = [], [], []
    for item in needs:
        expected = tuple(item["expect"])
        found = tuple(m.capability for m in matcher.match(item["need"], 10))
        hits = len(set(found[:3]) & set(expected))
        recalls.append(hits / min(3, len(expected)))
        first = next((i for i, slug in enumerate(found) if slug in expected), None)
        ranks.append(0.0 if first is None else 1 / (first + 1))
        if hits < min(3, len(expected)):
            misses.append((item["need"], expected, found[:3]))
    return Quality(len(needs), statistics.fmean(recalls), statistics.fmean(ranks), tuple(misses))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--misses", action="store_true", help="list the needs not fully found")
    args = parser.parse_args()
    started = time.perf_counter()
    matcher = matcher_of_catalogue(load_catalogue(CATALOGUE_FILE))
    print(f"index built in {time.perf_counter() - started:.2f} s (once per catalogue version)")
    for sentence in SENTENCES:
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            matcher.match(sentence)
            timings.append(time.perf_counter() - started)
        timings.sort()
        print(
            f"match {sentence!r}: median {statistics.median(timings) * 1000:.2f} ms, "
            f"p95 {timings[int(len(timings) * 0.95)] * 1000:.2f} ms, "
            f"max {timings[-1] * 1000:.2f} ms over {args.repeat}"
        )
    for split in ("dev", "held-out", None):
        quality = evaluate(matcher, labelled_needs(split))
        print(
            f"{split or 'all'}: {quality.needs} needs, recall@3 {quality.recall_at_3:.3f}, "
            f"MRR {quality.mrr:.3f}"
        )
        if args.misses and split is not None:
            for need, expected, found in quality.misses:
                print(f"    {need!r}: expected {list(expected)}, first three {list(found)}")


if __name__ == "__main__":
    main()
