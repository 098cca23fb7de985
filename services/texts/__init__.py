"""What partners read, in their language: one catalogue file per language (en.toml, es.toml, zh.toml here).

The supplier page, the Excel questionnaire and the answer importer (the words it reads back) take their texts from
here, and so will the e-mails. Staff pages are in English and keep their texts in the code.

A key is the dotted path of a value in the files ("supplier.title", "workbook.column.answer"). A value is
- a text with {placeholders}, filled in by `text(key, language, **values)`;
- a table of plural forms (`one`, `other`), one of which `text` picks by the `count` value and the language's
  `plural_rule`;
- a list of words (other spellings the importers accept), returned by `words`.
Every language has every key, with the same placeholders (tests/test_texts.py).
"""

import string
import tomllib
import unicodedata
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

from models.collection import AnswerValue
from models.common import LANGUAGES

FOLDER = Path(__file__).resolve().parent
PLURAL_FORMS = ("one", "other")
# How a number picks its plural form (CLDR's rules, restricted to the integers the texts count).
PLURAL_RULES: dict[str, Callable[[int], str]] = {
    "one-other": lambda n: "one" if n == 1 else "other",  # English, Spanish
    "other": lambda n: "other",  # Chinese: no plural forms
}

Entry = str | dict[str, str] | tuple[str, ...]


def language_of(code: str | None) -> str:
    """The catalogue language for a stored language code: English when unknown or empty."""
    return code if code in LANGUAGES else "en"


def text(key: str, language: str, /, **values: object) -> str:
    """The text `key` in `language`, with its {placeholders} filled in from `values`.

    For a text with plural forms, `count` picks the form. Raises KeyError for an unknown key or language, and for
    a placeholder left without a value.
    """
    entry = catalogue(language)[key]
    if isinstance(entry, tuple):
        raise KeyError(f"{key} is a list of words; use words()")
    if isinstance(entry, dict):
        form = PLURAL_RULES[plural_rule(language)](int(values["count"]))
        entry = entry[form]
    return entry.format_map(values)


def words(key: str, language: str) -> tuple[str, ...]:
    """The list of words `key` in `language` (e.g. "import.answer.yes")."""
    entry = catalogue(language)[key]
    if not isinstance(entry, tuple):
        raise KeyError(f"{key} is a text, not a list of words")
    return entry


def texts_in_every_language(key: str, **values: object) -> dict[str, str]:
    """The text `key` in each language, by language code."""
    return {language: text(key, language, **values) for language in LANGUAGES}


def answer_spellings(values: Iterable[str] = tuple(AnswerValue)) -> dict[str, str]:
    """Every spelling of the answers in every language -> the answer: the supplier page's and the workbook's
    words and the catalogue's other spellings ("import.answer.*"), NFKC-normalised and case-folded."""
    spellings: dict[str, str] = {}
    for language in LANGUAGES:
        for value in values:
            found = (text(f"answer.{value}", language), text(f"workbook.answer.{value}", language),
                     *words(f"import.answer.{value}", language))
            spellings.update(dict.fromkeys((_folded(word) for word in found), value))
    return spellings


def flag_spellings() -> dict[str, bool]:
    """Every spelling of yes and no in the yes/no columns of files, in every language ("import.flag.*"),
    case-folded; a blank cell is no."""
    spellings = {"": False}
    for language in LANGUAGES:
        for key, value in (("import.flag.true", True), ("import.flag.false", False)):
            spellings.update(dict.fromkeys((_folded(word) for word in words(key, language)), value))
    return spellings


def column_spellings(column: str) -> tuple[str, ...]:
    """Every header of an Answers sheet column in every language, and the catalogue's other spellings for it
    ("import.column.<column>", when listed)."""
    found: list[str] = []
    for language in LANGUAGES:
        found.append(text(f"workbook.column.{column}", language))
        if f"import.column.{column}" in catalogue(language):
            found += words(f"import.column.{column}", language)
    return tuple(dict.fromkeys(found))


def _folded(word: str) -> str:
    return unicodedata.normalize("NFKC", word).casefold().strip()


def placeholders(entry: Entry) -> set[str]:
    """The names of the {placeholders} of a text (of all its plural forms)."""
    forms = entry.values() if isinstance(entry, dict) else () if isinstance(entry, tuple) else (entry,)
    return {name for form in forms for _, name, _, _ in string.Formatter().parse(form) if name is not None}


def catalogue_problems(entries: dict[str, dict[str, Entry]], rules: dict[str, str]) -> list[str]:
    """What is wrong with catalogues (entries and plural rule by language), compared with English: keys missing or
    extra, a text in one language that is a list or plural forms in another, placeholders that differ, plural forms
    the language's rule needs but lacks (or cannot use). Empty when they agree."""
    problems = []
    reference = entries["en"]
    for language, mine in entries.items():
        needs = {PLURAL_RULES[rules[language]](n) for n in range(0, 200)}
        problems += [f"{language}: {key} is missing" for key in reference if key not in mine]
        problems += [f"{language}: {key} is not in en" for key in mine if key not in reference]
        for key in reference.keys() & mine.keys():
            theirs, ours = reference[key], mine[key]
            if type(theirs) is not type(ours) and not (isinstance(theirs, str | dict) and isinstance(ours, str | dict)):
                problems.append(f"{language}: {key} is a {_kind(ours)}, in en a {_kind(theirs)}")
                continue
            if placeholders(theirs) != placeholders(ours):
                problems.append(f"{language}: {key} has the placeholders {sorted(placeholders(ours))}, en has "
                                f"{sorted(placeholders(theirs))}")
            if isinstance(ours, dict):
                if "count" not in placeholders(ours):
                    problems.append(f"{language}: {key} has plural forms but no {{count}}")
                if set(ours) != needs:
                    problems.append(f"{language}: {key} has the forms {sorted(ours)}; its plural rule needs "
                                    f"{sorted(needs)}")
            elif isinstance(theirs, dict) and len(needs) > 1:
                problems.append(f"{language}: {key} needs the plural forms {sorted(needs)}")
    return problems


def _kind(entry: Entry) -> str:
    return "list of words" if isinstance(entry, tuple) else "text"


def plural_rule(language: str) -> str:
    return _load(language)[1]


def catalogue(language: str) -> dict[str, Entry]:
    """Every entry of a language by key (read once from its file)."""
    return _load(language)[0]


@cache
def _load(language: str) -> tuple[dict[str, Entry], str]:
    if language not in LANGUAGES:
        raise KeyError(f"No texts in language '{language}': one of {', '.join(LANGUAGES)}")
    with (FOLDER / f"{language}.toml").open("rb") as file:
        data = tomllib.load(file)
    rule = data.pop("plural_rule")
    if rule not in PLURAL_RULES:
        raise ValueError(f"{language}.toml: plural_rule '{rule}' must be one of {', '.join(PLURAL_RULES)}")
    entries: dict[str, Entry] = {}
    _flatten(data, "", entries, language)
    return entries, rule


def _flatten(table: dict, prefix: str, entries: dict[str, Entry], language: str) -> None:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and value and set(value) <= set(PLURAL_FORMS) and "other" in value:
            entries[key] = {form: str(value[form]) for form in PLURAL_FORMS if form in value}
        elif isinstance(value, dict):
            _flatten(value, f"{key}.", entries, language)
        elif isinstance(value, list):
            entries[key] = tuple(str(word) for word in value)
        elif isinstance(value, str):
            entries[key] = value
        else:
            raise ValueError(f"{language}.toml: {key} must be a text, a list of words or plural forms")
