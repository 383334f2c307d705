"""Runs the C unit tests (build/tests/test_*), one pytest case per C case."""
import os
import subprocess

import pytest

from memplug_vm import BUILD, ROOT

BIN = BUILD / "tests"
SOURCES = sorted(p.stem for p in (ROOT / "tests").glob("test_*.c"))


def _cases():
    cases = []
    for name in SOURCES:
        exe = BIN / name
        if not os.access(exe, os.X_OK):
            continue
        out = subprocess.run([str(exe), "--list"], capture_output=True,
                             text=True, check=True).stdout.split()
        cases += [pytest.param(name, case, id=f"{name}.{case}")
                  for case in out]
    return cases


def test_every_unit_binary_is_built():
    missing = [n for n in SOURCES if not os.access(BIN / n, os.X_OK)]
    assert not missing, f"unit tests not built (run make): {missing}"


@pytest.mark.parametrize("binary,case", _cases())
def test_c(binary, case):
    p = subprocess.run([str(BIN / binary), case], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 and f"PASS {case}" in p.stdout, \
        p.stdout + p.stderr
