"""`POST /v3/login` sessions: devKey + username + password + organizationId -> sessionId.

Sheet section 2. A session dies after `session_idle_seconds` without a call (sliding, on the
sandbox clock) or on logout, and then every call answers BDC_1109 "Session is invalid" - the
vendor's generic error, never a clear "expired" code. Logins are counted per developer key
per clock hour.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.requests import Request

from sandboxes.bill.errors import INVALID_SESSION, BillError
from sandboxes.bill.settings import BillSandboxSettings
from sandboxes.kit import SandboxClock, State

__all__ = ["Session", "Sessions"]


@dataclass
class Session:
    session_id: str
    dev_key: str
    organization_id: str
    user_id: str
    trusted: bool
    last_used: float


class Sessions:
    """Live sessions and the login counter; records (users, keys) live in `State`."""

    def __init__(self, state: State, clock: SandboxClock, settings: BillSandboxSettings) -> None:
        self._state = state
        self._clock = clock
        self._settings = settings
        self._sessions: dict[str, Session] = {}
        self._logins: dict[str, tuple[int, int]] = {}

    def reset(self) -> None:
        self._sessions.clear()
        self._logins.clear()

    def login(self, body: object) -> Session:
        if not isinstance(body, dict):
            raise BillError(400, "BDC_1001", "Request body must be a JSON object.")
        missing = [
            name
            for name in ("username", "password", "organizationId", "devKey")
            if not isinstance(body.get(name), str) or not body[name]
        ]
        if missing:
            raise BillError(400, "BDC_1001", f"{missing[0]}: The {missing[0]} field is required")
        dev_key = body["devKey"]
        if self._state.get("dev_keys", dev_key) is None:
            raise BillError(400, "BDC_1102", "Developer key is invalid.")
        self._count_login(dev_key)
        user = next(
            (
                u
                for u in self._state.records("users")
                if u["username"] == body["username"]
                and u["password"] == body["password"]
                and u["organizationId"] == body["organizationId"]
                and not u.get("archived", False)
            ),
            None,
        )
        if user is None:
            raise BillError(400, "BDC_1101", "Username and/or password do not match.")
        # [I] any rememberMeId + device pair stands for a completed MFA enrolment.
        trusted = bool(body.get("rememberMeId")) and bool(body.get("device"))
        session = Session(
            session_id="!" + secrets.token_urlsafe(24),
            dev_key=dev_key,
            organization_id=user["organizationId"],
            user_id=str(user["id"]),
            trusted=trusted,
            last_used=self._clock.timestamp(),
        )
        self._sessions[session.session_id] = session
        return session

    def _count_login(self, dev_key: str) -> None:
        limit = self._settings.logins_per_hour
        if limit is None:
            return
        hour = int(self._clock.timestamp() // 3600)
        current, count = self._logins.get(dev_key, (hour, 0))
        if current != hour:
            count = 0
        if count >= limit:
            raise BillError(
                self._settings.limit_status,
                "BDC_1144",
                f"Max number of allowed login requests per hour reached: {limit}.",
            )
        self._logins[dev_key] = (hour, count + 1)

    def peek(self, request: Request) -> Session | None:
        """The live session the headers name, without touching its idle timer."""
        session = self._sessions.get(request.headers.get("sessionId", ""))
        if session is None or session.dev_key != request.headers.get("devKey"):
            return None
        if self._clock.timestamp() - session.last_used > self._settings.session_idle_seconds:
            return None
        return session

    def authenticate(self, request: Request) -> Session:
        """The caller's session (its idle timer restarts) or BILL's error for the headers."""
        dev_key = request.headers.get("devKey")
        session_id = request.headers.get("sessionId")
        if not dev_key or not session_id:
            name = "devKey" if not dev_key else "sessionId"
            raise BillError(
                self._settings.missing_header_status, "BDC_1001", f"Missing header: {name}"
            )
        if self._state.get("dev_keys", dev_key) is None:
            raise BillError(
                self._settings.invalid_session_status, "BDC_1102", "Developer key is invalid."
            )
        session = self.peek(request)
        if session is None:
            self._sessions.pop(session_id, None)
            raise BillError(
                self._settings.invalid_session_status,
                "BDC_1109",
                INVALID_SESSION,
                category="DOWNSTREAM",
            )
        session.last_used = self._clock.timestamp()
        return session

    def logout(self, session: Session) -> None:
        self._sessions.pop(session.session_id, None)
