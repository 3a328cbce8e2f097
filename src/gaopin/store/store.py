"""The ticket store: tickets with their history, imports, links and exclusions."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from gaopin.config import APP_NAME, Settings
from gaopin.errors import StoreError, UsageError
from gaopin.io.dates import DTYPE
from gaopin.io.load import FILE_COL, ROW_COL, LoadResult, Problem, load
from gaopin.rules.persons import Links
from gaopin.schema import CANONICAL_COLUMNS, is_usable_phone, normalize_phone
from gaopin.store.db import TICKET_COLUMNS, connect, transaction

DATETIME_COLUMNS = ("received_at", "closed_at")
TEXT_FORMAT = "%Y-%m-%d %H:%M:%S"
DB_FILE_NAME = "gaopin.db"


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / DB_FILE_NAME


def db_path(flag: str | os.PathLike[str] | None, settings: Settings) -> Path:
    """--db, else GAOPIN_DB / [store] path (merged into settings), else the user data dir."""
    if flag:
        return Path(flag).expanduser()
    if settings.store.path:
        return settings.resolve_path(settings.store.path)
    return default_db_path()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class FileImport:
    file: str
    skipped: bool = False  # same content imported before
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "skipped": self.skipped,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
            "rejected_rows": [{"row": p.row, "reason": p.message} for p in self.rejected],
        }


def _text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical columns as the store keeps them: text, times as YYYY-MM-DD HH:MM:SS."""
    out = frame[list(TICKET_COLUMNS)].copy()
    for name in DATETIME_COLUMNS:
        out[name] = out[name].dt.strftime(TEXT_FORMAT)
    return out


def _row_hash(text: pd.DataFrame, extra: pd.Series) -> np.ndarray:
    both = text.assign(extra=extra)
    return pd.util.hash_pandas_object(both, index=False).to_numpy().view("int64")


def _json_escape(s: pd.Series) -> pd.Series:
    s = s.str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False)
    for ch, esc in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        s = s.str.replace(ch, esc, regex=False)
    return s.str.replace(r"[\x00-\x1f]", " ", regex=True)


def _extra_json(frame: pd.DataFrame, columns: Iterable[str]) -> pd.Series:
    """Unmapped source columns as one JSON object per row, built column-wise."""
    columns = list(columns)
    out = pd.Series("", index=frame.index, dtype="str")
    for name in columns:
        value = frame[name]
        key = json.dumps(name, ensure_ascii=False)
        part = (key + ':"' + _json_escape(value.astype("str")) + '"').where(value.notna(), "")
        sep = pd.Series(np.where((out != "") & (part != ""), ",", ""), index=frame.index)
        out = out + sep + part.fillna("")
    result = ("{" + out + "}").where(out != "", pd.NA)
    return result.astype("str")


class Store:
    def __init__(self, path: Path, create: bool = True):
        self.path = Path(path)
        self.conn = connect(self.path, create=create)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- imports ------------------------------------------------------------------

    def has_import(self, sha256: str) -> bool:
        return self.conn.execute("SELECT 1 FROM imports WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone() is not None

    def import_result(self, result: LoadResult, file_name: str, sha256: str, now: datetime) -> FileImport:
        """Add one loaded export in one transaction: new tickets inserted, changed fields updated
        (a blank never erases a stored value), earlier values kept as history."""
        summary = FileImport(file=file_name, rejected=list(result.rejected))
        frame = result.frame
        text = _text_frame(frame)
        extra = _extra_json(frame, result.extra_columns)
        hashes = _row_hash(text, extra)
        with transaction(self.conn):
            cur = self.conn.execute(
                "INSERT INTO imports (file_name, sha256, imported_at, rows, new, updated, unchanged, rejected) VALUES (?, ?, ?, ?, 0, 0, 0, ?)",
                (file_name, sha256, now.strftime(TEXT_FORMAT), len(frame) + len(result.rejected), len(result.rejected)),
            )
            import_id = cur.lastrowid
            stored = self._stored_hashes(text["ticket_id"])
            known = text["ticket_id"].isin(stored.index).to_numpy()
            same = np.zeros(len(text), dtype=bool)
            if known.any():
                same[known] = stored.reindex(text["ticket_id"][known]).to_numpy() == hashes[known]
            new_rows = ~known
            summary.new = int(new_rows.sum())
            self._insert(text[new_rows], extra[new_rows], hashes[new_rows], import_id)
            changed = known & ~same
            summary.unchanged = int((known & same).sum())
            if changed.any():
                updated, unchanged = self._merge_changed(text[changed], extra[changed], import_id)
                summary.updated += updated
                summary.unchanged += unchanged
            self.conn.executemany(
                "INSERT INTO rejected_rows (import_id, file_row, value, reason) VALUES (?, ?, ?, ?)",
                [(import_id, p.row, p.value, p.message) for p in result.rejected],
            )
            self.conn.executemany("INSERT OR IGNORE INTO fields (name) VALUES (?)", [(f,) for f in sorted(result.fields)])
            self.conn.execute(
                "UPDATE imports SET new = ?, updated = ?, unchanged = ? WHERE id = ?",
                (summary.new, summary.updated, summary.unchanged, import_id),
            )
        return summary

    def _stored_hashes(self, ids: pd.Series) -> pd.Series:
        count = self.conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        if count == 0:
            return pd.Series([], dtype="int64")
        if count <= 4 * len(ids):
            rows = self.conn.execute("SELECT ticket_id, row_hash FROM tickets").fetchall()
        else:
            rows = self._select_by_ids("SELECT ticket_id, row_hash FROM tickets WHERE ticket_id IN ({})", ids)
        if not rows:
            return pd.Series([], dtype="int64")
        keys, values = zip(*rows)
        return pd.Series(values, index=pd.Index(keys, dtype="str"), dtype="int64")

    def _select_by_ids(self, sql: str, ids: Iterable[str]) -> list[tuple]:
        ids = list(ids)
        out: list[tuple] = []
        for i in range(0, len(ids), 900):  # SQLite's host-parameter limit
            chunk = ids[i : i + 900]
            out.extend(self.conn.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall())
        return out

    def _insert(self, text: pd.DataFrame, extra: pd.Series, hashes: np.ndarray, import_id: int) -> None:
        if text.empty:
            return
        values = text.astype(object).where(text.notna(), None)
        values["extra"] = extra.astype(object).where(extra.notna(), None).to_numpy()
        values["row_hash"] = hashes.tolist()
        values["first_import"] = import_id
        values["last_import"] = import_id
        columns = list(TICKET_COLUMNS) + ["extra", "row_hash", "first_import", "last_import"]
        sql = f"INSERT INTO tickets ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        self.conn.executemany(sql, values[columns].itertuples(index=False, name=None))

    def _merge_changed(self, text: pd.DataFrame, extra: pd.Series, import_id: int) -> tuple[int, int]:
        columns = list(TICKET_COLUMNS) + ["extra"]
        rows = self._select_by_ids(f"SELECT {', '.join(columns)} FROM tickets WHERE ticket_id IN ({{}})", text["ticket_id"])
        stored = pd.DataFrame(rows, columns=columns, dtype="str").set_index("ticket_id")
        incoming = text.assign(extra=extra.to_numpy()).set_index("ticket_id")
        incoming = incoming.loc[stored.index]
        # Field by field: the later export wins where it has a value; a blank never erases.
        merged = incoming.where(incoming.notna(), stored)
        differs = merged.ne(stored) & ~(merged.isna() & stored.isna())
        touched = differs.any(axis=1)
        if touched.any():
            mask = differs[touched].to_numpy()
            olds = stored[touched].astype(object).where(stored[touched].notna(), None).to_numpy()
            news = merged[touched].astype(object).where(merged[touched].notna(), None).to_numpy()
            ids = merged.index[touched].to_numpy()
            names = np.array(merged.columns)
            r, c = np.nonzero(mask)
            history = [(ids[i], import_id, names[j], olds[i, j], news[i, j]) for i, j in zip(r.tolist(), c.tolist())]
            changed = merged[touched].reset_index()
            new_hashes = _row_hash(changed[list(TICKET_COLUMNS)], changed["extra"])
            values = changed.astype(object).where(changed.notna(), None)
            sets = ", ".join(f"{c} = ?" for c in columns[1:])
            updates = [
                (*row[1:], h, import_id, row[0])
                for row, h in zip(values[columns].itertuples(index=False, name=None), new_hashes.tolist())
            ]
            self.conn.executemany(f"UPDATE tickets SET {sets}, row_hash = ?, last_import = ? WHERE ticket_id = ?", updates)
            self.conn.executemany(
                "INSERT INTO ticket_history (ticket_id, import_id, field, old_value, new_value) VALUES (?, ?, ?, ?, ?)",
                history,
            )
        return int(touched.sum()), int((~touched).sum())

    # --- reading ------------------------------------------------------------------

    def fields(self) -> frozenset[str]:
        return frozenset(r[0] for r in self.conn.execute("SELECT name FROM fields"))

    def ticket_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM tickets").fetchone()[0]

    def tickets(self, columns: Iterable[str] | None = None, until: date | None = None) -> LoadResult:
        """Stored tickets as the loader would give them (`until`: received on or before)."""
        wanted = [c for c in TICKET_COLUMNS if columns is None or c in set(columns) | {"ticket_id", "received_at"}]
        sql = f"SELECT {', '.join(wanted)} FROM tickets"
        params: tuple = ()
        if until is not None:
            sql += " WHERE received_at IS NULL OR received_at < ?"
            params = (date.fromordinal(until.toordinal() + 1).isoformat(),)
        sql += " ORDER BY rowid"
        rows = self.conn.execute(sql, params).fetchall()
        frame = pd.DataFrame(rows, columns=wanted, dtype="str") if rows else pd.DataFrame({c: pd.Series([], dtype="str") for c in wanted})
        data = {}
        for name in CANONICAL_COLUMNS:
            if name in DATETIME_COLUMNS:
                source = frame[name] if name in frame else pd.Series(pd.NA, index=frame.index, dtype="str")
                data[name] = pd.to_datetime(source, format=TEXT_FORMAT, errors="coerce").astype(DTYPE)
            else:
                data[name] = frame[name] if name in frame else pd.Series(pd.NA, index=frame.index, dtype="str")
        out = pd.DataFrame(data)
        out[FILE_COL] = -1
        out[ROW_COL] = 0
        return LoadResult(frame=out, sources=[], counts=Counter(), fields=self.fields())

    def extra_values(self, header: str) -> pd.Series:
        """One unmapped source column for every ticket (for [filters] on source headers)."""
        rows = self.conn.execute("SELECT ticket_id, json_extract(extra, ?) FROM tickets", (f'$."{header}"',)).fetchall()
        ids, values = zip(*rows) if rows else ((), ())
        return pd.Series(values, index=pd.Index(ids, dtype="str"), dtype="str")

    def history(self, ticket_id: str) -> list[dict]:
        rows = self.conn.execute(
            "SELECT h.field, h.old_value, h.new_value, i.file_name, i.imported_at FROM ticket_history h JOIN imports i ON i.id = h.import_id WHERE h.ticket_id = ? ORDER BY i.id",
            (ticket_id,),
        ).fetchall()
        return [dict(zip(("field", "old", "new", "file", "imported_at"), r)) for r in rows]

    def imports(self) -> list[dict]:
        rows = self.conn.execute("SELECT id, file_name, sha256, imported_at, rows, new, updated, unchanged, rejected FROM imports ORDER BY id").fetchall()
        keys = ("id", "file", "sha256", "imported_at", "rows", "new", "updated", "unchanged", "rejected")
        return [dict(zip(keys, r)) for r in rows]

    # --- person links ---------------------------------------------------------------

    def links(self) -> Links:
        pairs = tuple(self.conn.execute("SELECT phone_a, phone_b FROM links ORDER BY phone_a, phone_b").fetchall())
        unlinked = frozenset(r[0] for r in self.conn.execute("SELECT phone FROM unlinks"))
        return Links(pairs=tuple(tuple(p) for p in pairs), unlinked=unlinked)

    def link(self, a: str, b: str, today: date) -> tuple[str, str]:
        a, b = sorted((_usable(a), _usable(b)))
        if a == b:
            raise UsageError("两个号码相同，无需关联", "请给出两个不同的号码")
        with transaction(self.conn):
            self.conn.execute("DELETE FROM unlinks WHERE phone IN (?, ?)", (a, b))
            self.conn.execute("INSERT OR IGNORE INTO links (phone_a, phone_b, created_on) VALUES (?, ?, ?)", (a, b, today.isoformat()))
        return a, b

    def unlink(self, phone: str, today: date) -> str:
        phone = _usable(phone)
        with transaction(self.conn):
            self.conn.execute("DELETE FROM links WHERE phone_a = ? OR phone_b = ?", (phone, phone))
            self.conn.execute("INSERT OR REPLACE INTO unlinks (phone, created_on) VALUES (?, ?)", (phone, today.isoformat()))
        return phone

    # --- exclusions -------------------------------------------------------------------

    def exclusions(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT ticket_id, reason FROM exclusions ORDER BY ticket_id").fetchall())

    def exclude(self, ticket_id: str, reason: str, today: date) -> None:
        if not reason.strip():
            raise UsageError("请写明不纳入考核的原因", "例如 --reason \"申诉已通过\"")
        if self.conn.execute("SELECT 1 FROM tickets WHERE ticket_id = ?", (ticket_id,)).fetchone() is None:
            raise StoreError(f"工单库中没有工单 {ticket_id}", "请检查编号，或先用 gaopin import 导入")
        with transaction(self.conn):
            self.conn.execute("INSERT OR REPLACE INTO exclusions (ticket_id, reason, created_on) VALUES (?, ?, ?)", (ticket_id, reason.strip(), today.isoformat()))

    def unexclude(self, ticket_id: str) -> None:
        with transaction(self.conn):
            cur = self.conn.execute("DELETE FROM exclusions WHERE ticket_id = ?", (ticket_id,))
        if cur.rowcount == 0:
            raise StoreError(f"工单 {ticket_id} 没有被标记为不纳入考核", "可用 gaopin exclude --list 查看已标记的工单")

    # --- retention ----------------------------------------------------------------------

    def count_received_before(self, cutoff: date) -> int:
        return self.conn.execute("SELECT count(*) FROM tickets WHERE received_at < ?", (cutoff.isoformat(),)).fetchone()[0]

    def purge(self, before: date) -> int:
        """Delete tickets received before a date, with their history and ledger links, and the
        callers' numbers that only those tickets held (in ledger entries, and in person links
        made before the date). Ledger entries themselves, with staff notes, are kept."""
        cutoff = before.isoformat()
        phones = "SELECT caller_phone FROM tickets WHERE caller_phone IS NOT NULL"
        # Deleted content is overwritten with zeros as it goes: nothing lingers even if the run
        # is killed before the VACUUM below rebuilds the file.
        self.conn.execute("PRAGMA secure_delete = ON")
        with transaction(self.conn):
            ids = "SELECT ticket_id FROM tickets WHERE received_at < ?"
            self.conn.execute(f"DELETE FROM ticket_history WHERE ticket_id IN ({ids})", (cutoff,))
            self.conn.execute(f"DELETE FROM entry_tickets WHERE ticket_id IN ({ids})", (cutoff,))
            self.conn.execute(f"DELETE FROM exclusions WHERE ticket_id IN ({ids})", (cutoff,))
            cur = self.conn.execute("DELETE FROM tickets WHERE received_at < ?", (cutoff,))
            self.conn.execute(f"DELETE FROM entry_phones WHERE phone NOT IN ({phones})")
            # A caller entry is keyed by one of its numbers (shown nowhere; matching goes by entry_phones).
            self.conn.execute(f"UPDATE entries SET key = '' WHERE kind = 'caller' AND key NOT IN ({phones})")
            self.conn.execute(
                f"DELETE FROM links WHERE created_on < ? AND phone_a NOT IN ({phones}) AND phone_b NOT IN ({phones})", (cutoff,)
            )
            self.conn.execute(f"DELETE FROM unlinks WHERE created_on < ? AND phone NOT IN ({phones})", (cutoff,))
        self.conn.execute("VACUUM")  # deleted callers' data must not linger in free pages
        return cur.rowcount

    def backups(self) -> list[Path]:
        """Copies made before schema migrations: they still hold every ticket they held then."""
        return sorted(p for p in self.path.parent.glob(f"{self.path.name}.v*.bak") if p.is_file())


def retention_cutoff(today: date, months: int) -> date:
    """The first day of the month `months` months before today's month."""
    y, m = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(y, m + 1, 1)


def _usable(phone: str) -> str:
    normalized = normalize_phone(phone)
    if not is_usable_phone(normalized):
        raise UsageError(f"“{phone}”不是可用的电话号码", "请给出 7 位以上的数字号码")
    return normalized


def open_store(flag: str | os.PathLike[str] | None, settings: Settings, create: bool = True) -> Store:
    return Store(db_path(flag, settings), create=create)


def import_files(
    paths: Iterable[str | os.PathLike[str]],
    store: Store,
    settings: Settings,
    now: datetime,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    on_done: Callable[[FileImport], None] | None = None,
) -> list[FileImport]:
    """Each file is its own import (one transaction), in command-line order; a file seen before
    is skipped. `on_done` hears of each file as soon as it is committed."""
    out = []
    for path in [Path(p) for p in paths]:
        if progress:
            progress(f"导入 {path.name}")
        if not path.is_file():
            load([path], settings)  # raises the loader's own clear error
        sha = file_sha256(path)
        if not force and store.has_import(sha):
            done = FileImport(file=str(path), skipped=True)
        else:
            result = load([path], settings, keep_extra=True)
            done = store.import_result(result, path.name, sha, now)
            done.file = str(path)
        out.append(done)
        if on_done:
            on_done(done)
    return out


def tickets_from(files: list[Path] | None, db: str | None, settings: Settings, fields=None, keep_extra=False, progress=None, until: date | None = None) -> tuple[LoadResult, Links]:
    """Tickets from files, or from the store when no file is given; links from the store if it exists."""
    path = db_path(db, settings)
    if files:
        result = load(files, settings, fields=fields, keep_extra=keep_extra, progress=progress)
        links = Links()
        if path.exists():
            with Store(path, create=False) as store:
                links = store.links()
        return result, links
    if not path.exists():
        raise StoreError(
            f"没有给出文件，工单库 {path} 也不存在",
            "请在命令后写上导出文件，或先用 gaopin import 导入工单（--db 可指定工单库）",
        )
    with Store(path, create=False) as store:
        if store.ticket_count() == 0:
            raise StoreError(f"工单库 {path} 中还没有工单", "请先用 gaopin import 导入导出文件")
        result = store.tickets(columns=fields, until=until)
        for header in settings.filters.exclude:
            if header not in result.frame.columns and header not in CANONICAL_COLUMNS:
                values = store.extra_values(header)
                if values.notna().any():
                    result.frame[header] = values.reindex(result.frame["ticket_id"]).to_numpy()
        return result, store.links()
