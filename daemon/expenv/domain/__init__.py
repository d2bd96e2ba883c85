"""Domain models: plain data shared by services, the CLI and the LSP layer."""
