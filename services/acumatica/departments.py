"""Departments first: the Acumatica department a name becomes, created before its employees.

For one link and one department name (``mapping.department_name``), under a lease per
(link, name) so replicas and concurrent employees create it once:

1. the link's mapping (kind :data:`DEPARTMENT`, name key -> code) says which code the name
   got before: done, no call;
2. else Acumatica's departments are read once: one whose description is the name (trimmed,
   any case) is adopted with its code (someone made it by hand, or we did before a crash
   lost the mapping);
3. else the code is the operator's (link option ``department_codes``) or derived from the
   name, unique among the codes Acumatica has and the link has given
   (``mapping.derived_code``), and the department is created (``PUT .../Department`` on the
   extension endpoint).

The code is recorded in the same step, so an employee of that department is written right
after it exists, in the same attempt: nobody waits, nothing is retried for it.

A rename (:meth:`Departments.renamed`) keeps the code and changes the description: the
new name is recorded to the old code, and so is the old name, so a late employee event that
still says the old name lands on the same department.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from services.acumatica.client import AcumaticaClient
from services.acumatica.mapping import (
    MappingError,
    department_body,
    derived_code,
    operator_code,
    unwrap,
)
from services.runtime.leasing import held_lease
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

__all__ = ["DEPARTMENT", "Departments"]

DEPARTMENT: Final = "acumatica.department"
"""Mapping kind: department name key (trimmed, case folded) -> its Acumatica code."""


def _key(name: str) -> str:
    return name.strip().casefold()


class Departments:
    """Finds or creates the department of a name, once per (link, name)."""

    def __init__(self, *, store: StateStore, holder: str, lease_ttl: timedelta) -> None:
        self._store = store
        self._holder = holder
        self._lease_ttl = lease_ttl

    async def code(
        self,
        link: LinkRecord,
        name: str,
        client: AcumaticaClient,
        operations: list[str],
        *,
        execute: bool = True,
    ) -> str:
        """The code of ``name``'s department, created when Acumatica has none.

        ``operations`` gets ``create_department`` or ``adopt_department`` when one happened.
        Without ``execute`` (a preview) the same decision is made and named, and nothing is
        written to Acumatica or the store.
        """
        key = _key(name)
        async with self._store.transaction() as repos:
            known = await repos.mappings.get(link.id, DEPARTMENT, key)
        if known is not None:
            return known
        if not execute:
            return await self._code_held(link, name, key, client, operations, execute=False)
        lease = f"acumatica-department:{link.id}:{key}"[:250]
        ttl = self._lease_ttl
        async with held_lease(self._store, lease, self._holder, ttl=ttl, wait=ttl):
            return await self._code_held(link, name, key, client, operations)

    async def renamed(
        self,
        link: LinkRecord,
        previous: str,
        name: str,
        client: AcumaticaClient,
        operations: list[str],
        *,
        execute: bool = True,
    ) -> str:
        """The code of ``previous``'s department, now described as ``name``.

        A ``previous`` the link never gave a code is no rename to follow: ``name`` is found
        or created as any name is (:meth:`code`). ``execute`` as in :meth:`code`.
        """
        key = _key(name)
        if not execute:
            return await self._renamed_held(
                link, previous, name, client=client, operations=operations, execute=False
            )
        lease = f"acumatica-department:{link.id}:{key}"[:250]
        ttl = self._lease_ttl
        async with held_lease(self._store, lease, self._holder, ttl=ttl, wait=ttl):
            return await self._renamed_held(
                link, previous, name, client=client, operations=operations, execute=True
            )

    async def _renamed_held(
        self,
        link: LinkRecord,
        previous: str,
        name: str,
        *,
        client: AcumaticaClient,
        operations: list[str],
        execute: bool,
    ) -> str:
        key, old_key = _key(name), _key(previous)
        async with self._store.transaction() as repos:
            known = await repos.mappings.get(link.id, DEPARTMENT, key)
            old = await repos.mappings.get(link.id, DEPARTMENT, old_key)
        if known is not None or old is None or key == old_key:
            return known or await self._code_held(
                link, name, key, client, operations, execute=execute
            )
        operations.append("rename_department")
        if execute:
            await client.put_department(department_body(old, name))
            async with self._store.transaction() as repos:
                await repos.mappings.put(link.id, DEPARTMENT, key, old)
        return old

    async def _code_held(
        self,
        link: LinkRecord,
        name: str,
        key: str,
        client: AcumaticaClient,
        operations: list[str],
        *,
        execute: bool = True,
    ) -> str:
        async with self._store.transaction() as repos:
            known = await repos.mappings.get(link.id, DEPARTMENT, key)
            given = await repos.mappings.list(link.id, kind=DEPARTMENT)
        if known is not None:  # another replica made it while we waited
            return known
        existing = {
            str(unwrap(d.get("DepartmentID"))): _key(str(unwrap(d.get("Description")) or ""))
            for d in await client.departments()
        }
        adopted = next((code for code, holder in existing.items() if holder == key), None)
        if adopted is not None:
            code = adopted
            operations.append("adopt_department")
        else:
            taken = {**existing, **{m.target_value: m.source_value for m in given}}
            code = operator_code(link.options, name) or derived_code(name, taken)
            if taken.get(code, key) != key:
                msg = (
                    f"the code set for department {name!r}, {code}, is another department's "
                    f"({taken[code]!r}) in Acumatica: choose another in department_codes"
                )
                raise MappingError(msg)
            operations.append("create_department")
            if execute:
                await client.put_department(department_body(code, name))
        if execute:
            async with self._store.transaction() as repos:
                await repos.mappings.put(link.id, DEPARTMENT, key, code)
        return code
