"""The acumatica service's sinks: what it writes to Acumatica."""
