"""Every git process ``collect`` starts: one environment, one time limit, one readable error.

- Paths reach git literally (``GIT_LITERAL_PATHSPECS=1``): a student's folder named ``:!*`` is a
  folder, never pathspec magic.
- No user or system config, no prompts; ``safe.directory=*`` because the repository cache is
  restored by the runner's user and read by the grader (root, through sudo): both are ours.
- The token, when ``AUTOGRADER_GIT_TOKEN`` is set, is an HTTP header given to git through
  ``GIT_CONFIG_*`` variables: never in a URL, a command line or a ``.git/config``, and taken out of
  this process's environment so that nothing else we start inherits it.
- Output is read with a bound: a process that prints more than it may is stopped and its
  student refused, so one repository never takes the grader's memory.

Standard library only (the workflow runs ``heads`` and ``statebranch`` before installing anything).
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from pathlib import Path

BOT = ("gd-course grader", "grader@gd-course.invalid")
#: seconds one git process may take (a clone of a large repository included)
GIT_TIMEOUT = 300
#: bytes one git process may print before it is stopped
MAX_OUTPUT = 256 * 1024 * 1024


class GitError(Exception):
    """A git process failed; ``str(exc)`` is git's own one-line reason (no token in it)."""


#: tokens by name (``AUTOGRADER_GIT_TOKEN`` for student repositories, ``AUTOGRADER_STATE_TOKEN``
#: for the course repository's state branch), taken out of the environment when first needed
_tokens: dict[str, str | None] = {}


def take_token(variable: str = "AUTOGRADER_GIT_TOKEN") -> str | None:
    """The token in ``variable``, removed from ``os.environ`` (so no child process inherits it)."""
    if variable not in _tokens or os.environ.get(variable):
        _tokens[variable] = os.environ.pop(variable, None) or _tokens.get(variable)
    return _tokens[variable]


def git_env(token: str | None = None) -> dict[str, str]:
    """The environment of a git process (see the module docstring)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    env.update(GIT_LITERAL_PATHSPECS="1", GIT_NO_REPLACE_OBJECTS="1")
    env.update(GIT_AUTHOR_NAME=BOT[0], GIT_AUTHOR_EMAIL=BOT[1], GIT_COMMITTER_NAME=BOT[0], GIT_COMMITTER_EMAIL=BOT[1])
    config = {"safe.directory": "*", "core.hooksPath": os.devnull}
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        config["http.extraHeader"] = f"Authorization: Basic {basic}"
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for i, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"] = key, value
    return env


def reason(stderr: bytes, returncode: int, token: str | None = None) -> str:
    """git's own reason, in one line: its first ``fatal:``/``error:`` line (not the hint after it)."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    first = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[-1] if lines else "")
    text = first.removeprefix("fatal:").removeprefix("error:").strip() or f"exit status {returncode}"
    return text.replace(token, "***") if token else text


def git(
    *args: str,
    cwd: Path | None = None,
    data: bytes | None = None,
    token_variable: str = "AUTOGRADER_GIT_TOKEN",
    limit: int = MAX_OUTPUT,
) -> bytes:
    """Run ``git args`` and return what it printed; ``GitError`` when it fails, takes longer than
    ``GIT_TIMEOUT`` or prints more than ``limit`` bytes (it is stopped then)."""
    token = take_token(token_variable)
    with subprocess.Popen(
        ["git", *args],
        cwd=cwd,
        stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=git_env(token),
    ) as process:
        pipes = _Pipes(process, data, limit)
        try:
            process.wait(timeout=GIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise GitError(f"git {args[0]} took longer than {GIT_TIMEOUT} s") from None
        out, err = pipes.join()
    if out is None:
        raise GitError(f"git {args[0]} printed more than {limit} bytes")
    if process.returncode != 0:
        raise GitError(reason(err, process.returncode, token))
    return out


class _Pipes:
    """Threads that feed a process's stdin and read its stdout (up to ``limit`` bytes: past it the
    process is killed) and the start of its stderr, so that none of them can block the others."""

    def __init__(self, process: subprocess.Popen, data: bytes | None, limit: int):
        self.process, self.limit = process, limit
        self.out: list[bytes] = []
        self.err = b""
        self.overflow = False
        self.threads = [threading.Thread(target=self._read_out), threading.Thread(target=self._read_err)]
        if data is not None:
            self.threads.append(threading.Thread(target=self._feed, args=(data,)))
        for thread in self.threads:
            thread.daemon = True
            thread.start()

    def _feed(self, data: bytes) -> None:
        try:
            self.process.stdin.write(data)
            self.process.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def _read_out(self) -> None:
        size = 0
        while chunk := self.process.stdout.read(1 << 16):
            size += len(chunk)
            if size > self.limit:
                self.overflow = True
                self.process.kill()
                return
            self.out.append(chunk)

    def _read_err(self) -> None:
        self.err = self.process.stderr.read(1 << 16)
        while self.process.stderr.read(1 << 16):
            pass

    def join(self) -> tuple[bytes | None, bytes]:
        for thread in self.threads:
            thread.join(GIT_TIMEOUT)
        return (None if self.overflow else b"".join(self.out)), self.err


def fetch(repo: str, bare: Path) -> None:
    """Make ``bare`` an up-to-date bare copy of ``repo``: every branch as ``refs/heads/*``."""
    if not (bare / "HEAD").is_file():
        git("clone", "--bare", "--quiet", "--no-hardlinks", "--", repo, str(bare))
    else:
        git("fetch", "--quiet", "--prune", "--no-tags", "--", repo, "+refs/heads/*:refs/heads/*", cwd=bare)


def default_branch(bare: Path) -> str:
    """The full ref of the repository's default branch (its HEAD when first cloned)."""
    return git("symbolic-ref", "HEAD", cwd=bare).decode().strip()


def resolve(bare: Path, ref: str) -> str:
    """The commit ``ref`` points at ("" when the branch has no commit yet)."""
    try:
        return git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=bare).decode().strip()
    except GitError:
        return ""
