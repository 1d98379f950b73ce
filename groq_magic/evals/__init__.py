"""Evaluations in the notebook: a prompt template over a dataset, checked, judged, stored.

    run = groq_magic.evaluate("Capital of {country}?", cases, model=["a", "b"],
                              checks=["equals:capital", groq_magic.judge("Names {capital}")])
    groq_magic.runs()                 # the stored runs, in this kernel or a later one
    groq_magic.diff(run_a, run_b)     # the cases whose outcome changed, regressions first

Modules: ``dataset`` (reading the cases, filling the template), ``grader``
(:func:`judge`, the model-graded check), ``pipeline`` (:func:`evaluate`, over the
sweep or the Batch API), ``run`` (:class:`EvalRun`), ``stored`` (:func:`runs`,
:func:`load_run`) and ``changes`` (:func:`diff`). The display lives in
:mod:`groq_magic.render.evalview`; nothing here imports IPython.
"""

from __future__ import annotations

from groq_magic.evals.changes import diff
from groq_magic.evals.dataset import EvalError
from groq_magic.evals.grader import Judge, judge
from groq_magic.evals.pipeline import evaluate
from groq_magic.evals.run import EvalRun
from groq_magic.evals.stored import load_run, runs

__all__ = ["EvalError", "EvalRun", "Judge", "diff", "evaluate", "judge", "load_run", "runs"]
