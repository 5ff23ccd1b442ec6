"""Command line of the course: ``python -m bhm exercises --out DIR [--chapter N]``.

``exercises`` writes one student notebook (.ipynb) per chapter: the chapter with
the exercises' solutions taken out and their checks kept (see :mod:`bhm.exercises`).
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bhm", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    exercises = commands.add_parser(
        "exercises",
        help="write the student notebooks: the chapters with the solutions taken out",
        description="Write one student notebook (.ipynb) per chapter into DIR: prose, worked examples "
                    "and checks kept, each exercise's solution replaced by a stub to fill in.",
    )
    exercises.add_argument("--out", required=True, metavar="DIR", help="folder to write the notebooks into")
    exercises.add_argument("--chapter", type=int, action="append", metavar="N",
                           help="only chapter N (repeat for several); all chapters by default")
    exercises.add_argument("--book", metavar="DIR", help="the book's folder (default: the repository's book/)")
    args = parser.parse_args(argv)

    if args.command == "exercises":
        try:
            import jupytext  # noqa: F401
            import nbformat  # noqa: F401
        except ImportError as error:
            print(f"python -m bhm exercises needs jupytext and nbformat ({error}); "
                  "install them with: pip install -e '.[book]'", file=sys.stderr)
            return 1
        from bhm.exercises import write_student_notebooks

        try:
            written = write_student_notebooks(args.out, chapters=args.chapter, book_dir=args.book)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if not written:
            print("error: no chapters found; give the book's folder with --book", file=sys.stderr)
            return 2
        for path in written:
            print(f"wrote {path}")
        print("Open them in Jupyter, replace each ... by your answer, and run the cells.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
