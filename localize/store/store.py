"""The translation store: every text localize generated, in one SQLite file.

A rerun of the same command (after a crash, or after 10 rows of a catalog
changed) takes what is already here and generates only what is missing.
Entries are keyed by a sha256 of everything that decides the text (see
localize.store.session); this module only keeps bytes.

Durability: WAL journal with synchronous=NORMAL. A transaction is durable
against a killed process (SIGKILL, out of memory, Ctrl-C) as soon as it is
committed: it sits in the WAL file, which the next open replays. Only a power
loss or an OS crash can drop the last few commits (the WAL is fsynced at
checkpoints, not at every commit) and never corrupts the file; the texts lost
that way are simply generated again. FULL would fsync every batch for no gain
a cache needs.

Several localize processes may share the file: readers never wait, one writer
at a time, and a writer waits up to `timeout` seconds for the lock.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from localize.backends.model_store import cache_dir
from localize.errors import LocalizeError, UsageError

FILENAME = "translations.sqlite"
ENV_PATH = "LOCALIZE_STORE"  # moves the store file (tests and CI point it elsewhere)
SCHEMA_VERSION = 1
_CHUNK = 500  # keys per SELECT: well under SQLite's bound-parameter limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    key BLOB PRIMARY KEY,        -- sha256 of the canonical key (localize.store.session)
    text TEXT NOT NULL,          -- the final text, after glossary and length repairs
    raw TEXT,                    -- the model's answer with placeholders, when it differs
    restore_problems TEXT,       -- JSON list of keep-term restore problems, when any
    model TEXT NOT NULL,         -- for `localize cache info` / `clear --model`
    locale TEXT NOT NULL,
    kind TEXT NOT NULL,
    created INTEGER NOT NULL     -- unix seconds, for `clear --older-than`
) WITHOUT ROWID;
"""


class StoreError(LocalizeError):
    """The store file cannot be opened or used (corrupt, locked, not writable)."""


@dataclass(frozen=True)
class Stored:
    """What a generation left: enough to rebuild the pipeline's outcome without the model."""

    text: str
    raw: str | None = None
    restore_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Record:
    key: bytes
    stored: Stored
    model: str
    locale: str
    kind: str


@dataclass
class StoreInfo:
    path: str
    exists: bool
    entries: int = 0
    bytes: int = 0  # the database file plus its WAL
    oldest: int | None = None  # unix seconds
    newest: int | None = None
    by_model_locale: list[tuple[str, str, int]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "path": self.path, "exists": self.exists, "entries": self.entries, "bytes": self.bytes,
            "oldest": self.oldest, "newest": self.newest,
            "by_model_locale": [{"model": m, "locale": loc, "entries": n} for m, loc, n in self.by_model_locale],
        }


def default_path() -> Path:
    """$LOCALIZE_STORE, else translations.sqlite in the cache folder the model uses
    ($LOCALIZE_CACHE_DIR, else $XDG_CACHE_HOME/localize, else ~/.cache/localize)."""
    if os.environ.get(ENV_PATH):
        return resolve_path(Path(os.environ[ENV_PATH]))
    return cache_dir() / FILENAME


def resolve_path(path: Path | None) -> Path:
    """`--cache PATH`: a file (created with its folders), or an existing folder to hold translations.sqlite."""
    if path is None:
        return default_path()
    path = Path(path).expanduser()
    return path / FILENAME if path.is_dir() else path


_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_age(text: str) -> float:
    """`--older-than`: "30d", "12h", "90m", "45s"; a bare number is days."""
    value = text.strip().lower()
    unit = value[-1] if value and value[-1] in _UNITS else "d"
    number = value[:-1] if value and value[-1] in _UNITS else value
    try:
        amount = float(number)
    except ValueError:
        raise UsageError(f"--older-than {text!r}: give an age like 30d, 12h or 90m") from None
    if amount < 0:
        raise UsageError(f"--older-than {text!r}: the age cannot be negative")
    return amount * _UNITS[unit]


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "file is not a database" in text or "malformed" in text:
        return f"{text} (a damaged file: `localize cache clear` removes it)"
    return text


class TranslationStore:
    """One connection to the store file. Methods raise StoreError, never sqlite3 errors."""

    def __init__(self, path: Path, *, timeout: float = 60.0):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are explicit (one per pipeline batch).
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.path}: cannot open the translation store: {_reason(exc)}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"{self.path}: cannot open the translation store: {_reason(exc)}") from None

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"written by a newer localize (schema {version}); use another --cache")
        with self._transaction():  # two processes creating the store at once: one waits, IF NOT EXISTS
            self._db.execute(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _transaction(self):
        return _Transaction(self._db)

    # -- the pipeline's two calls ----------------------------------------------

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, Stored]:
        found: dict[bytes, Stored] = {}
        try:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, text, raw, restore_problems FROM translations WHERE key IN ({marks})", chunk
                )
                for key, text, raw, problems in rows:
                    found[key] = Stored(text, raw if raw is not None else text, tuple(json.loads(problems or "[]")))
        except (sqlite3.Error, ValueError) as exc:
            raise StoreError(f"{self.path}: cannot read the translation store: {_reason(exc)}") from None
        return found

    def put_many(self, records: Iterable[Record]) -> None:
        """All records in one transaction: a kill loses at most the batch being written."""
        now = int(time.time())
        rows = [
            (
                r.key, r.stored.text, None if r.stored.raw in (None, r.stored.text) else r.stored.raw,
                json.dumps(list(r.stored.restore_problems), ensure_ascii=False) if r.stored.restore_problems else None,
                r.model, r.locale, r.kind, now,
            )
            for r in records
        ]
        if not rows:
            return
        try:
            with self._transaction():
                # OR REPLACE: another process may have stored the same text meanwhile (either
                # is right), and an entry the session would not serve (a text no output can
                # write, from an older localize) is replaced by the one generated in its place.
                self._db.executemany("INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot write the translation store: {_reason(exc)}") from None

    # -- `localize cache` -------------------------------------------------------

    def info(self) -> StoreInfo:
        try:
            entries, oldest, newest = self._db.execute(
                "SELECT COUNT(*), MIN(created), MAX(created) FROM translations"
            ).fetchone()
            groups = self._db.execute(
                "SELECT model, locale, COUNT(*) FROM translations GROUP BY model, locale ORDER BY model, locale"
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read the translation store: {_reason(exc)}") from None
        return StoreInfo(str(self.path), True, entries, _size(self.path), oldest, newest,
                         [(m, loc, n) for m, loc, n in groups])

    def clear(self, *, model: str | None = None, older_than: float | None = None) -> int:
        """Delete entries (all of them, or those of `model` and/or older than `older_than`
        seconds); returns how many. The file shrinks when everything goes."""
        where, args = [], []
        if model is not None:
            where.append("model = ?")
            args.append(model)
        if older_than is not None:
            where.append("created < ?")
            args.append(int(time.time() - older_than))
        sql = "DELETE FROM translations" + (" WHERE " + " AND ".join(where) if where else "")
        try:
            with self._transaction():
                deleted = self._db.execute(sql, args).rowcount
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot clear the translation store: {_reason(exc)}") from None
        try:
            self._db.execute("VACUUM")  # give the space back; skipped while another run holds the file
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        return deleted

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> TranslationStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Transaction:
    """BEGIN IMMEDIATE takes the write lock up front, so a busy store waits (busy
    timeout) at the start instead of failing halfway through a batch."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass


def _size(path: Path) -> int:
    total = 0
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            total += p.stat().st_size
        except OSError:
            pass
    return total


def store_info(path: Path) -> StoreInfo:
    """What `localize cache info` shows; a missing store is not an error."""
    if not path.exists():
        return StoreInfo(str(path), False)
    with TranslationStore(path) as store:
        return store.info()


def clear_store(path: Path, *, model: str | None = None, older_than: float | None = None) -> int | None:
    """`localize cache clear`. Without filters a damaged file is removed outright
    (nothing in it can be read anyway); returns the number of entries deleted,
    None when a damaged file was removed."""
    if not path.exists():
        return 0
    try:
        store = TranslationStore(path)
    except StoreError:
        if model is not None or older_than is not None:
            raise
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise StoreError(f"{p}: cannot remove the damaged translation store: {exc.strerror}") from None
        return None
    with store:
        return store.clear(model=model, older_than=older_than)
