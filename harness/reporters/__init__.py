"""Reporters: each one an event handler (``handle(event)``) turning the runner's events into one
view of the run: the console, a JSON report, JUnit XML, a self-contained HTML page.

``ReportWriteError`` (an OSError) is raised when a report file cannot be written; the command
line turns it into one line and its exit status, and calls ``check_report_path`` on each report
before the run starts. Only these are imported here, to keep importing a single reporter cheap.
"""

from harness.reporters._files import ReportWriteError, check_report_path

__all__ = ["ReportWriteError", "check_report_path"]
