"""An interrupted study loses and duplicates nothing, and ends as an uninterrupted one.

The study runs as the CLI in a subprocess (its own process group, so that a
kill reaches its worker processes too); once a few simulations are stored it is
interrupted with SIGINT or killed with SIGKILL, then the same command runs
again to completion. The results must equal those of an uninterrupted run.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from bhm import study

SIMS = 6


def command(out):
    return [sys.executable, "-m", "bhm", "study", "--sims", str(SIMS), "--cells", "A/true/10x200",
            "--out", str(out), "--workers", "1", "--no-progress"]


def stored(out):
    return sorted(out.rglob("[0-9]*.json"))


def run_and_stop(out, sig):
    process = subprocess.Popen(command(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 180
    while len(stored(out)) < 2:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the study stopped or stalled before two simulations were stored: {process.communicate()}")
        time.sleep(0.1)
    os.killpg(process.pid, sig)
    process.communicate(timeout=120)
    return process.returncode


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    subprocess.run(command(out), check=True, capture_output=True, timeout=300)
    return study.load_results(out)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_study_resumes_without_loss_or_duplicates(tmp_path, uninterrupted, sig):
    returncode = run_and_stop(tmp_path, sig)
    assert returncode != 0
    kept = stored(tmp_path)
    assert 2 <= len(kept) <= SIMS
    for path in kept:                                    # atomic writes: every stored file is whole
        json.loads(path.read_text())
    subprocess.run(command(tmp_path), check=True, capture_output=True, timeout=300)
    assert not list(tmp_path.rglob(".tmp-*"))           # a killed write's temporary file is cleared on resume
    results = study.load_results(tmp_path)
    assert results["sim"].tolist() == list(range(SIMS))  # none lost, none twice
    timings = list(study.TIMINGS)                        # wall times differ from run to run; nothing else may
    assert results.drop(columns=timings).equals(uninterrupted.drop(columns=timings))
