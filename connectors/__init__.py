"""Connectors: one module per external tool (wire formats only)."""
