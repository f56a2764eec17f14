"""partnerUserID / partnerUserSecret, sent inline in every job (sheet 1).

No tokens and no documented expiry: a pair works until it is rotated on the vendor's
integrations page (the `rotate_credentials` control action here). A wrong or missing pair
fails with the settings' code and message (open question 1); `credential_ttl_seconds`
makes pairs expire on the sandbox clock for tests of that path.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from sandboxes.expensify.errors import ExpensifyError
from sandboxes.expensify.settings import ExpensifySandboxSettings
from sandboxes.kit import Record, SandboxClock, State

__all__ = ["Authenticator", "new_secret"]


def new_secret() -> str:
    """A partnerUserSecret like the vendor's: 40 hex characters [I]."""
    return secrets.token_hex(20)


class Authenticator:
    def __init__(
        self, state: State, clock: SandboxClock, settings: ExpensifySandboxSettings
    ) -> None:
        self.state = state
        self.clock = clock
        self.settings = settings

    def _refused(self) -> ExpensifyError:
        return ExpensifyError(self.settings.auth_error_code, self.settings.auth_error_message)

    def authenticate(self, credentials: object) -> Record:
        """The credentials record for a valid pair (its `email` is the acting user)."""
        if not isinstance(credentials, dict):
            raise self._refused()
        user_id, secret = credentials.get("partnerUserID"), credentials.get("partnerUserSecret")
        if not isinstance(user_id, str) or not isinstance(secret, str):
            raise self._refused()
        record = self.state.get("credentials", user_id)
        if record is None or not hmac.compare_digest(
            str(record.get("partnerUserSecret", "")).encode(), secret.encode()
        ):
            raise self._refused()
        ttl = self.settings.credential_ttl_seconds
        issued = record.get("issued")
        if ttl is not None and isinstance(issued, int | float):
            expired = self.clock.timestamp() - issued > ttl
            if expired:
                raise self._refused()
        return record

    def stamp_unissued(self) -> None:
        """Seeded pairs without an issue time count from now (for the expiry setting)."""
        for record in self.state.records("credentials"):
            if not isinstance(record.get("issued"), int | float):
                record["issued"] = self.clock.timestamp()

    def rotate(self, user_id: str) -> dict[str, Any]:
        record = self.state.get("credentials", user_id)
        if record is None:
            raise KeyError(user_id)
        record["partnerUserSecret"] = new_secret()
        record["issued"] = self.clock.timestamp()
        return {"partnerUserID": user_id, "partnerUserSecret": record["partnerUserSecret"]}
