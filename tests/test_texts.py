"""The catalogue of texts partners read (services.texts): complete in every language, plural-aware, unambiguous."""

import pytest

from models.common import LANGUAGES
from services import texts
from services.exports.workbook import ANSWER_COLUMNS, column_headers
from services.imports.reader import header_key


def everything() -> tuple[dict, dict]:
    return ({language: texts.catalogue(language) for language in LANGUAGES},
            {language: texts.plural_rule(language) for language in LANGUAGES})


def test_every_language_has_every_key_with_the_same_placeholders():
    entries, rules = everything()
    assert set(LANGUAGES) == {path.stem for path in texts.FOLDER.glob("*.toml")}  # one file per language
    assert texts.catalogue_problems(entries, rules) == []
    for language, mine in entries.items():
        for key, entry in mine.items():
            if isinstance(entry, tuple):
                assert all(word.strip() for word in entry), (language, key)
            else:  # every text formats with its own placeholders: no stray braces
                forms = entry.values() if isinstance(entry, dict) else [entry]
                values = dict.fromkeys(texts.placeholders(entry), 1)
                assert all(form.format_map(values).strip() for form in forms), (language, key)


def test_the_check_finds_missing_keys_placeholders_and_plural_forms():
    entries, rules = everything()
    broken = {language: dict(mine) for language, mine in entries.items()}
    del broken["es"]["supplier.title"]
    broken["zh"]["supplier.attached"] = "已附文件：{file}"  # en has {files}
    broken["es"]["supplier.saved"] = {"other": "Borrador guardado: {count} respuestas cambiadas."}  # no "one"
    broken["zh"]["workbook.answer.yes"] = ("是",)
    broken["es"]["supplier.extra"] = "¿?"
    problems = texts.catalogue_problems(broken, rules)
    assert "es: supplier.title is missing" in problems
    assert "zh: supplier.attached has the placeholders ['file'], en has ['files']" in problems
    assert "es: supplier.saved has the forms ['other']; its plural rule needs ['one', 'other']" in problems
    assert "zh: workbook.answer.yes is a list of words, in en a text" in problems
    assert "es: supplier.extra is not in en" in problems
    assert len(problems) == 5


def test_plural_forms_follow_the_count():
    assert texts.text("supplier.returned", "es", count=1).startswith(
        "El equipo de revisión devolvió el cuestionario con un comentario en 1 pregunta.")
    assert "en 3 preguntas." in texts.text("supplier.returned", "es", count=3)
    assert "0 preguntas" in texts.text("supplier.returned", "es", count=0)
    for count in (1, 2, 11, 21):
        for language in ("en", "es"):
            shown = texts.text("supplier.saved", language, count=count)
            assert ("1 answers" not in shown and "1 respuestas" not in shown) if count == 1 else True
        assert texts.text("supplier.saved", "zh", count=count) == f"草稿已保存：更改了 {count} 个回答。"
    assert texts.text("supplier.progress", "en", answered=0, count=1) == "0 of 1 question answered"
    assert texts.text("supplier.progress", "es", answered=1, count=1) == "1 de 1 pregunta respondida"
    assert texts.text("supplier.progress", "es", answered=1, count=91) == "1 de 91 preguntas respondidas"


def test_unknown_keys_languages_and_missing_values_are_errors():
    with pytest.raises(KeyError):
        texts.text("supplier.no_such_text", "en")
    with pytest.raises(KeyError):
        texts.text("supplier.title", "fr")
    with pytest.raises(KeyError):
        texts.text("supplier.attached", "en")  # {files} not given
    with pytest.raises(KeyError):
        texts.text("import.answer.yes", "en")  # a list of words, not a text
    assert texts.language_of("fr") == texts.language_of(None) == "en" and texts.language_of("zh") == "zh"


def test_each_answer_spelling_means_one_answer_in_every_language():
    meanings: dict[str, set[str]] = {}
    for language in LANGUAGES:
        for value in ("yes", "partial", "no", "na"):
            for word in (texts.text(f"answer.{value}", language), texts.text(f"workbook.answer.{value}", language),
                         *texts.words(f"import.answer.{value}", language)):
                meanings.setdefault(word.casefold(), set()).add(value)
    assert {word: found for word, found in meanings.items() if len(found) > 1} == {}
    assert set(texts.answer_spellings().values()) == {"yes", "partial", "no", "na"}
    assert texts.answer_spellings()["部分"] == "partial"  # files written before "部分符合" still read back


def test_each_header_spelling_names_one_column():
    owners: dict[str, set[str]] = {}
    for column in ANSWER_COLUMNS:
        for spelling in texts.column_spellings(column):
            owners.setdefault(header_key(spelling), set()).add(column)
    assert {key: found for key, found in owners.items() if len(found) > 1} == {}
    for language in LANGUAGES:
        assert len(set(column_headers(language))) == len(ANSWER_COLUMNS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_section_and_answer_words_are_distinct(language):
    # In Chinese "部分" meant both "section" and "partial": a partner could not tell the two apart.
    answers = [texts.text(f"answer.{value}", language) for value in ("yes", "partial", "no", "na")]
    section = texts.text("supplier.section", language)
    assert len({section.casefold(), *(a.casefold() for a in answers)}) == 5
    assert not any(section in answer or answer in section for answer in answers)
    assert texts.text("answer.partial", "zh") == texts.text("workbook.answer.partial", "zh") == "部分符合"
    assert texts.text("supplier.section", "zh") == "章节"
