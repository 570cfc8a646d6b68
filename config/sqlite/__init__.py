"""Django's SQLite backend, with the collations our queries name (see base.py)."""
