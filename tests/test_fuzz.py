"""The fuzzers' corpora as regression tests: every seed under
tests/fuzz/corpus/NAME (the hand-written ones and every input a finding
came from) runs once through its fuzzer, built with ASan and UBSan; a
crash, a sanitizer report or a broken invariant fails the test. Fuzzing
itself is `make fuzz` (tests/fuzz/README.md)."""
import os
import subprocess

import pytest

from memplug_vm import ROOT

FUZZERS = ("qmp", "devices")


@pytest.fixture(scope="module")
def built():
    p = subprocess.run(["make", "-s", "-C", str(ROOT)] +
                       [f"build/fuzz/fuzz_{f}" for f in FUZZERS],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, "building the fuzzers failed:\n" + \
        p.stdout[-3000:] + p.stderr[-3000:]


@pytest.mark.parametrize("name", FUZZERS)
def test_corpus_replays_clean(built, name):
    corpus = ROOT / "tests" / "fuzz" / "corpus" / name
    seeds = [p for p in corpus.iterdir() if p.is_file()]
    assert seeds, f"{corpus} holds no seeds"
    env = dict(os.environ,
               FUZZ_QMP_KERNEL=str(ROOT / "build" / "tests" / "guests" /
                                   "idle.elf"))
    # -runs=0: run the corpus once, mutate nothing. The QMP fuzzer's
    # working directory must be writable and outside /tmp (it confines
    # the rest).
    work = ROOT / "build" / "fuzz" / f"replay-{name}"
    work.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([str(ROOT / "build" / "fuzz" / f"fuzz_{name}"),
                        "-runs=0", str(corpus)], cwd=work, env=env,
                       capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-6000:]
    done = [line for line in out.splitlines() if line.startswith("Done ")]
    assert done and int(done[-1].split()[1]) >= len(seeds), out[-3000:]
