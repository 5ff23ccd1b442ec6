"""Command line of the course.

``python -m bhm exercises --out DIR [--chapter N] [--keep]`` writes one student notebook
(.ipynb) per chapter: the chapter with the exercises' solutions taken out and
their checks kept (see :mod:`bhm.exercises`).

``python -m bhm study --sims 300 --out results/study [--cells A/true/10x200 ...]``
runs chapter 5's Monte Carlo study (see :mod:`bhm.study`); interrupted, it
resumes where it stopped.

``python -m bhm sbc --reps 1000 --fit matched --out results/sbc`` runs chapter
7's simulation-based calibration of a Stan program (see :mod:`bhm.sbc`), resumable too.

``python -m bhm compile [PROGRAM ...] [--jobs N]`` compiles the Stan programs
that the engine's cache lacks, several at a time (``make book`` runs it first).

``python -m bhm doctor [--no-stan] [--lock FILE]`` checks that this machine can
run the book (platform, Python, C++ compiler, Stan engine, packages against the
lock file, Stan's cache, Chromium) and says what to do about each problem (see
:mod:`bhm.doctor`); it exits with 1 when the book cannot run.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC


def _add_run_options(command) -> None:
    """The options every resumable run shares (study, sbc)."""
    command.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    command.add_argument("--export", metavar="CSV", help="write all results in OUT to this .csv(.gz) file")
    command.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(argv=None) -> int:
    """Run ``python -m bhm`` with ``argv`` (default: the command line's arguments); returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``python -m bhm``; by default the command line's.

    Returns
    -------
    int
        The exit status: 0 done, 1 a missing requirement (or doctor's verdict),
        2 a bad argument, 130 interrupted.
    """
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
    exercises.add_argument("--keep", action="store_true",
                           help="keep the notebooks that already exist in DIR (your work); write only the missing ones")
    run = commands.add_parser(
        "study",
        help="run chapter 5's Monte Carlo study (resumable)",
        description="Run the Monte Carlo study of chapter 5: simulate, fit and store every simulation of "
                    "the chosen cells. Finished simulations are kept in OUT, one file each, so an "
                    "interrupted run resumes where it stopped. With --export, also write all results "
                    "to one CSV with a provenance file beside it.",
    )
    run.add_argument("--sims", type=int, default=300, help="simulations per cell (default 300)")
    run.add_argument("--out", required=True, metavar="DIR", help="results folder (one JSON file per simulation)")
    run.add_argument("--cells", nargs="*", metavar="PATTERN",
                     help="cells to run, as design/prior/size[/program] with shell wildcards, e.g. "
                          "'A/*/10x200', B or '*/centred' (default: the whole grid)")
    _add_run_options(run)
    cal = commands.add_parser(
        "sbc",
        help="run chapter 7's simulation-based calibration of the Stan programs (resumable)",
        description="Simulation-based calibration: draw parameters from the prior, simulate, fit, record "
                    "the ranks. Fits: matched and mismatched (stan/varying_slope_suff.stan with the "
                    "simulator's prior on gamma, or chapter 5's wrong one), noncentred "
                    "(stan/varying_slope_nc.stan on the data sets whose matched fit had divergences: run "
                    "matched first, into the same OUT) and gcse (stan/gcse_marginal.stan on data "
                    "simulated on the GCSE design). Finished replications are kept in OUT, one file each, "
                    "so an interrupted run resumes where it stopped.",
    )
    cal.add_argument("--reps", type=int, default=1000, help="replications per fit (default 1000)")
    cal.add_argument("--fit", action="append", choices=["matched", "mismatched", "noncentred", "gcse"],
                     help="the fit to run; repeat for several, run in the order given (default: matched)")
    cal.add_argument("--out", required=True, metavar="DIR", help="results folder (one JSON file per replication)")
    _add_run_options(cal)
    doctor = commands.add_parser(
        "doctor",
        help="check that this machine can run the book, and say what to do if not",
        description="Check the platform, Python, the C++ compiler, the Stan engine (it compiles and samples "
                    "a tiny program), the packages against the lock file, Stan's cache and Chromium; "
                    "say what to do about each problem. Exit status 0: the book can run (warnings "
                    "allowed); 1: it cannot.",
    )
    doctor.add_argument("--no-stan", action="store_true",
                        help="do not compile and sample the test program (a quick report)")
    doctor.add_argument("--lock", metavar="FILE",
                        help="the lock file to compare installed versions with (default: this platform's, "
                             "requirements/lock-py311-linux.txt or requirements/lock-py311-macos.txt)")
    comp = commands.add_parser(
        "compile",
        help="compile the book's Stan programs ahead of use, several at a time",
        description="Compile the Stan programs in stan/ that the engine's cache does not hold yet, JOBS "
                    "compilers at a time (make book runs this before the chapters).",
    )
    comp.add_argument("programs", nargs="*", metavar="PROGRAM", help="programs to compile (default: all)")
    comp.add_argument("--jobs", type=int, default=None, help="compilers at once (default: cores, at most 4)")
    args = parser.parse_args(argv)

    args.argv = list(sys.argv[1:] if argv is None else argv)
    handlers = {"doctor": _doctor, "compile": _compile, "study": _study, "sbc": _sbc, "exercises": _exercises}
    return handlers[args.command](args)


def _exercises(args) -> int:
    try:
        import jupytext  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as error:
        print(f"python -m bhm exercises needs jupytext and nbformat ({error}); "
              "install them with: pip install -e '.[book]'", file=sys.stderr)
        return 1
    from bhm.notebooks import write_student_notebooks

    try:
        written = write_student_notebooks(args.out, chapters=args.chapter, book_dir=args.book,
                                          overwrite=not args.keep)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not written and not args.keep:
        print("error: no chapters found; give the book's folder with --book", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    if args.keep:
        print(f"kept every notebook that was already in {args.out} (your work)")
    print("Open them in Jupyter, replace each ... by your answer, and run the cells.")
    return 0


def _compile(args) -> int:
    import time

    from bhm import stan

    start = time.perf_counter()
    try:
        done = stan.compile_programs(args.programs or None, jobs=args.jobs)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"compiled {len(done)} Stan program(s) in {time.perf_counter() - start:.0f} s"
          + (f": {', '.join(done)}" if done else " (all were in the cache)"))
    return 0


def _doctor(args) -> int:
    from bhm import doctor

    try:
        return doctor.run(run_stan=not args.no_stan, lock=args.lock)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run_logged(args, run, load, provenance: dict) -> int:
    """Run ``run()``, log its wall time in OUT/runs.jsonl, and export with provenance if asked."""
    import json
    import platform
    import time
    from datetime import datetime
    from pathlib import Path

    import bhm

    try:
        start = time.perf_counter()
        report = run()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: every finished fit is kept; run the same command again to resume", file=sys.stderr)
        return 130
    print(f"{report['done']} fits run, {report['skipped']} found done, in {report['seconds']:.0f} s")
    log = Path(args.out) / "runs.jsonl"  # every run appends its wall time: the total cost
    with log.open("a") as handle:
        handle.write(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"),
                                 "command": " ".join(["python -m bhm", *args.argv]),
                                 "done": report["done"], "seconds": round(time.perf_counter() - start, 1)}) + "\n")
    if args.export:
        results = load(args.out)
        results.to_csv(args.export, index=False)
        runs = [json.loads(line) for line in log.read_text().splitlines()]
        record = {
            "command": provenance.pop("command") + f" --export {args.export}",
            "bhm_version": bhm.__version__, "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows": len(results), **provenance,
            "wall_seconds": round(sum(run["seconds"] for run in runs), 1), "machine": f"{platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}",
        }
        Path(args.export).with_suffix("").with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.export} ({len(results)} rows) and its provenance")
    return 0


def _study(args) -> int:
    import sys

    from bhm import stan, study

    chosen = study.parse_cells(args.cells)
    programs = sorted({study.PROGRAMS[cell.program] for cell in chosen})
    print(f"building the lean sampler of {', '.join(programs)} if needed (once per machine, a few minutes)",
          file=sys.stderr)
    stan.build_lean(programs)  # the same draws, faster (bhm.stan.build_lean); not part of the run's wall time

    def run():
        return study.run_study(args.out, cells_to_run=chosen, n_sims=args.sims, max_workers=args.workers,
                               progress=not args.no_progress)

    command = f"python -m bhm study --sims {args.sims} --out {args.out}" + (
        f" --cells {' '.join(args.cells)}" if args.cells else "")
    return _run_logged(args, run, study.load_results,
                       {"command": command, "sims_per_cell": args.sims, "sampler": study.SAMPLER})


def _sbc(args) -> int:
    from bhm import sbc

    fits = args.fit or ["matched"]

    def run():
        reports = [sbc.run_stan_sbc(args.out, fit=fit, n_reps=args.reps, max_workers=args.workers,
                                    progress=not args.no_progress) for fit in fits]
        return {key: sum(r[key] for r in reports) for key in ("done", "skipped", "seconds")}

    command = f"python -m bhm sbc --reps {args.reps} " + " ".join(f"--fit {f}" for f in fits) + f" --out {args.out}"
    samplers = {fit: sbc.GCSE_SAMPLER if fit == "gcse" else sbc.STAN_SAMPLER for fit in fits}
    return _run_logged(args, run, sbc.load_ranks,
                       {"command": command, "reps_per_fit": args.reps, "sampler": samplers,
                        "n_draws": sbc.N_DRAWS, "max_runs": sbc.MAX_RUNS, "max_draws": sbc.MAX_DRAWS,
                        "programs_sha256": sbc.program_digests(fits)})


if __name__ == "__main__":
    sys.exit(main())
