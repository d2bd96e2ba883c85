"""The `expenv` command line: the same services as the daemon, for terminals and CI."""
