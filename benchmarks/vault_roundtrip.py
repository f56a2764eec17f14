"""Benchmark 4: ``Vault`` encrypt + decrypt of one credential (AES-256-GCM with AAD)."""

from __future__ import annotations

from benchmarks.results import Measurement, Target, rate_of
from services.runtime import Vault, generate_key_ring_entry

__all__ = ["TARGETS", "measure_vault"]

TARGETS = {
    "roundtrip": Target(
        20_000,
        "at_least",
        "a credential is opened once per token refresh or client start, never per message, "
        "so this only has to be invisible (this machine: about 155,000/s)",
    ),
}

# The size of a typical OAuth refresh token.
_CREDENTIAL = "r" * 256


def measure_vault(*, count: int, warm_up: int = 500) -> list[Measurement]:
    """Encrypt-then-decrypt round trips per second under a fresh one-key ring."""
    vault = Vault.from_text(generate_key_ring_entry("bench"))

    def roundtrip() -> None:
        token = vault.encrypt(_CREDENTIAL, connection_id="bench-connection", field="refresh_token")
        if (
            vault.decrypt(token, connection_id="bench-connection", field="refresh_token")
            != _CREDENTIAL
        ):
            msg = "the vault did not give the credential back"
            raise AssertionError(msg)

    rate = rate_of(roundtrip, count=count, warm_up=warm_up)
    return [Measurement("vault encrypt + decrypt", rate, "round trips/s", TARGETS["roundtrip"])]
