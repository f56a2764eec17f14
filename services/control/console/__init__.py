"""The operator console: server-rendered pages at ``/console`` over the control plane's store."""
