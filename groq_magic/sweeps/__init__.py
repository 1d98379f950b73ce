"""Many turns at once, below the widgets: plan, run, tabulate (compares, sweeps, batches).

``sweep`` and ``batch`` (and evaluations) are used from code, with no widget, so what
they need lives here, below :mod:`groq_magic.ui` (which only shows compares and the
sliders panel over the same pieces):

- ``grid``: a compare grid's expansion and limits (pure);
- ``sweep``: ``groq_magic.sweep``, and :func:`~groq_magic.sweeps.sweep.plan_sweep`, every
  run of a sweep or a batch prepared on the one road;
- ``runner``: the async core (:class:`~groq_magic.sweeps.runner.GridRunner`: bounded
  concurrency, retries, shared backoff, pacing) and the table it returns;
- ``drive``: runs a ``GridRunner`` on the background loop from the main thread,
  interruptibly.
"""
