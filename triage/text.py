"""The language side of triage: a customer's words as normalised, stemmed tokens, and where
terms and phrases occur among them.

What "matching language, not strings" means here:
- normalised: Unicode folded, lower case, curly quotes straightened, contractions and chat
  expanded ("can't" -> "can not", "i'm" -> "i am"), and the rules file's spelling table applied
  (chat spellings and common misspellings: "dont" -> "do not", "u" -> "you");
- stemmed: every word by the Snowball English stemmer, so "shared", "sharing" and "shares" are
  one word, and a term list names a word once;
- typo-tolerant: a long word (8 letters or more) one edit away from a term's word counts as
  that word ("subpena", "confidental");
- articles and hedges ("a", "the", "really", "just", ...) are left out of the token stream, so
  "sent to the wrong person" and "sent to a wrong person" are the same phrase, and so are "I
  don't want to be alive" and "I don't really want to be alive";
- negated: an occurrence with "not", "no", "never" or "without" up to three words before it,
  in the same clause, is negated ("not upset"); only term lists marked negatable care.

Sentences (and their sentiment) come from the original text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

# Expanded before tokenising; operators extend spelling through the rules file.
_CONTRACTIONS = [
    (re.compile(r"\bcan'?t\b"), "can not"),
    (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (
        re.compile(
            r"\b(ai|are|could|did|does|do|had|has|have|is|must|need|should|was|were|would)n'?t\b"
        ),
        r"\1 not",
    ),  # fmt: skip
    (re.compile(r"n't\b"), " not"),
]
# "i'm" -> "i am"; "'s" is dropped (a possessive, or an "is" that decides nothing).
_CLITICS = {"m": "am", "re": "are", "ve": "have", "ll": "will", "d": "would", "s": ""}

# Left out of the token stream: they never decide a matter and break phrases apart. Articles,
# and hedges that sit inside a phrase ("I don't REALLY want to be alive"). Possessives stay:
# "my case" is a client's matter, "in case" is not.
FILLER = frozenset(
    {"a", "an", "the", "really", "actually", "honestly", "truly", "just", "even", "literally"}
    | {"seriously", "genuinely", "totally", "simply", "basically"}
)
NEGATORS = frozenset({"not", "no", "never", "without", "nor", "neither"})
NEGATION_REACH = 3
# A negation stops at these: "not angry, but scared" negates only "angry".
CLAUSE_BREAKERS = frozenset({"but", "although", "though", "however", "yet", "except"})
FUZZY_MIN_LETTERS = 8
SENTENCE_GAP = 4

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.!?;:,()\n]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The word's Snowball stem, unless that would leave under three letters of a longer word:
    "sued" and "suing" both stem to "su", which is also Spanish for "your"."""
    stemmed = str(_stemmer.stemWord(word))
    return word if len(stemmed) < 3 and stemmed != word else stemmed


# Laughing faces say a scary word is a joke ("TERRIFIED of missing the sale 😂").
_LAUGHTER = re.compile("[\U0001f602\U0001f923\U0001f605\U0001f606\U0001f604\U0001f601\U0001f643]")


def normalise(text: str) -> str:
    text = _LAUGHTER.sub(" lol ", text)
    # Invisible format characters (zero-width spaces, soft hyphens) would split a word in two.
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def words(text: str, spelling: Mapping[str, str] | None = None) -> list[str]:
    """Normalised words and marks ("." ends a sentence, "," a clause), spelling applied."""
    out: list[str] = []
    for token in _WORD.findall(normalise(text)):
        if not token[0].isalnum():
            out.append("." if token in ".!?\n" else ",")
            continue
        base, _, clitic = token.partition("'")
        pieces = [base, _CLITICS[clitic]] if clitic in _CLITICS else [base + clitic]
        for piece in filter(None, pieces):
            replaced = spelling.get(piece) if spelling else None
            out.extend(replaced.split() if replaced else [piece])
    return out


def phrase_stems(phrase: str, spelling: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """A term as the stems the text is matched against (fillers and punctuation left out)."""
    marks_and_fillers = FILLER | {".", ","}
    return tuple(stem(w) for w in words(phrase, spelling) if w not in marks_and_fillers)


def sentences(text: str) -> list[str]:
    return [s for s in (part.strip() for part in _SENTENCE.split(text)) if s]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))} | {word}


@dataclass(frozen=True)
class Vocabulary:
    """Every word the terms use, so a misspelt long word can be mapped to one of them."""

    stems: frozenset[str]
    # deletion variant -> the stems of the term words it comes from
    near_misses: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, term_words: Iterable[str]) -> Vocabulary:
        stems: set[str] = set()
        index: dict[str, set[str]] = {}
        for word in term_words:
            stems.add(stem(word))
            if len(word) >= FUZZY_MIN_LETTERS:
                for variant in _deletions(word):
                    index.setdefault(variant, set()).add(stem(word))
        return cls(frozenset(stems), {k: frozenset(v) for k, v in index.items()})

    def correct(self, word: str) -> str:
        """The word's stem, or the one term word's stem a single edit away from it."""
        stemmed = stem(word)
        # A dropped letter makes a long word one shorter: "subpena" for "subpoena".
        if stemmed in self.stems or len(word) < FUZZY_MIN_LETTERS - 1 or word.isdigit():
            return stemmed
        candidates: set[str] = set()
        for variant in _deletions(word):
            candidates |= self.near_misses.get(variant, frozenset())
        return next(iter(candidates)) if len(candidates) == 1 else stemmed


@dataclass(frozen=True)
class Tokens:
    """A text as stems, with which positions are negated."""

    stems: tuple[str, ...]
    negated: tuple[bool, ...]
    # Each token's distance position: a clause mark adds SENTENCE_GAP, so "near" rarely
    # reaches into the next sentence and a short window never does.
    position: tuple[int, ...]
    sentence: tuple[int, ...]  # each token's sentence, counted from 0 (the subject is one)
    where: Mapping[str, tuple[int, ...]]  # stem -> its indexes

    @classmethod
    def of(
        cls, text: str, vocabulary: Vocabulary, spelling: Mapping[str, str] | None = None
    ) -> Tokens:
        stems: list[str] = []
        negated: list[bool] = []
        position: list[int] = []
        sentence: list[int] = []
        at, last, current = 0, -1, 0
        since_negator: int | None = None
        for word in words(text, spelling):
            if word in (".", ",") or word in CLAUSE_BREAKERS:
                since_negator = None
                if word in (".", ","):
                    # A sentence keeps "near" apart; a comma only a little. Marks do not stack.
                    gap = SENTENCE_GAP if word == "." else 1
                    at = max(at, last + 1 + gap)
                    if word == "." and sentence and sentence[-1] == current:
                        current += 1
                    continue
            if word in FILLER:
                continue
            negated.append(since_negator is not None and since_negator <= NEGATION_REACH)
            stems.append(vocabulary.correct(word))
            position.append(at)
            sentence.append(current)
            last, at = at, at + 1
            if word in NEGATORS:
                since_negator = 0
            elif since_negator is not None:
                since_negator += 1
        where: dict[str, list[int]] = {}
        for i, s in enumerate(stems):
            where.setdefault(s, []).append(i)
        indexes = {s: tuple(i) for s, i in where.items()}
        return cls(tuple(stems), tuple(negated), tuple(position), tuple(sentence), indexes)

    def find(self, phrase: tuple[str, ...], *, negatable: bool) -> list[int]:
        """Start positions of the phrase; negated occurrences left out when negatable."""
        if not phrase:
            return []
        n = len(phrase)
        return [
            i
            for i in self.where.get(phrase[0], ())
            if self.stems[i : i + n] == phrase and not (negatable and self.negated[i])
        ]
