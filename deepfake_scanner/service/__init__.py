"""The scanner as a service (issue 23): a FastAPI app over `deepfake_scanner.Scanner`, with
scans, posts that are scanned before they are published (a fake one tagged ``#Deepfake``),
reports that re-scan a post and queue it for a moderator, and jobs kept in a database (SQLite
by default, PostgreSQL by URL) so that a restart finishes them. ``python serve.py`` starts it."""
