"""Each rule has one home: no status, answer, requirement, applicability or role-default word is spelled out as a string
literal outside its StrEnum (models.collection, models.common, models.reference); code compares with the enum members
instead.

The check reads the code with `ast`, so it finds real string literals only: not docstrings, not words inside
f-string text, not comments. Words that are text rather than codes are left alone by their place in the code:
values of per-language text tables ({"en": ..., "es": ...}) and translation keys (``t("submitted", language)`` and
the keys of the catalogue those calls read). Cycle statuses (open, closed) and answer sources (link, file, staff)
have enums too but are not checked here: the same words name audit actions, page views and problem columns; so does
the partner role setting (models.reference.RoleSetting), whose "default" also names a column.
"""

import ast
from pathlib import Path

import pytest

from models.collection import AnswerValue, AssignmentStatus, DerivedStatus
from models.common import LANGUAGES, Applicability, Requirement
from models.reference import RoleDefault

ROOT = Path(__file__).resolve().parents[1]
VOCABULARY = {m.value for enum in (AssignmentStatus, DerivedStatus, AnswerValue, Requirement, Applicability,
                                   RoleDefault) for m in enum}
# (file, enclosing function, word): the same word meaning something else, with the reason.
ALLOWED = {
    ("services/core/config.py", "", "no"): "a word for false in an environment setting",
    ("services/reference/loader.py", "_mras", "yes"): "the yes/no column of CBP's MRA reference file",
}


def _code_files() -> list[Path]:
    files = [ROOT / "app.py", ROOT / "manage.py", *ROOT.glob("cli*.py")]
    for folder in ("services", "pages", "ui", "models", "cli"):
        files += (ROOT / folder).rglob("*.py")
    return sorted(f for f in files if f.is_file())


def _is_language_table(node: ast.AST) -> bool:
    return isinstance(node, ast.Dict) and bool(node.keys) and all(
        isinstance(k, ast.Constant) and k.value in LANGUAGES for k in node.keys)


def _is_strenum(node: ast.ClassDef) -> bool:
    return any((isinstance(b, ast.Name) and b.id == "StrEnum") or (isinstance(b, ast.Attribute) and b.attr == "StrEnum")
               for b in node.bases)


def _exempt(tree: ast.AST) -> set[int]:
    """ids of the string constants that are not codes: docstrings, f-string text, language texts, translation keys,
    and everything inside the StrEnums (the vocabularies' home)."""
    skip: set[int] = set()

    def everything_in(node: ast.AST) -> None:
        skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        if isinstance(node, ast.ClassDef) and _is_strenum(node):
            everything_in(node)
        elif isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.Call) and node.args and (
                (isinstance(node.func, ast.Name) and node.func.id == "t")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "t")):
            skip.add(id(node.args[0]))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if _is_language_table(value):  # {"submitted": {"en": ..., "es": ...}}: a translation key and texts
                    skip.add(id(key))
                    everything_in(value)
                elif isinstance(key, ast.Constant) and key.value in LANGUAGES and isinstance(value, ast.Dict):
                    skip.update(id(v) for v in ast.walk(ast.Tuple(elts=value.values)))  # {"es": {code: "no"}}
    return skip


def offenders(source: str) -> list[tuple[int, str, str]]:
    """(line, enclosing function, word) of every vocabulary word spelled out as a string literal."""
    tree = ast.parse(source)
    skip = _exempt(tree)
    found = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in VOCABULARY
                and id(node) not in skip):
            found.append((node.lineno, function, node.value))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "")
    return found


def test_the_check_finds_literals_and_leaves_text_alone():
    source = '''
"""Docstring: submitted, accepted."""
from enum import StrEnum


class Status(StrEnum):
    submitted = "submitted"


def f(status, language):
    """Returns 'partial'."""
    ok = status == "submitted" or status in ("partial", "no")
    label = f"this one is submitted ({status})"
    words = {"en": {Status.submitted: "yes"}, "es": {Status.submitted: "no"}}
    texts = {"accepted": {"en": "Accepted", "es": "Aceptado"}}
    return t("accepted", language), {"must": 1}
'''
    assert offenders(source) == [(12, "f", "submitted"), (12, "f", "partial"), (12, "f", "no"), (16, "f", "must")]


@pytest.mark.parametrize("path", _code_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_status_or_answer_literal_outside_the_enums(path):
    relative = str(path.relative_to(ROOT))
    found = [(line, function, word) for line, function, word in offenders(path.read_text(encoding="utf-8"))
             if (relative, function, word) not in ALLOWED]
    assert not found, "\n".join(
        f"{relative}:{line} ({function or 'module'}): '{word}' is spelled out; use the enum member "
        "(models.collection: AssignmentStatus, DerivedStatus, AnswerValue; models.common: Requirement, Applicability; "
        "models.reference: RoleSetting, RoleDefault for the partner role flags)"
        for line, function, word in found)


def test_every_allowed_exception_is_still_needed():
    for (relative, function, word), reason in ALLOWED.items():
        found = offenders((ROOT / relative).read_text(encoding="utf-8"))
        assert (function, word) in {(f, w) for _, f, w in found}, f"{relative}: no longer needed ({reason})"
