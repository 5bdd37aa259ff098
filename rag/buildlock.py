"""Build safety for index/<name>: one writer at a time, versions swapped atomically, old versions
kept until their readers let go.

    index/.NAME.lock               the build lock (flock): a second writer waits, then fails
    index/.NAME.building-*         a build in progress; any found by the next build is stale
    index/.NAME.v-<stamp>-<rand>/  a finished version; `reader.lock` inside it
    index/NAME -> .NAME.v-…        a symlink, replaced by os.replace: readers see the old or
                                   the new version, never none

A reader holds a shared flock on the `reader.lock` of the version it loaded; the builder deletes
an old version only when it can take an exclusive lock on it (else a later build does).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from rag.errors import IndexBusyError, IndexCorruptError, IndexLoadError

READER_LOCK = "reader.lock"


class BuildLock:
    """`with BuildLock(path, wait=s, notify=print):` - exclusive for index `path`. Waits up to
    `wait` seconds (telling `notify` once), then raises IndexBusyError."""

    def __init__(self, path: Path, wait: float = 0.0, notify: Callable[[str], None] | None = None,
                 poll: float = 0.2) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(f".{self.path.name}.lock")
        self.wait = wait
        self.notify = notify
        self.poll = poll
        self._file: IO[str] | None = None

    def __enter__(self) -> BuildLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = self.lock_path.open("a+")
        deadline = time.monotonic() + self.wait
        told = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(self.lock_path)
                if time.monotonic() >= deadline:
                    f.close()
                    raise IndexBusyError(
                        f"index {self.path} is being built by another process{holder}: "
                        "wait for it to finish, or raise RAG_BUILD_WAIT") from None
                if self.notify and not told:
                    self.notify(f"waiting for another build of {self.path}{holder} "
                                f"(up to {self.wait:.0f} s)...")
                    told = True
                time.sleep(self.poll)
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _holder(lock_path: Path) -> str:
    try:
        pid = lock_path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def building_dir(path: Path) -> Path:
    """A fresh directory for a build of index `path` (call under the build lock)."""
    d = path.with_name(f".{path.name}.building-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}")
    d.mkdir(parents=True)
    return d


def clean_stale(path: Path) -> list[Path]:
    """Remove what interrupted builds left behind (call under the build lock)."""
    stale = sorted(path.parent.glob(f".{path.name}.building-*")) + sorted(path.parent.glob(f".{path.name}.old"))
    for d in stale:
        shutil.rmtree(d, ignore_errors=True)
    return stale


def versions(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.glob(f".{path.name}.v-*") if p.is_dir())


def current_version(path: Path) -> Path | None:
    """The version directory `path` points to (None when there is no index). A target that
    vanished between reading the link and looking at it was pruned by a swap: read the link again."""
    for _ in range(3):
        if not path.is_symlink():
            return path if path.is_dir() else None
        target = path.resolve()
        if target.is_dir():
            return target
        if path.resolve() == target:  # still the link's target: there is no index
            return None
    return None


def publish(path: Path, build: Path) -> Path:
    """Make the finished `build` the current version of `path`, atomically."""
    version = path.with_name(f".{path.name}.v-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}")
    build.rename(version)
    (version / READER_LOCK).touch()
    link = path.with_name(f".{path.name}.link-{secrets.token_hex(4)}")
    os.symlink(version.name, link)
    try:
        if path.exists() and not path.is_symlink():  # an index of the unversioned format: moved aside
            path.rename(path.with_name(f".{path.name}.v-0-legacy-{secrets.token_hex(3)}"))
        os.replace(link, path)
    except BaseException:
        link.unlink(missing_ok=True)
        raise
    return version


def prune(path: Path) -> list[Path]:
    """Delete the versions no reader holds, except the current one; returns those deleted."""
    current = current_version(path)
    removed = []
    for version in versions(path):
        if current is not None and version.resolve() == current.resolve():
            continue
        lock = version / READER_LOCK
        try:
            with lock.open("a") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(version, ignore_errors=True)
                removed.append(version)
        except BlockingIOError:
            continue  # a reader still uses it: a later build deletes it
        except FileNotFoundError:
            continue  # already gone
    return removed


def open_for_reading(path: Path, attempts: int = 5) -> tuple[Path, IO[str] | None]:
    """Resolve `path` to its version and take a shared lock on it, so that no build deletes it
    while it is in use. Returns (version directory, the lock's file; keep it open)."""
    for _ in range(attempts):
        version = current_version(path)
        if version is None:
            raise IndexLoadError(f"no index at {path}: build it with `rag index`")
        lock = version / READER_LOCK
        try:
            f = lock.open("r")
        except FileNotFoundError:
            if (version / "config.json").exists() and not path.is_symlink():
                return version, None  # a plain directory (tests, copies): nothing to protect
            continue  # deleted between resolving and opening: resolve again
        fcntl.flock(f, fcntl.LOCK_SH)
        if (version / "config.json").exists():
            return version, f
        f.close()
        if current_version(path) == version:  # still current, locked, and no config: damaged, not a swap
            raise IndexCorruptError(f"{version / 'config.json'}: missing: rebuild the index with "
                                    "`rag index --force`")
        # deleted after we opened it (a build replaced it): resolve again
    raise IndexLoadError(f"index {path} keeps changing under the reader: try again")
