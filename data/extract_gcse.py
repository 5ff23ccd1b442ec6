"""Extract the ``Gcsemv`` data of the R package mlmRev into ``data/gcsemv.csv``.

This script documents, and re-runs, how ``gcsemv.csv`` was made.  It is not a
runtime dependency of ``bhm`` and no test runs it.  It needs no R: Debian's
``r-cran-mlmrev`` package ships the data sets of mlmRev as an installed R
package, that is as a *lazy-load database* (``data/Rdata.rdx`` is an index,
``data/Rdata.rdb`` holds one zlib-compressed, XDR-serialized R object per data
set).  The small reader below understands just enough of R's serialization
format to decode that index and the ``Gcsemv`` data frame.

Steps (Debian bookworm, as root or any user with network access to Debian)::

    apt-get update
    cd "$(mktemp -d)"
    apt-get download r-cran-mlmrev          # r-cran-mlmrev_1.0-8-2_all.deb
    dpkg -x r-cran-mlmrev_1.0-8-2_all.deb x
    python /path/to/data/extract_gcse.py x   # writes data/gcsemv.csv

``python data/extract_gcse.py`` without an argument does the download and the
``dpkg -x`` itself in a temporary folder.  If ``pyreadr`` happens to be
importable, the data frame is also decoded with it and the two readings are
compared (pyreadr is only a cross-check; it is not needed and is not a
dependency of the project).

Output: columns ``school, student, gender, written, course`` in the original
row order; factors written as their labels; missing scores (R's ``NA``) as
empty fields; numbers written as the shortest text that reads back to the same
double (``23`` rather than ``23.0``).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import math
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

DEB_PACKAGE = "r-cran-mlmrev"
DEB_VERSION = "1.0-8-2"
R_LIBRARY = Path("usr/lib/R/site-library/mlmRev")
COLUMNS = ["school", "student", "gender", "written", "course"]
OUT = Path(__file__).resolve().parent / "gcsemv.csv"

# R SEXP types used here (R Internals, "Serialization formats").
SYMSXP, LISTSXP, CHARSXP, LGLSXP, INTSXP, REALSXP, STRSXP, VECSXP = 1, 2, 9, 10, 13, 14, 16, 19
PERSISTSXP, NILVALUE_SXP, REFSXP = 247, 254, 255
NA_INTEGER = -(2**31)


class _RUnserializer:
    """Minimal reader of R's XDR serialization (versions 2 and 3)."""

    def __init__(self, data: bytes):
        self.data, self.pos, self.refs = data, 0, []

    def _int(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def _bytes(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def read(self):
        if self._bytes(2) != b"X\n":
            raise ValueError("not an XDR-serialized R object")
        version = self._int()
        self._int(), self._int()  # writer's R version, minimal R version to read
        if version == 3:
            self._bytes(self._int())  # native encoding name
        return self._item()

    def _item(self):
        flags = self._int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind == NILVALUE_SXP:
            return None
        if kind == REFSXP:
            index = flags >> 8 or self._int()
            return self.refs[index - 1]
        if kind in (SYMSXP, PERSISTSXP):
            value = ("symbol" if kind == SYMSXP else "persistent", self._item())
            self.refs.append(value)
            return value
        if kind == CHARSXP:
            n = self._int()
            return None if n == -1 else self._bytes(n).decode("utf-8")
        if kind == LISTSXP:  # pairlist: attributes, tag, car, cdr
            if has_attr:
                self._item()
            tag = self._item() if has_tag else None
            head = (tag[1] if tag else None, self._item())
            return [head] + (self._item() or [])
        n = self._int()
        if kind in (LGLSXP, INTSXP):
            values = [None if v == NA_INTEGER else v for v in struct.unpack_from(f">{n}i", self.data, self.pos)]
            self.pos += 4 * n
        elif kind == REALSXP:
            values = list(struct.unpack_from(f">{n}d", self.data, self.pos))  # NA and NaN both read as nan
            self.pos += 8 * n
        elif kind in (STRSXP, VECSXP):
            values = [self._item() for _ in range(n)]
        else:
            raise ValueError(f"SEXP type {kind} is not supported by this small reader")
        attributes = dict(self._item()) if has_attr else {}
        return {"values": values, "attributes": {k: v["values"] for k, v in attributes.items()}}


def read_lazyload_object(data_dir: Path, name: str) -> tuple[dict, bytes]:
    """Return (decoded object, serialized bytes) of `name` in an R lazy-load database."""
    index = _RUnserializer(gzip.decompress((data_dir / "Rdata.rdx").read_bytes())).read()
    parts = dict(zip(index["attributes"]["names"], index["values"]))
    variables = parts["variables"]
    where = dict(zip(variables["attributes"]["names"], (v["values"] for v in variables["values"])))
    offset, length = (int(x) for x in where[name])
    with open(data_dir / "Rdata.rdb", "rb") as fh:
        fh.seek(offset)
        blob = fh.read(length)
    (size,) = struct.unpack(">i", blob[:4])  # uncompressed length, then a zlib stream
    serialized = zlib.decompress(blob[4:])
    if len(serialized) != size:
        raise ValueError("length of the decompressed object does not match the database")
    return _RUnserializer(serialized).read(), serialized


def data_frame_rows(frame: dict) -> list[list]:
    names = frame["attributes"]["names"]
    if frame["attributes"].get("class") != ["data.frame"] or names != COLUMNS:
        raise ValueError(f"unexpected object: class {frame['attributes'].get('class')}, columns {names}")
    columns = []
    for column in frame["values"]:
        levels = column["attributes"].get("levels")
        if levels is not None:  # a factor: 1-based codes into its levels
            columns.append([None if code is None else levels[code - 1] for code in column["values"]])
        else:
            columns.append([None if math.isnan(v) else v for v in column["values"]])
    return [list(row) for row in zip(*columns)]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def _cross_check(serialized: bytes, rows: list[list]) -> None:
    try:
        import pyreadr
    except ImportError:
        print("pyreadr not importable: cross-check skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Gcsemv.rds"
        path.write_bytes(serialized)
        (df,) = pyreadr.read_r(str(path)).values()
    other = [[None if (isinstance(v, float) and math.isnan(v)) else v for v in row] for row in df.astype(object).values.tolist()]
    if other != rows:
        raise SystemExit("pyreadr reads the data differently")
    print("pyreadr cross-check: identical")


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if argv:
            root = Path(argv[0])
        else:
            subprocess.run(["apt-get", "download", f"{DEB_PACKAGE}={DEB_VERSION}"], cwd=tmp, check=True)
            (deb,) = Path(tmp).glob("*.deb")
            print(f"{deb.name} sha256 {hashlib.sha256(deb.read_bytes()).hexdigest()}")
            root = Path(tmp) / "x"
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
        frame, serialized = read_lazyload_object(root / R_LIBRARY / "data", "Gcsemv")
    rows = data_frame_rows(frame)
    _cross_check(serialized, rows)
    with open(OUT, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([_text(v) for v in row] for row in rows)
    missing = {c: sum(row[i] is None for row in rows) for i, c in enumerate(COLUMNS)}
    print(f"wrote {OUT}: {len(rows)} rows, {len({r[0] for r in rows})} schools, missing {missing}")
    print(f"sha256 {hashlib.sha256(OUT.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv[1:])
