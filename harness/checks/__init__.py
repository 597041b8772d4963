"""Checks: one small function per rule, each citing its requirement (harness.checks.registry)."""
