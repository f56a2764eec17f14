"""How a vendor folder declares the credential fields a connection to it needs.

Each vendor says which fields an operator supplies and which of them are secret;
the operator API stores secret fields encrypted in the vault and the rest as
plain connection settings. The runtime kit only knows the shape, never a vendor.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CredentialField", "CredentialSpec"]


@dataclass(frozen=True, slots=True)
class CredentialField:
    """One value an operator supplies when connecting an account."""

    name: str
    secret: bool
    description: str = ""
    required: bool = True


@dataclass(frozen=True, slots=True)
class CredentialSpec:
    """The fields a vendor's non-OAuth connection needs, under a style name."""

    vendor: str
    style: str
    fields: tuple[CredentialField, ...]

    @property
    def secret_names(self) -> frozenset[str]:
        return frozenset(field.name for field in self.fields if field.secret)
