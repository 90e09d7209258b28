"""localize: rewrite e-commerce catalogs as native listings for other locales."""

__version__ = "0.1.0"
