"""Ray's checkpoint list replayed report by report, for a trial whose appends left it unsorted."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Optional, overload


def appends_keep_order(keys: list, appended: Sequence[bool]) -> bool:
    """Whether every appended report's key is at least every earlier key. Then each append
    lands where a sorted insert would have put it (the list stays sorted, newer to the right
    of equals), so the sort is exact. This is the common mixed case: in min mode a missing
    metric scores +inf, the greatest key there is."""
    top = None
    for key, was_appended in zip(keys, appended):
        if top is None or key > top:
            top = key
        elif was_appended and key < top:
            return False
    return True


def key_codes(keys: list) -> list[int]:
    """Each sort key as its rank among the distinct keys: ints compare like the keys did, and
    a list of small ints is a fraction of the memory of a list of tuples."""
    code = {kv: r for r, kv in enumerate(sorted(set(keys)))}
    return [code[kv] for kv in keys]


@overload
def replay_literally(
    n: int, ik: list[int], appended: Sequence[bool], k: None
) -> tuple[list[int], set[int], None, None]: ...


@overload
def replay_literally(
    n: int, ik: list[int], appended: Sequence[bool], k: int
) -> tuple[None, set[int], list[int], list[int]]: ...


def replay_literally(
    n: int, ik: list[int], appended: Sequence[bool], k: Optional[int]
) -> tuple[Optional[list[int]], set[int], Optional[list[int]], Optional[list[int]]]:
    """Ray's register_checkpoint, step by step, for a trial that mixes inserts and appends.

    ``ik``: each report's key as an int (see key_codes). Returns (ranking best first without
    deletions, the top num_to_keep of Ray's final list, deleted_by, rank_then): per report
    index, the report whose registration deleted it (-1 when none) and its rank then. With
    ``k`` None nothing is deleted and the ranking is Ray's list (the two lists are None);
    with ``k`` set only the deletions are computed (None in the ranking's place).

    Ray inserts before the first item whose key is greater, scanning from the left of a list
    that appends have left unsorted. That position is also the first place where the running
    maximum of the keys exceeds the new key, and the running maximum stays sorted whatever
    the list looks like, so a bisect on it finds the spot without the scan. Ray's list is
    held in blocks of at most 2 x ``_BLOCK`` entries (see _RayList), so an insert costs two
    bisects and an edit of one block, and a deletion (always one of the first two entries) an
    edit of the first block and of the running maxima from there only until they agree again,
    however long the list is: O(n log n) for a trial whatever ``num_to_keep`` is. (One flat
    list rebuilt its whole running maximum on most deletions: quadratic in ``num_to_keep``,
    42 s for 40,000 reports keeping 20,000.)
    """
    lst = _RayList(ik)
    deleted_by = [-1] * n if k is not None else []  # returned as None when k is None
    rank_then = [0] * n if k is not None else []
    for i in range(n):
        if appended[i]:
            lst.append(i)
        else:
            lst.insert(i)
        if k is None:
            continue  # nothing is ever deleted: the list becomes the full ranking
        size = lst.size
        cut = size - k
        if cut <= 0:
            continue
        # Everything below the top k goes (the first `cut` entries), except the checkpoint
        # just registered, which stays as the latest.
        pos = 0
        for seen in range(cut):
            x = lst.at_front(pos)
            if x == i:
                pos += 1
                continue
            lst.delete_front(pos)
            deleted_by[x] = i
            rank_then[x] = size - seen
    kept = lst.items()
    if k is None:
        return kept[::-1], set(kept), None, None
    return None, set(kept[-k:]), deleted_by, rank_then


_BLOCK = 128  # entries per block of _RayList; a block splits in two at twice this


class _RayList:
    """Ray's checkpoint list (report indices, worst first) in blocks, each with the running
    maximum of its own keys, and ``top``: the running maximum of the blocks' maxima.

    The first entry whose key exceeds x is in the first block whose maximum exceeds x (a
    bisect on ``top``), at the first place where that block's own running maximum exceeds x
    (a bisect on it: the blocks before hold nothing above x). Inserting x there leaves every
    maximum as it was; appending raises only the last ones; removing one of the first two
    entries changes the running maxima only from it until they agree again."""

    __slots__ = ("ik", "blocks", "maxes", "top", "size")

    def __init__(self, ik: list[int]):
        self.ik = ik
        self.blocks: list[list[int]] = []
        self.maxes: list[list[int]] = []  # per block: the running maximum of its keys
        self.top: list[int] = []  # per block: the running maximum of the blocks' maxima
        self.size = 0

    def append(self, i: int) -> None:
        x = self.ik[i]
        self.size += 1
        if not self.blocks:
            self.blocks.append([i])
            self.maxes.append([x])
            self.top.append(x)
            return
        block, running = self.blocks[-1], self.maxes[-1]
        block.append(i)
        running.append(x if x > running[-1] else running[-1])
        if x > self.top[-1]:
            self.top[-1] = x
        if len(block) > 2 * _BLOCK:
            self._split(len(self.blocks) - 1)

    def insert(self, i: int) -> None:
        x = self.ik[i]
        b = bisect_right(self.top, x)
        if b == len(self.blocks):  # nothing greater: Ray's scan runs off the end
            self.append(i)
            return
        running = self.maxes[b]
        j = bisect_right(running, x)
        self.blocks[b].insert(j, i)
        running.insert(j, x)  # everything before j is <= x, everything from j on is > x
        self.size += 1
        if len(running) > 2 * _BLOCK:
            self._split(b)

    def _split(self, b: int) -> None:
        block, running = self.blocks[b], self.maxes[b]
        half = len(block) // 2
        hi = block[half:]
        del block[half:]
        del running[half:]
        self.blocks.insert(b + 1, hi)
        self.maxes.insert(b + 1, list(accumulate(map(self.ik.__getitem__, hi), max)))
        # top[b] stays the maximum up to the end of the (old) block: the high half's entry.
        before = self.top[b - 1] if b else None
        low = running[-1] if before is None or running[-1] > before else before
        self.top.insert(b, low)

    def at_front(self, pos: int) -> int:
        """The entry at position ``pos`` (0 or 1: the deletions take only the first few)."""
        for block in self.blocks:
            if pos < len(block):
                return block[pos]
            pos -= len(block)
        raise IndexError(pos)

    def delete_front(self, pos: int) -> None:
        b = 0
        while pos >= len(self.blocks[b]):
            pos -= len(self.blocks[b])
            b += 1
        block, running = self.blocks[b], self.maxes[b]
        del block[pos]
        del running[pos]
        self.size -= 1
        if not block:
            del self.blocks[b], self.maxes[b], self.top[b]
        else:
            # The running maximum from pos on: recompute until it agrees with the old one.
            ik = self.ik
            prev = running[pos - 1] if pos else None
            for j in range(pos, len(block)):
                x = ik[block[j]]
                value = x if prev is None or x > prev else prev
                if value == running[j]:
                    break
                running[j] = value
                prev = value
        top = self.top
        prev = top[b - 1] if b else None
        for c in range(b, len(top)):
            x = self.maxes[c][-1]
            value = x if prev is None or x > prev else prev
            if value == top[c]:
                break
            top[c] = value
            prev = value

    def items(self) -> list[int]:
        out: list[int] = []
        for block in self.blocks:
            out.extend(block)
        return out
