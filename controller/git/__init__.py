"""Adapter: the git repository, snapshots at a ref, the local lifecycle."""
