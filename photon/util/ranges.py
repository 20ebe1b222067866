"""Redis's index ranges over ordered collections (LRANGE, LTRIM, ZRANGE, ZREMRANGEBYRANK)."""
from __future__ import annotations


def rank_range(start: int, end: int, size: int) -> tuple[int, int] | None:
    """Inclusive start/end with negatives counted from the end, clamped to the collection;
    None when the range is empty."""
    if start < 0:
        start += size
    if end < 0:
        end += size
    if start < 0:
        start = 0
    if start > end or start >= size:
        return None
    if end >= size:
        end = size - 1
    return start, end
