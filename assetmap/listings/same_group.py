"""Are two listings the same group? One reading of a group's name, two named thresholds.

Feeds link a record to a listing another source already carries without asking anyone, so
`FEED_LINK` asks for nearly the same name close by. Moderation only puts possible duplicates in
front of a coordinator, who decides, so `LIKELY_DUPLICATE` casts wider. Both compare names the
same way (`name_key`), so a pair one rule calls "the same name" the other does too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

_WORDS = re.compile(r"[a-z0-9']+")
# Words that say nothing about which group it is.
_STOP = frozenset({"the", "a", "an", "and", "of", "at", "in", "on", "for", "with", "to"})


@dataclass(frozen=True)
class SameGroupRule:
    """How alike two names must be (0..1) within how many metres; `far_name`/`far_metres`:
    an almost identical name counts a little further off; `ignore`: words left out of the
    names besides the usual small words."""

    name: float
    metres: float
    far_name: float | None = None
    far_metres: float | None = None
    ignore: frozenset[str] = frozenset()


#: Linking across sources, done by the machine: nearly the same spelling within 250 m, where
#: feeds' habit of adding "club", "group" or "session" to a name does not count.
FEED_LINK = SameGroupRule(name=0.82, metres=250,
                          ignore=frozenset({"club", "group", "session"}))
#: Possible duplicates shown to a coordinator: a similar name (spelling, or shared words, where
#: "club" still tells "Lunch Club" from "Lunch") within 400 m, or almost the same within 2 km.
LIKELY_DUPLICATE = SameGroupRule(name=0.6, metres=400, far_name=0.85, far_metres=2000)


def name_words(name: str, rule: SameGroupRule = LIKELY_DUPLICATE) -> list[str]:
    """The words that tell groups apart under `rule`, plurals folded ("Tuesdays" is
    "Tuesday")."""
    words = _WORDS.findall(name.lower().replace("&", " and "))
    folded = (w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
              for w in words if w not in _STOP)
    return [w for w in folded if w not in rule.ignore]


def name_key(name: str, rule: SameGroupRule = FEED_LINK) -> str:
    """A name as `rule` compares it: its telling words, in order."""
    return " ".join(name_words(name, rule))


def name_similarity(a: str, b: str) -> float:
    """0..1: the better of spelling likeness and how many words of the shorter name recur."""
    ta, tb = name_words(a), name_words(b)
    if not ta or not tb:
        return 0.0
    ratio = SequenceMatcher(None, " ".join(ta), " ".join(tb)).ratio()
    shared = len(set(ta) & set(tb)) / min(len(set(ta)), len(set(tb)))
    return max(ratio, shared)


class NameMatcher:
    """One name compared with many under a rule's spelling threshold: difflib caches what it
    learns of the second sequence, and its cheap upper bounds rule most pairs out before the
    full ratio."""

    def __init__(self, name: str, rule: SameGroupRule = FEED_LINK) -> None:
        self.key = name_key(name, rule)
        self.threshold = rule.name
        self._matcher = SequenceMatcher(None, b=self.key)

    def matches(self, other_key: str) -> bool:
        if not self.key or not other_key:
            return False
        if other_key == self.key:
            return True
        matcher = self._matcher
        matcher.set_seq1(other_key)
        return (matcher.real_quick_ratio() >= self.threshold
                and matcher.quick_ratio() >= self.threshold
                and matcher.ratio() >= self.threshold)


def is_likely_duplicate(similarity: float, metres: float,
                        rule: SameGroupRule = LIKELY_DUPLICATE) -> bool:
    """Two placed listings this alike (`name_similarity`) and this far apart."""
    if similarity < rule.name:
        return False
    if metres <= rule.metres:
        return True
    return (rule.far_name is not None and rule.far_metres is not None
            and similarity >= rule.far_name and metres <= rule.far_metres)
