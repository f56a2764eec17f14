"""`make demo`: the platform spine end to end on a real Kafka broker.

Until the first flow (BambooHR -> FreshBooks) lands, the demo shows what every
flow will stand on: a service consuming a canonical event through the runtime
kit's commit-after-handling consumer, an idempotent effect recorded in the
state store, outcomes published with causation, and the audit chain read back
from the log.
"""
