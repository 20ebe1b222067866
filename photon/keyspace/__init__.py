"""Redis data types on an ordered key-value engine (docs/architecture.md, "Storage encoding")."""
