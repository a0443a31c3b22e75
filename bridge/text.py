"""Text as every store holds it: NUL, which PostgreSQL's text refuses (and its JSON cannot
give back), and half a surrogate pair, which JSON may escape yet is no text, become U+FFFD."""

from __future__ import annotations


def is_plain(value: str) -> bool:
    """Whether `value` is stored as it is."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def plain(value: str) -> str:
    """`value` with NUL and each half surrogate pair replaced by U+FFFD (whole pairs become
    their character)."""
    if is_plain(value):
        return value
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "\ufffd")
