"""The content-addressed translation store (SQLite): see store.py and session.py."""

from localize.store.session import KEY_VERSION, SegmentKey, StoreSession
from localize.store.store import (
    FILENAME, StoreError, StoreInfo, Stored, TranslationStore, clear_store, default_path, resolve_path, store_info,
)

__all__ = [
    "FILENAME", "KEY_VERSION", "SegmentKey", "StoreError", "StoreInfo", "StoreSession", "Stored", "TranslationStore",
    "clear_store", "default_path", "resolve_path", "store_info",
]
