"""The persistent store: one SQLite file of tickets, their history, links, the ledger and sends."""

from gaopin.store.store import FileImport, Store, db_path, import_files, import_into, open_store, tickets_from

__all__ = ["FileImport", "Store", "db_path", "import_files", "import_into", "open_store", "tickets_from"]
