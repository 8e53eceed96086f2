"""Readiness: waiting on services (health), the probes for services without a health
check (probes), and the protocol handshakes they use (handshakes)."""
