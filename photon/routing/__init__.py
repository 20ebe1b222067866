"""Where a command runs: step 6 of the command path (docs/architecture.md, "A command's path").
The router sits between a client connection and the commands: it serves a command here, passes
it to the node that owns its keys, or refuses it."""
