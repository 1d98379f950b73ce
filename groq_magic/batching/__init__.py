"""``groq_magic.batch``: a sweep sent through Groq's Batch API, at half the price, no rate limits.

    job = groq_magic.batch(df.question, model="llama-3.1-8b-instant", temperature=0)
    job                      # its status and progress
    job.wait()               # a progress bar until it ends; the stop button stops waiting only
    table = job.results()    # the same table as groq_magic.sweep gives
    job.cancel()

``batch`` takes :func:`groq_magic.sweep`'s arguments and prepares every row on the
same road (:meth:`GroqSession.prepare`: defaults, templates, key check, schema), so
bad input is one line before anything is sent. Each row becomes one JSONL line
(``custom_id`` ``row-<n>``, the request body as a cell would send it, without the
stream fields); the file is uploaded (``client.files``), the batch created
(``client.batches``), and the job kept in the exchange store with its table's
definition (:class:`~groq_magic.batching._table.BatchTable`: each row's prompt,
options and ``columns=`` values, the schema sent, the checks named), so after a
kernel restart ``groq_magic.batch_job(ID)`` gives the same table and
``groq_magic.batch_jobs()`` lists the recent jobs.

:meth:`BatchJob.results` builds each row exactly as a sweep builds it: the row's
turn is prepared again on the one road, its answer from the output file is concluded
by the engine (:func:`~groq_magic.chat.engine.conclude_completion`: key masking, JSON
and schema validation, the batch price, the record in the store) and tabulated by the
one row builder, with the same checks. A failed request is a row with its error; a
request an expired or cancelled batch never ran is a row marked ``interrupted``; a
result line that cannot be read is an error row (or one printed line naming it), and
every finished answer is kept.

The package is ``batching``, not ``batch``: importing a submodule named ``batch`` would
set ``groq_magic.batch`` to the module and hide the function of that name.

Every problem is one :class:`BatchError` line: a server without the Batch API (the
embedded model: "batch needs Groq's Batch API: ..."), a file over Groq's limits
(:data:`MAX_LINES` lines, :data:`MAX_BYTES` bytes: the limit is named), an unknown
batch id, a batch whose input was rejected.
"""

from __future__ import annotations

from groq_magic.batching._job import POLL_SECONDS, BatchJob, batch_job, batch_jobs
from groq_magic.batching._send import (
    BATCH_DISCOUNT,
    MAX_BYTES,
    MAX_LINES,
    BatchError,
    batch,
)

__all__ = [
    "BATCH_DISCOUNT",
    "MAX_BYTES",
    "MAX_LINES",
    "POLL_SECONDS",
    "BatchError",
    "BatchJob",
    "batch",
    "batch_job",
    "batch_jobs",
]
