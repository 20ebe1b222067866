"""How a node talks to another node, and how a program talks to a node: one RESP connection
type (pipelined, authenticated, TLS when configured) and a pool of them (docs/architecture.md,
"Internal links")."""
