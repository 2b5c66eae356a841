"""The web UI under ``/ui/`` (docs/ui.md): server-rendered pages, one script and one style sheet.

No build step and no framework: Jinja2 templates (autoescaped) and
``static/app.js``, which reads and writes through the REST API under
``/api/`` like any other client. ``routes.py`` mounts it, ``session.py``
keeps the logins. This ``__init__`` imports nothing, so ``web/api/auth.py``
can import ``session`` without pulling in the pages.
"""
