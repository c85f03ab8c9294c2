"""The web app and JSON API (FastAPI): server-rendered pages for caseworkers, managers, panel
coordinators, decision makers and administrators, and ``/api/v1`` for token holders.

Like the CLI it parses input, calls the application services (which authorize every command and
read) and renders; it never touches storage. ``create_app`` builds it on a wired ``App``.
"""
