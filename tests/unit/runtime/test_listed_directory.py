"""A listed directory: one listing serves many lookups, our writes keep it current."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.runtime.listed_directory import ListedDirectory


@dataclass(frozen=True)
class Person:
    id: str
    email: str | None


class Vendor:
    """The records a vendor holds, and how many times they were listed."""

    def __init__(self, *people: Person) -> None:
        self.people = list(people)
        self.listings = 0

    async def list_all(self) -> list[Person]:
        self.listings += 1
        return list(self.people)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _directory(clock: Clock) -> ListedDirectory[Person]:
    return ListedDirectory(
        max_age=timedelta(minutes=5), id_of=lambda p: p.id, email_of=lambda p: p.email, clock=clock
    )


async def test_one_listing_serves_every_lookup_of_a_scope_until_it_is_old() -> None:
    clock = Clock()
    vendor = Vendor(Person("1", "Ann@Example.com"), Person("2", "bob@example.com"))
    directory = _directory(clock)
    assert (
        await directory.find("acct", vendor.list_all, email="ann@example.com") == vendor.people[0]
    )
    assert (
        await directory.find("acct", vendor.list_all, email=" BOB@example.com") == vendor.people[1]
    )
    assert await directory.find("acct", vendor.list_all, email="new@example.com") is None
    assert vendor.listings == 1
    clock.now += timedelta(minutes=6)
    await directory.find("acct", vendor.list_all, email="ann@example.com")
    assert vendor.listings == 2
    assert directory.listings_read == 2


async def test_scopes_are_listed_apart() -> None:
    clock = Clock()
    one, other = Vendor(Person("1", "a@x.com")), Vendor(Person("1", "b@x.com"))
    directory = _directory(clock)
    assert await directory.find("one", one.list_all, email="b@x.com") is None
    assert await directory.find("other", other.list_all, email="b@x.com") == other.people[0]


async def test_what_our_writes_made_or_changed_is_found_without_listing_again() -> None:
    clock = Clock()
    vendor = Vendor(Person("1", "old@x.com"))
    directory = _directory(clock)
    await directory.find("acct", vendor.list_all, email="old@x.com")
    directory.remember("acct", Person("2", "hired@x.com"))
    directory.remember("acct", Person("1", "renamed@x.com"))
    assert await directory.find("acct", vendor.list_all, email="hired@x.com") == Person(
        "2", "hired@x.com"
    )
    assert await directory.find("acct", vendor.list_all, email="renamed@x.com") == Person(
        "1", "renamed@x.com"
    )
    assert await directory.find("acct", vendor.list_all, email="old@x.com") is None
    assert vendor.listings == 1


async def test_a_reference_to_a_record_it_does_not_hold_lists_again() -> None:
    clock = Clock()
    vendor = Vendor(Person("1", "a@x.com"))
    directory = _directory(clock)
    await directory.find("acct", vendor.list_all, email="a@x.com")
    vendor.people.append(Person("9", "made-elsewhere@x.com"))
    found = await directory.find("acct", vendor.list_all, email="?", record_id="9")
    assert found == Person("9", "made-elsewhere@x.com")
    assert vendor.listings == 2


async def test_relist_reads_the_vendor_again_whatever_the_age() -> None:
    clock = Clock()
    vendor = Vendor()
    directory = _directory(clock)
    assert await directory.find("acct", vendor.list_all, email="late@x.com") is None
    vendor.people.append(Person("3", "late@x.com"))
    assert await directory.find("acct", vendor.list_all, email="late@x.com", relist=True)
    assert vendor.listings == 2


async def test_remembering_in_a_scope_never_listed_lists_nothing() -> None:
    clock = Clock()
    vendor = Vendor(Person("1", "a@x.com"))
    directory = _directory(clock)
    directory.remember("acct", Person("2", "b@x.com"))
    assert await directory.find("acct", vendor.list_all, email="b@x.com") is None
    assert vendor.listings == 1
