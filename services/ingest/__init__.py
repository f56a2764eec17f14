"""The public webhook edge and the schedules (``python -m services.ingest``)."""
