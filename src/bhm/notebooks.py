"""Student notebooks: each chapter with its exercises' solutions replaced by stubs, checks kept.

The solution cells and the student notebooks
--------------------------------------------
In a chapter, an exercise's solution is the text between ``{solution-start}`` and
``{solution-end}``; its code cells end with a marker line ``# check`` followed by
the check calls, so the book shows "✓ ... right" inside the dropdown::

    alpha_25 = conjugate.posterior_weight(25, sigma=15.0, sigma0=5.0)
    print(round(alpha_25, 4))
    # check
    check("ex1-alpha", alpha_25)

:func:`student_notebook` (``python -m bhm exercises --out DIR``) reads a chapter
with jupytext and writes it with nbformat, keeping the prose, the worked examples
and the hidden assert cells (they check the worked examples), and turning
sphinx-exercise and MyST markup into plain Markdown. In each solution it

* drops the solution prose, leaving a short "write your solution" note;
* replaces the code above ``# check`` by a **stub**: for each check
  ``check(name, variable)`` below the marker, the line
  ``variable = ...  # TODO: <prompt>``, valid Python that assigns Ellipsis;
* keeps the lines after ``# check`` unchanged.

So the second argument of a check call in a solution cell must be a plain
variable name. A student notebook run unchanged reports "not answered yet" at
every check, and no cell fails. A solution code cell without the marker (a
chapter without checks) becomes a ``# TODO`` comment.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bhm.exercises import CHECK_MARKER, CHECKS

__all__ = ["chapter_files", "check_calls", "default_book_dir", "student_notebook", "write_student_notebooks"]


def default_book_dir() -> Path:
    """The book's folder: ``$BHM_BOOK_DIR``, else the repository's ``book/`` (:func:`bhm._paths.project_dir`).

    Returns
    -------
    pathlib.Path
    """
    from bhm._paths import project_dir

    return project_dir("book")


def chapter_files(book_dir=None) -> list[Path]:
    """The chapters: ``NN_*.md`` files of ``book_dir`` that are notebooks (have a kernelspec).

    Parameters
    ----------
    book_dir : path-like, optional
        The book's folder; :func:`default_book_dir` by default.

    Returns
    -------
    list of pathlib.Path
        Sorted by chapter number.
    """
    book_dir = Path(book_dir) if book_dir is not None else default_book_dir()
    files = []
    for path in sorted(book_dir.glob("[0-9][0-9]_*.md")):
        head = path.read_text(encoding="utf-8")[:2000]
        if head.startswith("---") and "kernelspec:" in head.split("\n---", 1)[0]:
            files.append(path)
    return files


def check_calls(source: str) -> list[tuple[str, str | None]]:
    """The check calls of a code cell: ``(name, variable)`` pairs, in order.

    ``variable`` is the name passed as the answer, or None if the answer is an
    expression. Calls are ``check("name", x)`` or ``<module>.check("name", x)``.

    Parameters
    ----------
    source : str
        Python source of a code cell.

    Returns
    -------
    list of (str, str or None)
        Each check's name and the variable passed as its answer (None for an
        expression), in the order they appear; empty if the source does not parse.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if called != "check" or not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        if not isinstance(node.args[0].value, str):
            continue
        variable = node.args[1].id if len(node.args) > 1 and isinstance(node.args[1], ast.Name) else None
        calls.append(((node.lineno, node.col_offset), node.args[0].value, variable))
    return [(name, variable) for _, name, variable in sorted(calls)]


def _stub(source: str, label: str) -> str:
    """The student's version of a solution code cell."""
    lines = source.splitlines()
    marker = next((i for i, line in enumerate(lines) if line.strip() == CHECK_MARKER), None)
    if marker is None:
        return f"# TODO: your code for exercise {label} (the solution is not part of this notebook)"
    kept = "\n".join(lines[marker + 1:])
    stubs, seen = [], set()
    for name, variable in check_calls(kept):
        if variable is None:
            raise ValueError(f"exercise {label}: the answer of check({name!r}, ...) must be a variable name, "
                             "so that the student notebook can stub it")
        if name not in CHECKS:
            raise ValueError(f"exercise {label}: no check named {name!r} is registered in bhm.exercises")
        if variable not in seen:
            seen.add(variable)
            stubs.append(f"{variable} = ...  # TODO: {CHECKS[name].prompt}")
    return "\n".join(["# Replace each ... by your answer (write any code you need above it).", *stubs,
                      "", CHECK_MARKER, kept])


_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}\s*(?P<argument>.*)$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
_TARGET = re.compile(r"^\([\w-]+\)=\s*$")
_NOTE_SLOT = re.compile(r"@@solution-note (\S+)@@")
_TITLE = re.compile(r"^\(([\w-]+)\)=[ \t]*\n+#+[ \t]+(.+)$", re.MULTILINE)


def _titles(book_dir: Path) -> dict[str, str]:
    """Targets ``(label)=`` of the book's headings: label -> heading text."""
    titles = {}
    for path in sorted(book_dir.glob("*.md")):
        for match in _TITLE.finditer(path.read_text(encoding="utf-8")):
            titles[match[1]] = match[2].strip()
    return titles


def _directives(text: str):
    """Split MyST markdown into ('text', str) and ('directive', name, argument, options, body) parts."""
    lines = text.split("\n")
    i = 0
    plain: list[str] = []
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            plain.append(lines[i])
            i += 1
            continue
        if plain:
            yield ("text", "\n".join(plain))
            plain = []
        fence, j = match["fence"], i + 1
        options = {}
        while j < len(lines) and _OPTION.match(lines[j]):
            option = _OPTION.match(lines[j])
            options[option["key"]] = option["value"]
            j += 1
        body = []
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j])
            j += 1
        yield ("directive", match["name"], match["argument"].strip(), options, "\n".join(body).strip("\n"))
        i = j + 1
    if plain:
        yield ("text", "\n".join(plain))


class _Converter:
    """Turns a chapter's cells into a student notebook's cells."""

    NOTE = ("*Your solution: write it in the code cell below, replacing each `...`; the lines after "
            "`# check` tell you whether it is right.*")
    NOTE_CODE = "*Your solution: write it in the code cell below.*"
    NOTE_NO_CODE = "*Your solution: write it here.*"

    def __init__(self, chapter: int, titles: dict[str, str] | None = None, folder: Path | None = None):
        self.chapter = chapter
        self.titles = titles or {}
        self.folder = folder or default_book_dir()  # the chapter's folder: literalinclude paths start there
        self.exercise = 0
        self.solution: str | None = None  # label of the open solution
        self.with_code: set[str] = set()  # labels of the solutions that have code cells
        self.with_checks: set[str] = set()  # ... that have checks

    def markdown(self, text: str) -> str:
        out = []
        for part in _directives(text):
            if part[0] == "text":
                if self.solution is None:
                    out.append(part[1])
                continue
            _, name, argument, options, body = part
            if name == "solution-start":
                self.solution = argument or "?"
                out.append(f"@@solution-note {self.solution}@@")
            elif name == "solution-end":
                self.solution = None
            elif self.solution is not None:
                continue
            elif name in ("exercise", "exercise-start"):
                self.exercise += 1
                label = options.get("label", "")
                title = f"### Exercise {self.chapter}.{self.exercise}" + (f" ({argument})" if argument else "")
                out.append(title + (f"\n\n*(`{label}`)*" if label else "") + (f"\n\n{body}" if body else ""))
            elif name == "exercise-end":
                continue
            elif name == "math":
                out.append(f"$$\n{body}\n$$")
            elif name == "hint":  # a folded hint before a solution: folded in the notebook too
                out.append(f"<details><summary><b>Hint</b></summary>\n\n{body}\n\n</details>")
            elif name == "literalinclude" and "pyobject" in options:
                out.append("```python\n" + self._pyobject(argument, options["pyobject"], options) + "\n```")
            else:
                fence = "```"
                out.append(f"{fence}{{{name}}} {argument}".rstrip() + "\n"
                           + "".join(f":{k}: {v}\n" for k, v in options.items()) + body + f"\n{fence}")
        text = "\n\n".join(part.strip("\n") for part in out if part.strip())
        text = "\n".join(line for line in text.split("\n") if not _TARGET.match(line))
        return _ROLE.sub(self._role, text).strip()

    def _pyobject(self, path: str, name: str, options: dict[str, str] | None = None) -> str:
        """The lines of function or class ``name`` in ``path`` that a literalinclude with ``:pyobject:``
        shows, narrowed as Sphinx does, in its order, by the options ``start-at`` or ``start-after``,
        ``end-at`` or ``end-before``, ``dedent`` (a number), ``prepend`` and ``append``."""
        options = options or {}
        file = (self.folder / path).resolve()
        source = file.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = source.splitlines()[start - 1:node.end_lineno]
                break
        else:
            raise ValueError(f"literalinclude: no function or class {name!r} in {file}")

        def find(key: str) -> int:
            found = [i for i, line in enumerate(lines) if options[key] in line]
            if not found:
                raise ValueError(f"literalinclude: :{key}: {options[key]!r} not found in {name!r} of {file}")
            return found[0]

        for key, first in (("start-at", 0), ("start-after", 1)):
            if key in options:
                lines = lines[find(key) + first:]
        for key, last in (("end-at", 1), ("end-before", 0)):
            if key in options:
                lines = lines[:find(key) + last]
        if options.get("dedent"):
            lines = [line[int(options["dedent"]):] for line in lines]
        if options.get("prepend"):
            lines.insert(0, options["prepend"])
        if options.get("append"):
            lines.append(options["append"])
        return "\n".join(lines)

    def _role(self, match) -> str:
        role, text = match["role"], match["text"]
        if role.startswith("glue"):  # a number glued by a cell above: name the variable that holds it
            return f"`{text.split('::')[-1].split(':')[0]}`"
        shown = re.sub(r"\s*<[^>]*>$", "", text)  # {ref}`text <target>` -> text
        if role == "cite":
            return f"({shown})"
        if role == "eq":
            return f"(equation {shown})"
        if role in ("ref", "doc", "numref"):
            return f"*{self.titles.get(shown, shown)}*" if shown == text else f"*{shown}*"
        return shown


def student_notebook(chapter_md):
    """The student notebook of one chapter: solutions replaced by stubs, checks kept.

    Parameters
    ----------
    chapter_md : path-like
        A chapter, a MyST-markdown notebook (``book/NN_*.md``).

    Returns
    -------
    nbformat.NotebookNode
        Notebook format 4, with the chapter's kernelspec.

    Raises
    ------
    ValueError
        A check call in a solution whose answer is not a variable name, a check
        that is not registered, or a ``literalinclude`` that cannot be resolved.
    """
    import jupytext
    import nbformat

    chapter_md = Path(chapter_md)
    source = jupytext.read(chapter_md)
    number = int(chapter_md.name[:2]) if chapter_md.name[:2].isdigit() else 0
    converter = _Converter(number, _titles(chapter_md.parent), chapter_md.parent)
    cells = [nbformat.v4.new_markdown_cell(
        f"*Student notebook of chapter {number}, written by `python -m bhm exercises` from "
        f"`book/{chapter_md.name}`. The exercises at the end have their solutions taken out: "
        "replace each `...` by your answer and run the cell; its check says whether you are right.*"
    )]
    for cell in source.cells:
        if cell.cell_type == "markdown":
            text = converter.markdown(cell.source)
            if text:
                cells.append(nbformat.v4.new_markdown_cell(text))
        elif cell.cell_type == "code":
            if converter.solution is not None:
                converter.with_code.add(converter.solution)
                if any(line.strip() == CHECK_MARKER for line in cell.source.splitlines()):
                    converter.with_checks.add(converter.solution)
                cells.append(nbformat.v4.new_code_cell(_stub(cell.source, converter.solution)))
            else:
                new = nbformat.v4.new_code_cell(cell.source)
                new.metadata = dict(cell.metadata)
                cells.append(new)
        else:
            cells.append(nbformat.v4.new_raw_cell(cell.source))
    for cell in cells:  # the note of a solution depends on whether it had code
        if cell.cell_type == "markdown":
            cell.source = _NOTE_SLOT.sub(
                lambda m: (_Converter.NOTE if m[1] in converter.with_checks
                           else _Converter.NOTE_CODE if m[1] in converter.with_code else _Converter.NOTE_NO_CODE),
                cell.source,
            )
    notebook = nbformat.v4.new_notebook(cells=cells)
    kernelspec = source.metadata.get("kernelspec", {"name": "python3", "display_name": "Python 3",
                                                    "language": "python"})
    notebook.metadata = {"kernelspec": dict(kernelspec), "language_info": {"name": "python"}}
    return notebook


def write_student_notebooks(out_dir, chapters=None, book_dir=None, *, overwrite: bool = True) -> list[Path]:
    """Write the student notebook of each chapter into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Folder to write ``NN_name.ipynb`` into; created if missing.
    chapters : iterable of int, optional
        Chapter numbers; all chapters by default.
    book_dir : path-like, optional
        The book's folder; :func:`default_book_dir` by default.
    overwrite : bool, default True
        With False, a notebook that already exists (a student's work) is kept
        as it is and not counted as written.

    Returns
    -------
    list of pathlib.Path
        The notebooks written.

    Raises
    ------
    ValueError
        A chapter number not in the book, or as for :func:`student_notebook`.
    """
    import nbformat

    files = chapter_files(book_dir)
    if chapters is not None:
        wanted = {int(c) for c in chapters}
        missing = wanted - {int(f.name[:2]) for f in files}
        if missing:
            raise ValueError(f"no chapter {sorted(missing)} in {book_dir or default_book_dir()}; "
                             f"the chapters are {[int(f.name[:2]) for f in files]}")
        files = [f for f in files if int(f.name[:2]) in wanted]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in files:
        target = out_dir / f"{path.stem}.ipynb"
        if target.exists() and not overwrite:
            continue
        nbformat.write(student_notebook(path), target)
        written.append(target)
    return written
