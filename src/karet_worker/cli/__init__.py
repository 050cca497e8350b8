"""The `karet-worker` command line (SPEC §9)."""
