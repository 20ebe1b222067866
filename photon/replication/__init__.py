"""Replication: each shard's writes streamed to replicas, acknowledged by quorum
(docs/architecture.md, "Replication and quorum")."""
