"""The claim page's words: both languages, and Chinese lines filled (no spaces to break at)."""

from __future__ import annotations

import json
import re
import string

import pytest

from verifier._claim_words import _EN, _ZH, Reason, why_not_from_dict, why_not_to_dict, words
from verifier._page import CONTENT_W, _width, _wrap


def test_both_languages_have_every_text() -> None:
    assert _EN.keys() == _ZH.keys()
    for key, en in _EN.items():
        assert _names(_ZH[key]) == _names(en), key
    with pytest.raises(ValueError, match="speaks en, zh-CN"):
        words("fr")


def _names(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("key", [k[4:] for k in _EN if k.startswith("why_")])
def test_a_reason_is_said_in_both_languages_from_claim_json(key: str) -> None:
    why = Reason.of(
        key, **{name: 7 + i for i, name in enumerate(sorted(_names(_EN["why_" + key])))}
    )
    for closest in (None, (2, 5, 11)):
        kept = json.loads(json.dumps(why_not_to_dict(why, closest)))
        for language in ("en", "zh-CN"):
            said = why_not_from_dict(kept, language)
            assert said == (
                why.say(language)
                if closest is None
                else words(language)["closest"].format(
                    seg=2, segs=5, frame=11, why=why.say(language)
                )
            )
            assert "7" in said or not _names(_EN["why_" + key])
    assert not re.search("[A-Za-z]", why.say("zh-CN")), why.say("zh-CN")


@pytest.mark.parametrize(
    "kept",
    [
        None,
        "few_matches",
        {"reason": "no_such_reason"},
        {"reason": "few_matches", "n": 3},  # a number the words name is missing
        {"reason": "few_matches", "n": "3", "need": 30},  # not a number
        {"reason": "few_matches", "n": True, "need": 30},
        {"reason": "few_matches", "n": 3, "need": 30, "closest": [1, 2, 3]},
        {"reason": "few_matches", "n": 3, "need": 30, "closest": {"segment": 1}},
        {
            "reason": "few_matches",
            "n": 3,
            "need": 30,
            "closest": {"segment": 1, "segments": 2, "frame": 1.5},
        },
        {"reason": ["few_matches"]},
        {"reason": "few_matches", "n": 10**5000, "need": 30},  # past int's printing limit
    ],
)
def test_a_reason_claim_json_does_not_hold_is_left_to_the_english(kept: object) -> None:
    # A report from before reasons were kept, from a newer packseal, or edited: the page
    # says claim.json's English instead (packseal/web/_claims.py).
    assert why_not_from_dict(kept, "zh-CN") is None


def test_an_unknown_reason_is_refused_where_it_is_made() -> None:
    with pytest.raises(ValueError, match="no words for the reason 'nope'"):
        Reason.of("nope")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_statement_lines_are_filled(language: str) -> None:
    lines = _wrap(words(language)["statement"], "sans", 8.5, CONTENT_W - 8)
    assert len(lines) >= 2
    for line in lines[:-1]:  # every line but the last reaches most of the width
        assert _width(line, "sans", 8.5) > 0.8 * (CONTENT_W - 8), line
    assert "".join(lines).replace(" ", "") == words(language)["statement"].replace(" ", "")
