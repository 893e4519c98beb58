"""Lotse's search benchmark: synthetic German directories, a judged query set, and the same
queries against Lotse's in-memory engine, PostgreSQL pg_trgm and SQLite FTS5 (trigram), plus
an HTTP load test of the Hagen demo. Run it with ``make bench`` (``python -m bench.run``).
"""
