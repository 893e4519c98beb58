"""Lotse: service directory and closed-loop referrals for a city's integration management."""

from pathlib import Path

__version__ = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
