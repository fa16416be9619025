"""The dancer's studio: a local web app (`dance-assets studio`) where she adds teachers,
scores her videos, practises live against her teacher with her webcam, and follows her
progress. A Starlette app (app.py) and its page (static/: HTML, CSS and JavaScript
modules, no build step, nothing fetched from elsewhere); docs/studio.md says how it works.
"""
