"""What every grading command pays once: the jail's package list comes from a cache that follows the
installed environment, the jail's probe runs while the grader loads, and nothing is imported before
it is needed (matplotlib only when something is drawn)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.sandbox import jail

from helpers import REPO, write_notebook


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    jail.package_entries.cache_clear()
    yield tmp_path / "cache" / "gd-sandbox-site"
    jail.package_entries.cache_clear()


def test_the_package_list_is_kept_and_follows_the_environment(private_cache, tmp_path, monkeypatch):
    computed = jail.package_entries()
    assert computed == jail._package_entries(jail.STUDENT_PACKAGES)
    (kept,) = private_cache.glob("packages-*.json")
    assert [tuple(e) for e in json.loads(kept.read_text())] == list(computed)

    def unread(names):
        raise AssertionError("the list was read again, though nothing was installed")

    monkeypatch.setattr(jail, "_package_entries", unread)
    jail.package_entries.cache_clear()
    assert jail.package_entries() == computed  # from the cache

    # installing something (a distribution appears on sys.path) asks for the list again
    site = tmp_path / "site"
    (site / "newcomer-1.0.dist-info").mkdir(parents=True)
    (site / "newcomer-1.0.dist-info" / "RECORD").write_text("newcomer/__init__.py,,\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(jail, "_package_entries", lambda names: (("/somewhere/newcomer", "newcomer"),))
    jail.package_entries.cache_clear()
    assert jail.package_entries() == (("/somewhere/newcomer", "newcomer"),)

    # and so does upgrading it (its file list is rewritten)
    record = site / "newcomer-1.0.dist-info" / "RECORD"
    os.utime(record, ns=(record.stat().st_atime_ns, record.stat().st_mtime_ns + 10**9))
    monkeypatch.setattr(jail, "_package_entries", lambda names: (("/elsewhere/newcomer", "newcomer"),))
    jail.package_entries.cache_clear()
    assert jail.package_entries() == (("/elsewhere/newcomer", "newcomer"),)


def test_a_cache_that_others_may_write_is_not_trusted(private_cache, monkeypatch):
    jail.package_entries()
    (kept,) = private_cache.glob("packages-*.json")
    kept.write_text(json.dumps([["/etc", "etc"]]))  # what an attacker would bind into the jail
    kept.chmod(0o666)
    jail.package_entries.cache_clear()
    assert ("/etc", "etc") not in jail.package_entries()


def test_the_probe_started_ahead_gives_the_answer(monkeypatch):
    jail.available.cache_clear()
    try:
        jail.check_ahead()
        assert jail._probes  # started, not waited for
        assert jail.available() is None  # this machine can build the jail
        assert not jail._probes
    finally:
        jail.available.cache_clear()


def _imported_after(args: list[str], cwd: Path) -> dict:
    """Which modules a command of the grader imported (its exit status too)."""
    script = (
        "import json, sys\n"
        "from autograder.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "print(json.dumps({'status': status, 'modules': sorted(sys.modules)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=cwd, capture_output=True, text=True, env={**os.environ}
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_matplotlib_is_imported_only_to_draw(tmp_path):
    nb = write_notebook("01_gradients", tmp_path / "one" / "01_gradients")
    plain = _imported_after(["grade", str(nb), "--out", str(tmp_path / "plain")], REPO)
    assert plain["status"] == 0
    assert not [m for m in plain["modules"] if m.startswith("matplotlib")]
    drawn = _imported_after(["grade", str(nb), "--out", str(tmp_path / "drawn"), "--feedback"], REPO)
    assert drawn["status"] == 0 and "matplotlib" in drawn["modules"]
    assert "matplotlib.pyplot" not in drawn["modules"]  # figures of our own, no global state


def test_the_grade_verb_loads_no_grader_before_it_runs():
    script = "import sys, autograder.grade; print(sorted(m for m in sys.modules if m.startswith(('numpy', 'autograder.suites', 'nbformat'))))"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_first_jail_starts_before_the_grader_loads_numpy_and_the_suites(tmp_path):
    """A one-submission command (Gradescope's, a student's CI run) waits for its child to run the
    notebook: the child is started before the grader's heavy imports, which then load meanwhile."""
    nb = write_notebook("01_gradients", tmp_path / "one" / "01_gradients")
    script = (
        "import json, sys\n"
        "import autograder.sandbox.process as process\n"
        "seen = []\n"
        "start = process.Child.__init__\n"
        "def spying(self, *args, **kwargs):\n"
        "    seen.append(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'nbformat', 'jsonschema', 'rich')"
        " or m.startswith('autograder.suites')))\n"
        "    start(self, *args, **kwargs)\n"
        "process.Child.__init__ = spying\n"
        "from autograder.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "print(json.dumps({'status': status, 'before_first_child': seen[0], 'after': sorted(sys.modules)}))\n"
    )
    args = ["grade", str(nb), "--out", str(tmp_path / "out")]
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 0
    assert result["before_first_child"] == []
    assert "numpy" in result["after"]  # loaded, once the child was started
    unused = [m for m in result["after"] if m.split(".")[0] in ("nbformat", "jsonschema") or m == "rich.progress"]
    assert unused == []  # nbformat's schema check, course.yml's error wording, a progress bar off a terminal
