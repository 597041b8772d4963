"""Reporters: each one an event handler (``handle(event)``) turning the runner's events into one
view of the run: the console, a JSON report, JUnit XML, a self-contained HTML page."""
