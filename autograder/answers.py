"""What a student wrote, kept for the people who read it: each graded function's code (the class
report's anonymised examples) and each written answer (for whoever grades them by hand).

Both are taken from the submission itself when it is graded, on every route, and travel in its
results.json (``GradedSubmission.code`` and ``.written``), so ``collect`` and the Gradescope
bundle, which grade in a temporary folder, keep them too.  Nothing here runs student code: the
code is parsed (``ast``), never executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .notebook import NotebookError, cell_source, nbgrader_metadata, read_notebook

#: longest written answer kept (longer ones are cut, and say so)
MAX_WRITTEN = 4000


def function_code(cells: list[dict], functions: list[str]) -> dict[str, str]:
    """Each of ``functions`` as the student's cells define it (the last definition wins, as when
    the notebook runs), tidied by ``tidy``; a function that cannot be found or parsed is left out.

    ``cells`` are ``notebook.read_cells``'s; only the student's own cells (mode ``full``) count.
    """
    found: dict[str, str] = {}
    for cell in cells:
        if cell.get("mode") != "full":
            continue
        try:
            tree = ast.parse(cell["source"])
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in functions:
                found[node.name] = tidy(node)
    return {f: found[f] for f in functions if f in found}


def tidy(node: ast.FunctionDef) -> str:
    """The function's code without comments or docstrings (ast.unparse): what it does, in one
    layout, with nothing a student wrote about themselves in the margins."""
    node = _without_docstrings(node)
    return ast.unparse(node)


def _without_docstrings(node: ast.AST) -> ast.AST:
    for child in ast.walk(node):
        body = getattr(child, "body", None)
        if (
            isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            child.body = body[1:] or [ast.Pass()]
    return node


def written_answers(notebook: Path, grade_ids: list[str]) -> dict[str, str]:
    """The written answers of ``notebook``: the text of each cell whose nbgrader ``grade_id`` is
    one of ``grade_ids`` (course.yml ``manual``), cut at ``MAX_WRITTEN`` characters; {} when the
    notebook cannot be read (the grade says why elsewhere)."""
    if not grade_ids or notebook.is_symlink() or not notebook.is_file():
        return {}
    try:
        nb = read_notebook(notebook)
    except NotebookError:  # a damaged notebook has no answers to keep; grading says why
        return {}
    answers = {}
    for cell in nb["cells"]:
        meta = nbgrader_metadata(cell) if isinstance(cell, dict) else None
        grade_id = meta.get("grade_id") if meta else None
        if isinstance(grade_id, str) and grade_id in grade_ids and grade_id not in answers:
            text = cell_source(cell) or ""
            answers[grade_id] = text if len(text) <= MAX_WRITTEN else text[:MAX_WRITTEN] + " [cut]"
    return answers
