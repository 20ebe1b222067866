"""Redis data types on an ordered key-value engine (DESIGN.md §3)."""
