"""The control plane: the operator API, connections and links, OAuth consent, webhook
registration at the vendors, and sync requests (``python -m services.control``)."""
