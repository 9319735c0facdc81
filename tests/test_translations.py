"""The Chinese catalogue covers every string the code marks for translation, placeholders intact.

The template is extracted afresh from the sources (as `make translations` does), so a newly
wrapped string without a Chinese translation fails here instead of showing English to users."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).parents[1]
ZH_CATALOGUE = ROOT / "app" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]|\{\w*\}")
HAN = re.compile(r"[\u4e00-\u9fff]")


def extract_template() -> Catalog:
    """Extract every marked string of app/ with the project's babel.cfg and keywords."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    template = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


@pytest.fixture(scope="module")
def template() -> Catalog:
    return extract_template()


@pytest.fixture(scope="module")
def chinese() -> Catalog:
    with ZH_CATALOGUE.open("rb") as handle:
        return read_po(handle, locale="zh")


def _forms(message: Message) -> tuple[str, ...]:
    value = message.string
    return value if isinstance(value, tuple) else (value,)


def test_extraction_finds_the_strings_of_python_and_templates(template: Catalog) -> None:
    ids = {m.id for m in template if m.id}
    # One lazy module-level string, one from a template, one from a service.
    assert {"Catalogue", "Back to the start page", "No such token."} <= ids
    assert len(ids) > 600


def test_every_msgid_has_a_chinese_translation(template: Catalog, chinese: Catalog) -> None:
    missing = [
        m.id for m in template if m.id and not all(_forms(chinese.get(m.id) or Message(m.id)))
    ]
    assert not missing, (
        f"{len(missing)} strings have no Chinese translation; run `make translations` and "
        f"translate them in {ZH_CATALOGUE.relative_to(ROOT)}: {missing[:10]}"
    )


def test_no_translation_is_fuzzy_or_left_in_english(template: Catalog, chinese: Catalog) -> None:
    fuzzy = [m.id for m in chinese if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries are not shown to users; review them: {fuzzy[:10]}"
    # Product names and codes may stay Latin, but a sentence must be Chinese.
    latin = [
        m.id
        for m in template
        if m.id
        and len(str(m.id[0] if isinstance(m.id, tuple) else m.id).split()) > 2
        and (translated := chinese.get(m.id)) is not None
        and not any(HAN.search(form) for form in _forms(translated))
    ]
    assert not latin, f"translations without any Chinese: {latin[:10]}"


def test_translations_keep_the_placeholders(template: Catalog, chinese: Catalog) -> None:
    broken = []
    for message in template:
        translated = chinese.get(message.id) if message.id else None
        if translated is None:
            continue
        # Chinese has one plural form; it may follow the singular's placeholders or the
        # plural's (gettext passes both; babel's compiler accepts the singular's).
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = [sorted(PLACEHOLDER.findall(source)) for source in sources]
        for form in _forms(translated):
            if sorted(PLACEHOLDER.findall(form)) not in wanted:
                broken.append((sources[-1], form))
    assert not broken, f"placeholders differ: {broken[:10]}"
