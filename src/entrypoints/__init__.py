"""Keel's entry points: the container that composes the kernel, and the CLI."""
