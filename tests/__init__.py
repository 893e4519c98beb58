"""Lotse's tests; FIXTURES holds the shipped example data they read."""

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
