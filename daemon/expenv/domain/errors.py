"""Errors a user should read: their message says what went wrong and what to do."""

from __future__ import annotations


class ExpenvError(Exception):
    """Base of every error expenv shows to a user as-is (no traceback, no secrets)."""


class DataError(ExpenvError):
    """A dataset cannot be found, read or named safely."""
