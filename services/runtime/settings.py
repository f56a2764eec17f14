"""Runtime settings shared by every service (pydantic-settings, prefix ``MLC_``).

One home for configuration: each field below is one environment variable,
listed in the README's configuration table. Defaults work on a laptop; what
has no safe default (the vault's master keys) fails with the variable's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar, overload

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["RuntimeSettings", "SettingsError", "load_settings"]

S = TypeVar("S", bound=BaseSettings)

ENV_PREFIX = "MLC_"


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names the variable."""


class RuntimeSettings(BaseSettings):
    """Settings every service reads."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    service_name: str = Field(
        default="mlc", description="Name used in logs, group ids and dlq.<service>."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info")
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("MLC_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
        description="Kafka bootstrap servers, comma separated.",
    )
    database_url: str = Field(
        default="sqlite+aiosqlite:///.run/state.db",
        description="SQLAlchemy async URL of the state store (SQLite or PostgreSQL).",
    )
    master_keys: SecretStr | None = Field(
        default=None,
        description="Vault key ring: 'kid:base64key[,kid:base64key...]'; the first key encrypts.",
    )
    master_keys_file: Path | None = Field(
        default=None, description="A file holding the key ring instead (a mounted secret)."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8080", description="Public base URL of the ingest service."
    )
    operator_token: SecretStr | None = Field(
        default=None, description="Bearer token that protects the operator API."
    )
    handler_max_attempts: int = Field(
        default=5, ge=1, description="Deliveries of one message before it goes to dlq.<service>."
    )
    replay_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often a service looks for replay parts to run."
    )
    replay_hold_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "How long a replay part stays with a replica that stopped saving progress "
            "(a crash) before another takes it over."
        ),
    )

    health_kafka_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How long /healthz and /readyz wait for Kafka to answer before not ready.",
    )
    ops_host: str = Field(
        default="127.0.0.1",
        description="Address of the ops port (/metrics, /livez, /readyz); 0.0.0.0 in containers.",
    )
    ops_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="The ops port; 0 takes any free port (logged as ops.listening).",
    )
    memory_return_seconds: float = Field(
        default=30.0,
        ge=0,
        description=(
            "How often the process hands the memory it freed back to the node (glibc's "
            "malloc_trim), so a backlog's peak does not stay resident; 0 never does."
        ),
    )
    consumer_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Consumers each subscriber runs in this process, each taking its share of the "
            "topic's partitions (as replicas do): different partitions are handled at once, "
            "one partition's messages still in order. Above the partition count they idle."
        ),
    )
    consumer_batch: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description=(
            "Records a batch subscriber (the people sinks, the BambooHR source) takes from "
            "Kafka at once, commits once when all are handled; 1 takes them one at a time."
        ),
    )
    consumer_lanes: int = Field(
        default=16,
        ge=1,
        le=256,
        description=(
            "Records of different keys a batch subscriber handles at once within a batch "
            "(one record's events always in order)."
        ),
    )
    shared_budgets: bool = Field(
        default=True,
        description=(
            "Count each vendor connection's request window in the state store, across every "
            "replica; false counts per process (one replica per vendor service only)."
        ),
    )
    liveness_stall_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long the event loop may go without running before /livez says 503.",
    )

    def require_master_keys(self) -> str:
        """The vault key ring text, or a SettingsError naming the variables to set."""
        if self.master_keys is not None:
            return self.master_keys.get_secret_value()
        if self.master_keys_file is not None:
            try:
                return self.master_keys_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                msg = (
                    f"{ENV_PREFIX}MASTER_KEYS_FILE={self.master_keys_file} "
                    f"cannot be read: {exc.strerror}"
                )
                raise SettingsError(msg) from None
        msg = (
            f"{ENV_PREFIX}MASTER_KEYS is not set (nor {ENV_PREFIX}MASTER_KEYS_FILE): "
            "the vault needs a key ring; create one with `mlc vault new-key`"
        )
        raise SettingsError(msg)


@overload
def load_settings() -> RuntimeSettings: ...


@overload
def load_settings(cls: type[S]) -> S: ...


def load_settings(cls: type[BaseSettings] = RuntimeSettings) -> BaseSettings:
    """Read settings from the environment; a bad value raises SettingsError naming its variable."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = "; ".join(
            f"{prefix}{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
