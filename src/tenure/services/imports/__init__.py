"""CSV imports of contacts and interactions: the engine, duplicates, previews and jobs.

The edges use ``jobs`` (start, resume, upload, run a step, list, read), ``engine.ImportRun``
(the batches) and ``preview.preview``.
"""
