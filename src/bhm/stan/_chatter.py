"""Keep Stan's chatter off the page: capture it, and log it at DEBUG to the ``bhm.stan`` logger.

Part of :mod:`bhm.stan`; no other module of bhm uses it directly.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import tempfile
import warnings

logger = logging.getLogger("bhm.stan")


@contextlib.contextmanager
def quiet():
    """Keep Stan's chatter off the page: Python-level *and* file-descriptor-level.

    The C++ compiler and the sampler write to file descriptors 1 and 2, which
    ipykernel forwards into the notebook; ``contextlib.redirect_*`` alone would
    not catch them. Yields a StringIO that holds everything written.

    Python warnings of the engine's own machinery go too: aiohttp (under
    httpstan) warns that httpstan keys its app with strings, once per app, i.e.
    per call, which no reader can act on. Every other warning, StanWarning
    included, still reaches the caller.

    File descriptors are global to a process: do not enter it in two threads
    at once (bhm's own Stan calls run in one thread, :mod:`bhm.stan._pystan`).

    Yields
    ------
    io.StringIO
        Everything written inside the block (filled in when it ends).
    """
    import sys

    chatter = io.StringIO()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            for fd in saved:
                os.dup2(sink.fileno(), fd)
            with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter), \
                    warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="It is recommended to use web.AppKey")
                yield chatter
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            chatter.write(sink.read().decode(errors="replace"))


def compiler_error(chatter: str) -> str:
    """The part of PyStan's build output that explains a failed compilation."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", chatter)  # PyStan colours its output
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("Building")]
    return "\n".join(lines[-20:])


def stan_message(error: Exception) -> str:
    text = str(error)
    match = re.search(r"ValueError\(['\"](.*?)['\"]\)", text)
    return (match.group(1) if match else text).replace("\\n", " ").strip()


def log_chatter(text: str) -> None:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith(("Building", "Sampling"))]
    if lines:
        logger.debug("Stan messages:\n%s", "\n".join(lines))
