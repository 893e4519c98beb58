"""Organisations taking part in Lotse: their link to the directory and their referral services."""

# The directory learns here who keeps its listings (partners/ownership.py).
from partners import ownership as _ownership  # noqa: F401
