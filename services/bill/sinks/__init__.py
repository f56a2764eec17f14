"""The bill service's sinks: vendors and bills into BILL (flow ap-bill)."""
