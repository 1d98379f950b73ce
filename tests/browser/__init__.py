"""Real-browser tests: JupyterLab driven by Playwright on Debian's Chromium.

A package so its fixtures can be package-scoped: Playwright's sync API keeps its event loop
marked as running in the main thread while the browser is open, which would break every
later test that calls ``asyncio.run``; the browser, the JupyterLab servers and the Binder
build are therefore closed when the last test of this package is done, not at session end.
"""
