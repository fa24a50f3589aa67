"""Browser tests: examples/app.py in Chromium, driven by Playwright."""
