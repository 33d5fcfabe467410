"""Adapter: forge (pygithub), retries, PR snapshot, status, approvals, expiry PR, doctor."""
