"""Jinja2 templates of the reference SP's pages (a package so the wheel ships them)."""
