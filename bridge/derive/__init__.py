"""Derivation: from canonical projects and tickets to transitions, gates, articles, workloads."""
