"""`make demo`, `make up`, `make down`: flow 1 (BambooHR -> FreshBooks) as a running stack.

``stack`` starts and stops the local stack (Kafka, sandboxes, ingest, the flow's
services), connects the sandbox accounts through their real OAuth consent and
links them; ``__main__`` is the demo that plays a backfill, a hire, a department
change and a termination through it and shows where every employee ended up.
"""
