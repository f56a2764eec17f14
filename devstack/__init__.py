"""The development stack: ``make up``, ``make down`` and ``make demo`` (not part of the product).

It lives outside ``services/`` and is left out of the wheel and the image: nothing the
product runs imports it (``tests/unit/test_import_boundaries.py``). ``flows`` lists the
built flows as data; ``stack`` starts and stops the local stack (Kafka, every sandbox, the
edge and the control plane in one process (``edge_and_control``), the flows' vendor
services), ``accounts`` connects every sandbox account and links the flows; ``demo``
plays each built flow on it (``people_freshbooks``: a backfill, a hire, a department change
and a termination, shown where they ended up).
"""
