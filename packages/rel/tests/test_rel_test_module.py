"""``python -m rel.test``: rel's own suite, run as rel's documentation says
(``rel/test.py -v EventTest.test_exception``), on every registrar, and never
waiting for an answer without a terminal."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time

import pytest

import rel
from rel_core import discovery

LIMIT = 120  # seconds for one run of the suite (it takes a few)


def run_suite(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rel.test", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=LIMIT)


def test_runs_without_a_terminal_and_asks_nothing():
    proc = run_suite()
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stderr.splitlines()[-1]
    assert "(y/N)" not in proc.stdout + proc.stderr


def test_test_names_and_verbose_as_the_documentation_shows():
    proc = run_suite("-v", "EventTest.test_exception", "EventTest.test_timeout")
    assert proc.returncode == 0, proc.stderr
    ran = [line for line in proc.stderr.splitlines() if line.endswith("... ok")]
    assert len(ran) == 2, proc.stderr
    assert "Ran 2 tests" in proc.stderr


def test_has_the_originals_tests():
    import rel.test

    names = {n for n in dir(rel.test.EventTest) if n.startswith("test_")}
    original = {"test_timeout", "test_timeout2", "test_timers", "test_signal", "test_signal2",
                "test_read", "test_read2", "test_exception", "test_abort",
                "test_callback_exception", "test_thread"}
    assert original <= names


def _available():
    names = []
    for name in rel.supported_methods:
        try:
            discovery.load(name)
        except (ImportError, LookupError):
            continue
        names.append(name)
    return names


@pytest.mark.parametrize("name", _available())
def test_passes_on_every_registrar(name):
    proc = run_suite("--registrar", name)
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stderr.splitlines()[-1]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("answers,expect", [
    (["y"], "select"),  # rel 0.4.9.27's first question: the select registrar
    (["n", "y"], "verbose"),  # its second: verbose mode
    (["", ""], None),
])
def test_at_a_terminal_it_asks_the_originals_two_questions(answers, expect):
    """Under a pseudo-terminal: the questions come, the answers are taken.
    (stderr too is the terminal: ``input()`` writes its prompt there when
    Python has no readline.)"""
    main, tty = os.openpty()
    code = ("import sys, rel.test, rel_core.rel as f\n"
            "sys.argv = ['rel.test', 'EventTest.test_timeout']\n"
            "rel.test._choose_registrar(sys.argv)\n"
            "print('chose', f.method, f.registrar is not None and __import__('rel_core').logs.verbose)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=tty, stdout=tty, stderr=tty)
    os.close(tty)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        for answer in answers:
            while b"(y/N)" not in seen.rsplit(b"\n", 1)[-1] and time.monotonic() < deadline:
                if select.select([main], [], [], 1)[0]:
                    seen += os.read(main, 1024)
            assert b"(y/N)" in seen, seen
            seen += b"\n"
            os.write(main, answer.encode() + b"\n")
        proc.wait(30)
        while select.select([main], [], [], 0.2)[0]:
            try:
                chunk = os.read(main, 1024)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = seen.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "run these tests with select registrar? (y/N)" in text
    chose = [line for line in text.splitlines() if line.startswith("chose")][-1]
    if expect == "select":
        assert chose.split()[1] == "select" and chose.split()[2] == "True", chose
        assert "verbose mode?" not in text
    elif expect == "verbose":
        assert "verbose mode? (y/N)" in text
        assert chose.split()[2] == "True", chose
    else:
        assert "verbose mode? (y/N)" in text
        assert chose.split()[2] == "False", chose
