"""``mlc``: the operator's command line (``mlc`` or ``python -m mlc``).

Two kinds of commands live here. ``connections``, ``links`` and ``status`` talk to a
running control plane over its operator API (HTTP), so the CLI never holds the vault's
secrets for them. ``vault``, ``store migrate``, ``topics ensure``, ``audit`` and
``replay`` use the runtime directly: they are the operator's hands on the store, the
key ring and the log, and work while no service runs. Nothing in ``services/`` imports
this package (``tests/unit/test_import_boundaries.py``).
"""
