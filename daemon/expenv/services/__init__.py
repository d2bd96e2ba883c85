"""Services: plain Python used by the CLI and the LSP layer alike."""
