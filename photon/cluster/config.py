"""ReplicationConfig: the spec's replication settings, with its field names and defaults."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from photon.keyspace.slots import valid_shard_count

if TYPE_CHECKING:
    from photon.config import Settings


@dataclass(frozen=True)
class ReplicationConfig:
    """How many copies a shard has and how many must hold a write (spec: "Configuration")."""

    replica_count: int = 3
    replication_factor: int = 3
    shard_count: int = 16
    enable_read_replicas: bool = True
    write_quorum: int = 2

    def __post_init__(self) -> None:
        problems = []
        if self.replica_count < 0:
            problems.append(f"replica_count must be 0 or more (got {self.replica_count})")
        if self.replication_factor < 1:
            problems.append(f"replication_factor must be at least 1 (got "
                            f"{self.replication_factor})")
        if not valid_shard_count(self.shard_count):
            problems.append(f"shard_count must be a power of two from 1 to 16384 (got "
                            f"{self.shard_count})")
        if self.write_quorum < 1:
            problems.append(f"write_quorum must be at least 1 (got {self.write_quorum})")
        elif self.write_quorum > self.replication_factor:
            problems.append(f"write_quorum {self.write_quorum} is above replication_factor "
                            f"{self.replication_factor}: no write could ever be acknowledged")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def from_settings(cls, settings: "Settings") -> "ReplicationConfig":
        """The configuration a running node enforces (a standalone node has one copy)."""
        standalone = settings.role == "standalone"
        factor = 1 if standalone else settings.replication_factor
        return cls(replica_count=0 if standalone else max(factor - 1, 0),
                   replication_factor=factor, shard_count=settings.shards,
                   enable_read_replicas=settings.enable_read_replicas,
                   write_quorum=1 if standalone else settings.write_quorum)

    @property
    def quorum(self) -> int:
        """Copies a write needs, the master included."""
        return self.write_quorum
