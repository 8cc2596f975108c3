"""How triage reads language (triage/text.py, triage/engine.py): stems, phrases within a word
window, negation, typos, words inside longer names, sentiment; and rules files that cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.config_files import ConfigError
from triage import report
from triage.engine import evaluate
from triage.rules import TriageRules, load_rules
from triage.text import Tokens, Vocabulary, words

from .test_triage import make_intake

FALLBACK = {"healthcare": "clinical", "legal": "legal", "ecommerce": "billing"}


def rules(terms: dict[str, dict[str, object]], *rule_list: dict[str, object]) -> TriageRules:
    return TriageRules.model_validate(
        {"terms": terms, "rules": list(rule_list), "fallback": FALLBACK}
    )


def rule(rule_id: str, match: dict[str, object], **effect: object) -> dict[str, object]:
    effect = effect or {"sensitive": True}
    return {"id": rule_id, "description": rule_id, "match": match, "effect": effect}


def fires(r: TriageRules, body: str, sector: str = "ecommerce") -> list[str]:
    return [h.rule_id for h in evaluate(r, make_intake("-", body, sector)).rules_fired]


SHARED = rules(
    {
        "records": {"words": ["test result", "record"]},
        "wrong": {"words": ["wrong person", "someone else"]},
        "shared": {"words": ["sent", "share"]},
        "anger": {"words": ["angry"], "negatable": True},
        "urgent": {"words": ["urgent"], "except_within": ["places"]},
        "places": {"words": ["urgent care"]},
        "legal": {"words": ["subpoena", "confidential"]},
    },
    rule("incident", {"near": ["records", "wrong", "shared"], "window": 8}),
    rule("anger", {"terms": ["anger"]}),
    rule("urgent", {"terms": ["urgent"]}),
    rule("legal", {"terms": ["legal"]}),
)


def test_inflections_and_articles_do_not_matter() -> None:
    assert "incident" in fires(SHARED, "My test results were sent to the wrong person.")
    assert "incident" in fires(SHARED, "They're sharing my records with someone else!")


def test_a_phrase_far_from_the_others_or_in_another_sentence_does_not_count() -> None:
    far = "My records are fine. " + "Unrelated words here. " * 4 + "Someone else sent a card."
    assert "incident" not in fires(SHARED, far)


def test_negation_cancels_only_negatable_terms_and_only_in_its_clause() -> None:
    assert "anger" not in fires(SHARED, "I'm not angry, just asking.")
    assert "anger" not in fires(SHARED, "I am not really angry")
    assert "anger" in fires(SHARED, "Not happy. I am angry.")
    assert "anger" in fires(SHARED, "It was not delivered but I am angry")


def test_contractions_and_chat_spellings_are_expanded() -> None:
    expanded = ["i", "can", "not", ",", "will", "not", ",", "did", "not"]
    assert words("I can't, won't, didn't") == expanded
    assert words("dont", {"dont": "do not"}) == ["do", "not"]


def test_invisible_characters_and_full_width_letters_do_not_hide_a_word() -> None:
    assert "legal" in fires(SHARED, "a sub\u200bpoena came")
    assert "legal" in fires(SHARED, "ＳＵＢＰＯＥＮＡ")


def test_a_long_word_one_typo_away_from_a_term_counts_as_that_term() -> None:
    assert "legal" in fires(SHARED, "I got a subpena yesterday")
    assert "legal" in fires(SHARED, "this is confidental")
    assert "legal" not in fires(SHARED, "a confident answer")


def test_a_stem_of_one_or_two_letters_is_not_shared_with_a_short_word() -> None:
    sued = rules({"sued": {"words": ["sued", "suing"]}}, rule("sued", {"terms": ["sued"]}))
    assert "sued" in fires(sued, "They sued me in March and are suing my brother now")
    assert "sued" not in fires(sued, "¿Hay algún abogado en su oficina que hable español?")


def test_a_term_inside_a_longer_listed_name_does_not_count() -> None:
    assert "urgent" not in fires(SHARED, "Is the urgent care centre open on Sunday?")
    assert "urgent" in fires(SHARED, "Urgent: is the urgent care centre open?")


def test_positions_skip_articles_and_keep_sentences_apart() -> None:
    vocab = Vocabulary.of(["record"])
    tokens = Tokens.of("The record. A record", vocab)
    assert tokens.stems == ("record", "record")
    assert tokens.position[1] - tokens.position[0] > 1


def test_sentiment_reads_the_most_negative_sentence() -> None:
    r = rules({}, rule("negative", {"sentiment_at_most": -0.6}))
    assert "negative" in fires(r, "Thanks for the quick reply. This is the worst, most awful mess.")
    assert "negative" not in fires(r, "Thanks for the quick reply. Lovely service.")


def test_each_hit_carries_its_kind_and_the_matched_term_ids() -> None:
    body = "My test results were sent to someone else. I am angry."
    result = evaluate(SHARED, make_intake("-", body))
    hits = {h.rule_id: h for h in result.rules_fired}
    assert hits["incident"].kind == "signal"
    assert set(hits["incident"].terms) == {
        "records:test result",
        "wrong:someone else",
        "shared:sent",
    }
    assert hits["anger"].terms == ["anger:angry"]


def test_routine_needs_evidence_and_no_signal() -> None:
    r = rules(
        {"order": {"words": ["order"]}, "anger": {"words": ["angry"]}},
        rule("routine", {"terms": ["order"]}, routine=True),
        rule("anger", {"terms": ["anger"]}),
    )
    calm = evaluate(r, make_intake("-", "Where is my order?"))
    cross = evaluate(r, make_intake("-", "Where is my order? I am angry."))
    assert [h.kind for h in calm.rules_fired][:1] == ["routine"]
    assert "signal" in [h.kind for h in cross.rules_fired]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[rules]]\nid = "x"\ndescription = "x"\nmatch.terms = ["nowhere"]\n'
            "effect.sensitive = true",
            "unknown term list",
        ),
        (
            '[terms.a]\nwords = ["a"]\n[[rules]]\nid = "x"\ndescription = "x"\n'
            'match.terms = ["a"]\neffect.routine = true\neffect.add_flags = ["PCI"]',
            "a routine rule cannot also raise",
        ),
        (
            '[terms.a]\nwords = ["a"]\n[[rules]]\nid = "x"\ndescription = "x"\n'
            'match.near = ["a"]\neffect.sensitive = true',
            "near needs two or more term lists",
        ),
        (
            '[terms.a]\nwords = ["a"]\nexcept_within = ["b"]\n[[rules]]\nid = "x"\n'
            'description = "x"\nmatch.terms = ["a"]\neffect.sensitive = true',
            "its exceptions name",
        ),
    ],
)
def test_a_rules_file_that_cannot_work_is_refused_with_a_named_reason(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        'fallback = { healthcare = "clinical", legal = "legal", ecommerce = "billing" }\n' + body
    )
    with pytest.raises(ConfigError, match=message):
        load_rules(path)


def test_the_report_fails_when_rules_miss_what_the_corpus_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A rules file that calls everything routine: the report must say what that breaks.
    path = tmp_path / "rules.toml"
    path.write_text(
        'fallback = { healthcare = "clinical", legal = "legal", ecommerce = "billing" }\n'
        '[terms.any]\nwords = ["i", "you", "the", "my", "a", "order"]\n'
        '[[rules]]\nid = "everything-routine"\ndescription = "x"\nmatch.terms = ["any"]\n'
        "effect.routine = true\n"
    )
    assert report.main(["--rules", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED all: tier 3 cases under-triaged" in out
    assert "FAILED held-out: flagged cases released by policy" in out
