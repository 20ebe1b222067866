"""The shard map: which shard group owns each shard, and the config epoch of that claim.

A group is named by its master's node id. Every change of owner (a master's first claim, a
failover, a shard move) is a claim with a higher epoch, and maps merge shard by shard by
keeping the claim with the higher epoch, so a node that was away can never take a shard back
with what it remembers. Two groups claiming one shard with the same epoch is a conflict: the
shard is served by neither until one claims it again with a higher epoch, and the cluster
reports it (docs/architecture.md, "The cluster"). Plain data: no I/O, no clock.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from photon.keyspace.slots import slot_range, valid_shard_count


def ranges_text(shards: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2,5'."""
    runs: list[list[int]] = []
    for s in shards:
        if runs and runs[-1][1] + 1 == s:
            runs[-1][1] = s
        else:
            runs.append([s, s])
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in runs)


@dataclass(frozen=True)
class Claim:
    group: str
    epoch: int


class ShardMap:
    def __init__(self, shard_count: int) -> None:
        if not valid_shard_count(shard_count):
            raise ValueError("shard count must be a power of two from 1 to 16384")
        self.shard_count = shard_count
        self.claims: list[Claim | None] = [None] * shard_count
        self.conflicts: dict[int, set[str]] = {}  # shard -> groups claiming at its top epoch

    # --- changes -------------------------------------------------------------------------

    def claim(self, shards: Iterable[int], group: str, epoch: int) -> list[int]:
        """Offer a claim on each shard; returns the shards whose owner or state changed."""
        return [s for s in shards if self._offer(s, Claim(group, epoch))]

    def _offer(self, shard: int, claim: Claim) -> bool:
        current = self.claims[shard]
        if current is None or claim.epoch > current.epoch:
            self.claims[shard] = claim
            self.conflicts.pop(shard, None)
            return True
        if claim.epoch == current.epoch and claim.group != current.group:
            groups = self.conflicts.setdefault(shard, {current.group})
            if claim.group not in groups:
                groups.add(claim.group)
                return True
        return False

    def merge(self, other: "ShardMap") -> list[int]:
        """Take what another map knows: per shard, the higher epoch wins."""
        if other.shard_count != self.shard_count:
            raise ValueError(f"a map of {other.shard_count} shards cannot merge into one of "
                             f"{self.shard_count}")
        changed = set()
        for shard, claim in enumerate(other.claims):
            if claim is not None and self._offer(shard, claim):
                changed.add(shard)
            for group in other.conflicts.get(shard, ()):
                if claim is not None and self._offer(shard, Claim(group, claim.epoch)):
                    changed.add(shard)
        return sorted(changed)

    # --- questions -----------------------------------------------------------------------

    def owner(self, shard: int) -> str | None:
        """The group serving the shard: None when nobody claims it or two groups do."""
        claim = self.claims[shard]
        if claim is None or shard in self.conflicts:
            return None
        return claim.group

    def epoch(self, shard: int) -> int:
        claim = self.claims[shard]
        return claim.epoch if claim is not None else 0

    def max_epoch(self) -> int:
        return max((c.epoch for c in self.claims if c is not None), default=0)

    def shards_of(self, group: str) -> list[int]:
        return [s for s in range(self.shard_count) if self.owner(s) == group]

    def groups(self) -> list[str]:
        return sorted({c.group for c in self.claims if c is not None})

    def uncovered(self) -> list[int]:
        return [s for s, c in enumerate(self.claims) if c is None]

    def conflicting(self) -> list[int]:
        return sorted(self.conflicts)

    @property
    def ok(self) -> bool:
        return not self.conflicts and all(c is not None for c in self.claims)

    def slot_ranges(self, group: str) -> list[tuple[int, int]]:
        """The group's slots as inclusive ranges, adjacent shards joined (CLUSTER SLOTS)."""
        ranges: list[tuple[int, int]] = []
        for shard in self.shards_of(group):
            first, last = slot_range(shard, self.shard_count)
            if ranges and ranges[-1][1] + 1 == first:
                ranges[-1] = (ranges[-1][0], last)
            else:
                ranges.append((first, last))
        return ranges

    # --- on the wire ---------------------------------------------------------------------

    def to_wire(self) -> list[bytes | int]:
        """Flat [shard, group, epoch, ...] of every claim, conflicting ones included."""
        out: list[bytes | int] = []
        for shard, claim in enumerate(self.claims):
            if claim is None:
                continue
            for group in sorted(self.conflicts.get(shard, {claim.group})):
                out += [shard, group.encode(), claim.epoch]
        return out

    @classmethod
    def from_wire(cls, shard_count: int, flat: list) -> "ShardMap":
        m = cls(shard_count)
        for i in range(0, len(flat) - 2, 3):
            shard, group, epoch = int(flat[i]), flat[i + 1], int(flat[i + 2])
            if not 0 <= shard < shard_count:
                raise ValueError(f"shard {shard} is not in 0-{shard_count - 1}")
            m._offer(shard, Claim(group.decode() if isinstance(group, bytes) else group, epoch))
        return m
