"""Real-browser tests: JupyterLab driven by Playwright on Debian's Chromium.

Run just these with ``.venv/bin/python -m pytest tests/browser`` (or ``-m browser``); they
are part of the default test command too. About 2 minutes on an idle 2-core machine, 4 under
load; screenshots land in ``build/browser/``. They need the ``jupyterlab`` and
``playwright`` Python packages (the ``test`` extra) and install ``chromium`` with apt-get
when ``/usr/bin/chromium`` is missing (Playwright's own browser download is not used).

A package so its fixtures can be package-scoped: Playwright's sync API keeps its event loop
marked as running in the main thread while the browser is open, which would break every
later test that calls ``asyncio.run``; the browser, the JupyterLab servers and the Binder
build are therefore closed when the last test of this package is done, not at session end.
"""
