"""Keel's domain: users, wallets and the double-entry ledger. Standard library only."""
