"""Scenario files: the language (model) and loading them (loader)."""
