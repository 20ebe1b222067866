"""Replication: each shard's writes streamed to replicas, acknowledged by quorum (DESIGN §5)."""
