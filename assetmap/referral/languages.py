"""The languages a session runs in, as codes: ISO 639-1 where one exists, ISO 639-3 otherwise,
and "bsl" for British Sign Language (ISO 639-3 "bfi" is accepted and stored as "bsl").

"und" (ISO 639 "undetermined") is what the old single "languages-spoken" tag became: another
language than English is spoken, nobody has said which. A listing that says nothing is taken
to run in English, which is how the "spoken in" filter treats it.
"""

from __future__ import annotations

from collections.abc import Iterable

from assetmap.errors import ValidationError

LANGUAGES: dict[str, str] = {
    "en": "English", "bsl": "British Sign Language", "cy": "Welsh", "gd": "Scottish Gaelic",
    "ga": "Irish", "ar": "Arabic", "bn": "Bengali", "syl": "Sylheti", "ur": "Urdu",
    "pa": "Punjabi", "gu": "Gujarati", "hi": "Hindi", "ta": "Tamil", "ne": "Nepali",
    "so": "Somali", "am": "Amharic", "ti": "Tigrinya", "om": "Oromo", "sw": "Swahili",
    "yo": "Yoruba", "ig": "Igbo", "tw": "Twi", "fa": "Persian (Farsi)", "ps": "Pashto",
    "prs": "Dari", "ku": "Kurdish", "tr": "Turkish", "el": "Greek", "sq": "Albanian",
    "pl": "Polish", "ro": "Romanian", "bg": "Bulgarian", "lt": "Lithuanian", "lv": "Latvian",
    "ru": "Russian", "uk": "Ukrainian", "pt": "Portuguese", "es": "Spanish", "fr": "French",
    "it": "Italian", "de": "German", "zh": "Chinese", "yue": "Cantonese",
    "cmn": "Mandarin", "vi": "Vietnamese", "tl": "Tagalog", "ja": "Japanese", "ko": "Korean",
    "he": "Hebrew", "yi": "Yiddish", "und": "Another language (ask which)",
}
ALIASES = {"bfi": "bsl", "eng": "en", "en-gb": "en", "sign": "bsl", "ara": "ar", "ben": "bn",
           "urd": "ur", "som": "so", "pol": "pl", "por": "pt", "spa": "es", "fra": "fr",
           "fre": "fr", "tur": "tr", "chi": "zh", "zho": "zh", "per": "fa", "fas": "fa",
           "ell": "el", "gre": "el", "rus": "ru", "ukr": "uk", "ron": "ro", "rum": "ro",
           "pan": "pa", "guj": "gu", "tam": "ta", "hin": "hi", "amh": "am", "tir": "ti"}
_BY_NAME = {name.lower(): code for code, name in LANGUAGES.items()} | {
    "farsi": "fa", "persian": "fa", "bsl": "bsl", "sign language": "bsl"}
LANGUAGE_CHOICES = tuple(sorted(((c, n) for c, n in LANGUAGES.items() if c != "und"),
                                key=lambda pair: (pair[0] != "en", pair[0] != "bsl", pair[1])))
#: Unsaid means English (see the module docstring).
DEFAULT = ("en",)


def language_code(raw: str, field: str = "languages") -> str:
    """One code from a code or an English name ("Somali", "so", "som", "BSL")."""
    text = " ".join(str(raw).split()).lower()
    code = ALIASES.get(text, text)
    if code in LANGUAGES:
        return code
    if text in _BY_NAME:
        return _BY_NAME[text]
    if "-" in text and text.split("-")[0] in LANGUAGES:  # "pt-br", "zh-hant"
        return text.split("-")[0]
    raise ValidationError(field, f"unknown language {raw!r}: give a code such as en, bsl, so",
                          allowed=list(LANGUAGES))


def parse_languages(raw: object, field: str = "languages") -> list[str] | None:
    """Codes from a list or text split on commas or semicolons; None when nothing is said."""
    if raw is None:
        return None
    parts: Iterable[str]
    if isinstance(raw, str):
        parts = raw.replace(";", ",").split(",")
    elif isinstance(raw, (list, tuple, set, frozenset)):
        parts = [str(p) for p in raw]
    else:
        raise ValidationError(field, "give language codes separated by commas")
    codes = [language_code(p, field) for p in parts if str(p).strip()]
    return list(dict.fromkeys(codes)) or None


def spoken(languages: list[str] | None) -> tuple[str, ...]:
    """The languages a listing runs in, unsaid read as English."""
    return tuple(languages) if languages else DEFAULT


def runs_in(languages: list[str] | None, code: str) -> bool:
    return code in spoken(languages)


def language_names(languages: list[str] | None) -> list[str]:
    return [LANGUAGES.get(code, code) for code in languages or ()]


def languages_words(languages: list[str] | None, interpreter: bool | None) -> str | None:
    """ "Runs in Somali and English; an interpreter can come" (None when nothing is said)."""
    names = language_names(languages)
    parts = []
    if names:
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        parts.append(f"Runs in {listed}")
    if interpreter:
        parts.append("an interpreter can come")
    elif interpreter is False:
        parts.append("no interpreter")
    if not parts:
        return None
    text = "; ".join(parts)
    return text[0].upper() + text[1:]


def parse_yes_no(raw: object, field: str) -> bool | None:
    """A yes/no answer from a form, file or API ('' or None: not said)."""
    if raw is None or isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if not text or text in ("unknown", "not said"):
        return None
    if text in ("1", "yes", "y", "true", "on"):
        return True
    if text in ("0", "no", "n", "false", "off"):
        return False
    raise ValidationError(field, f"{raw!r} is not yes or no", allowed=["yes", "no"])
