"""Our own fault suite (`make chaos`): the whole stack under hostile input, with figures.

Each figure of ``docs/reliability.md`` is one module: ``hostile_requests`` (R4) and
``secret_scan`` (R5); ``run`` plays them on the dev stack of every built flow, and
``report`` writes the page. A short version runs in ``make test``
(``tests/e2e/test_chaos_short.py``).
"""
