"""The default seed: "Acme Creative", the agency of the BambooHR seed, as a FreshBooks account.

The owner (Ava Nguyen) and eight staff with team members (one still invited, one removed),
FreshBooks' default expense-category tree, a chart of accounts, five bill vendors, four
bills (one part paid, one paid) and a few expenses. Deterministic: the same on every start.
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import Any

from sandboxes.freshbooks.ledger import ledger_account
from sandboxes.freshbooks.payables import bill_line
from sandboxes.freshbooks.team import team_member_record
from sandboxes.freshbooks.timefmt import money
from sandboxes.kit import Record, Seed

__all__ = [
    "ACCOUNT_ID",
    "BUSINESS_ID",
    "BUSINESS_UUID",
    "CLIENT_ONLY_BUSINESS_ID",
    "IDENTITY_ID",
    "OAUTH_CLIENT",
    "build_seed",
]

ACCOUNT_ID = "aC3mE7"
BUSINESS_ID = 77001
BUSINESS_UUID = "5d0f3a8e-6c1b-4f7e-9a35-0c2d8e4b7a11"
CLIENT_ONLY_BUSINESS_ID = 77002
IDENTITY_ID = 90210
MEMBERSHIP_ID = 140130
OAUTH_CLIENT: Record = {
    "id": "mlc-freshbooks",
    "client_secret": hashlib.sha256(b"acme-creative freshbooks app").hexdigest()[:40],
    "redirect_uris": [
        "http://localhost:8080/oauth/freshbooks/callback",
        "http://127.0.0.1:8080/oauth/freshbooks/callback",
        "https://sync.example.com/oauth/freshbooks",
    ],
}
_NAMESPACE = uuid.UUID("0b5e7c1a-2f43-4d8e-8a61-3c9d2e7f5b40")
CREATED = "2026-01-05 09:00:00"


def _uuid(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def _businesses() -> list[Record]:
    return [
        {
            "id": BUSINESS_ID,
            "business_uuid": BUSINESS_UUID,
            "name": "Acme Creative",
            "account_id": ACCOUNT_ID,
            "date_format": "mm/dd/yyyy",
            "address": {
                "id": 76433,
                "street": "120 Hudson St",
                "city": "New York",
                "province": "New York",
                "country": "United States",
                "postal_code": "10013",
            },
            "phone_number": {"id": 666111, "phone_number": "212-555-0142"},
            "business_clients": [],
            "number_format": None,
            "first_day_of_week": 0,
            "active": True,
            "timezone": "America/New_York",
            "status": "active",
            "advanced_accounting_enabled": False,
            "industry": "Advertising and marketing",
            "billing_country_code": "USA",
            "business_type": None,
            "_currency": "USD",
        },
        {
            # A membership with no account_id: a client role, no accounting access.
            "id": CLIENT_ONLY_BUSINESS_ID,
            "business_uuid": _uuid("northwind"),
            "name": "Northwind Studio",
            "account_id": None,
            "date_format": "dd/mm/yyyy",
            "address": None,
            "phone_number": None,
            "business_clients": [],
            "number_format": None,
            "first_day_of_week": 1,
            "active": True,
            "timezone": "Europe/London",
            "status": "active",
            "advanced_accounting_enabled": False,
            "industry": None,
            "billing_country_code": "GBR",
            "business_type": None,
        },
    ]


def _identities() -> list[Record]:
    return [
        {
            "id": IDENTITY_ID,
            "identity_uuid": _uuid("ava.nguyen"),
            "first_name": "Ava",
            "last_name": "Nguyen",
            "email": "ava.nguyen@acmecreative.example",
            "language": "en",
            "confirmed_at": "2016-02-01T14:05:00Z",
            "created_at": "2016-02-01T14:00:00Z",
            "_memberships": [
                {"id": MEMBERSHIP_ID, "role": "owner", "business_id": BUSINESS_ID},
                {"id": 140131, "role": "client", "business_id": CLIENT_ONLY_BUSINESS_ID},
            ],
            "_roles": [
                {
                    "id": 61270,
                    "role": "admin",
                    "systemid": 654654,
                    "userid": 1,
                    "accountid": ACCOUNT_ID,
                    "created_at": "2016-02-01T14:00:00Z",
                }
            ],
        }
    ]


# first | last | job title | team state (owner, accepted, invited, removed)
PEOPLE = (
    ("Ava", "Nguyen", "Chief Executive Officer", "owner"),
    ("Marcus", "Reed", "Director of People", "accepted"),
    ("Sofia", "Lindqvist", "Creative Director", "accepted"),
    ("Daniel", "Okafor", "Head of Strategy", "accepted"),
    ("Priya", "Raman", "Client Services Director", "accepted"),
    ("Tom", "Becker", "Engineering Manager", "accepted"),
    ("Grace", "Holloway", "Operations Manager", "accepted"),
    ("Liam", "Walsh", "Senior Designer", "accepted"),
    ("Ryan", "Mitchell", "Producer", "removed"),
    ("Olivia", "Brennan", "Art Director", "invited"),
)


def _people() -> tuple[list[Record], list[Record]]:
    staff: list[Record] = []
    members: list[Record] = []
    for number, (first, last, title, team_state) in enumerate(PEOPLE, start=1):
        email = f"{first}.{last}".lower() + "@acmecreative.example"
        staff_id: int | None = None
        if team_state != "invited":
            staff_id = number
            staff.append(
                {
                    "id": staff_id,
                    "userid": staff_id,
                    "fname": first,
                    "lname": last,
                    "email": email,
                    "display_name": f"{first} {last}",
                    "username": f"{first}.{last}".lower(),
                    "organization": "Acme Creative",
                    "level": 0 if team_state == "owner" else 1,
                    "role": "admin" if team_state == "owner" else "staff",
                    "rate": None,
                    "vis_state": 1 if team_state == "removed" else 0,
                    "signup_date": CREATED,
                    "updated": "2026-03-28 17:30:00" if team_state == "removed" else CREATED,
                }
            )
        accepted = team_state != "invited"
        member = team_member_record(
            {
                "first_name": first,
                "last_name": last,
                "email": email,
                "job_title": title,
                "country": "United States",
                "business_role_name": "owner" if team_state == "owner" else "employee",
                "active": team_state != "removed",
                "identity_id": (IDENTITY_ID if team_state == "owner" else 500000 + number)
                if accepted
                else None,
                "invitation_date_accepted": "2026-01-06T15:00:00Z" if accepted else None,
            },
            business_id=BUSINESS_ID,
            now="2026-01-05T14:00:00Z",
            member_uuid=_uuid(email),
        )
        member["_staffid"] = staff_id
        members.append(member)
    return staff, members


# id | name | parent id | is_cogs  (FreshBooks' default tree, as the recordings show it)
CATEGORY_TABLE = """
3001 | Advertising | - | n
3002 | Car & Truck Expenses | - | n
3003 | Contractors | - | n
3004 | Education and Training | - | n
3005 | Employee Benefits | - | n
3006 | Accident Insurance | 3005 | n
3007 | Meals and Entertainment | - | n
3008 | Entertainment | 3007 | n
3009 | Restaurants/Dining | 3007 | n
3010 | Office Expenses & Postage | - | n
3011 | Hardware | 3010 | n
3012 | Office Supplies | 3010 | n
3013 | Postage | 3010 | n
3014 | Software | 3010 | n
3015 | Other Expenses | - | n
3016 | Bank Fees | 3015 | n
3017 | Business Insurance | 3015 | n
3018 | Commissions | 3015 | n
3019 | Professional Services | - | n
3020 | Accounting | 3019 | n
3021 | Legal Fees | 3019 | n
3022 | Rent or Lease | - | n
3023 | Equipment | 3022 | n
3024 | Office Space | 3022 | n
3025 | Travel | - | n
3026 | Airfare | 3025 | n
3027 | Hotel/Lodging/Accommodation | 3025 | n
3028 | Taxi & Parking | 3025 | n
3029 | Utilities | - | n
3030 | Internet | 3029 | n
3031 | Telephone | 3029 | n
3032 | Cost of Goods Sold | - | y
3033 | Cost of Billed Expenses | 3032 | y
"""


def _categories() -> list[Record]:
    records = []
    for row in CATEGORY_TABLE.strip().splitlines():
        number, name, parent, cogs = (cell.strip() for cell in row.split("|"))
        records.append(
            {
                "id": int(number),
                "categoryid": int(number),
                "category": name,
                "parentid": None if parent == "-" else int(parent),
                "is_cogs": cogs == "y",
                "is_editable": False,
                "vis_state": 0,
                "transaction_posted": False,
                "created_at": CREATED,
                "updated_at": CREATED,
            }
        )
    return records


# number | name | type | sub_type | parent number
LEDGER_TABLE = """
1000 | Cash | asset | Cash & Bank | -
1010 | Petty Cash | asset | Cash & Bank | 1000
1200 | Accounts Receivable | asset | Accounts Receivable | -
2000 | Accounts Payable | liability | Accounts Payable | -
2100 | Credit Card | liability | Credit Card | -
3000 | Owner's Equity | equity | Owner's Equity | -
4000 | Sales | income | Income | -
5000 | Operating Expenses | expense | Operating Expense | -
5010 | Advertising | expense | Operating Expense | 5000
5020 | Contractors | expense | Operating Expense | 5000
5030 | Office Expenses | expense | Operating Expense | 5000
5031 | Software | expense | Operating Expense | 5030
5032 | Hardware | expense | Operating Expense | 5030
5040 | Travel | expense | Operating Expense | 5000
5050 | Meals and Entertainment | expense | Operating Expense | 5000
5060 | Rent or Lease | expense | Operating Expense | 5000
5070 | Utilities | expense | Operating Expense | 5000
5080 | Professional Services | expense | Operating Expense | 5000
5900 | Cost of Goods Sold | expense | Cost of Goods Sold | -
6110 | Airfare | expense | Operating Expense | 5040
6120 | Hotel/Lodging/Accommodation | expense | Operating Expense | 5040
6130 | Taxi & Parking | expense | Operating Expense | 5040
6200 | Restaurants/Dining | expense | Operating Expense | 5050
6400 | Office Supplies | expense | Operating Expense | 5030
6600 | Internet | expense | Operating Expense | 5070
6700 | Education and Training | expense | Operating Expense | 5000
"""
# The 6xxx accounts: the bookkeeper numbered the travel and office accounts with the GL codes
# of the Expensify categories (sandboxes/expensify/seed.py), each named as the FreshBooks
# expense category it books to; Software & Subscriptions (6300) and Client Gifts (6250) have
# no numbered account, so flow expenses needs a mapping (or a review) for them.


def _ledger() -> list[Record]:
    records = []
    for row in LEDGER_TABLE.strip().splitlines():
        number, name, kind, sub_type, parent = (cell.strip() for cell in row.split("|"))
        records.append(
            ledger_account(
                account_uuid=_uuid(f"ledger {number}"),
                name=name,
                number=number,
                account_type=kind,
                sub_type=sub_type,
                parent=None if parent == "-" else _uuid(f"ledger {parent}"),
                now="2026-01-05T14:00:00.000000Z",
                system=parent == "-",
            )
        )
    return records


def _vendor(vendor_id: int, name: str, email: str, **extra: object) -> Record:
    return {
        "id": vendor_id,
        "vendorid": vendor_id,
        "vendor_name": name,
        "primary_contact_email": email,
        "primary_contact_first_name": None,
        "primary_contact_last_name": None,
        "account_number": extra.get("account_number"),
        "currency_code": "USD",
        "language": "en",
        "is_1099": extra.get("is_1099", False),
        "phone": None,
        "website": extra.get("website"),
        "street": None,
        "street2": None,
        "city": extra.get("city"),
        "province": None,
        "postal_code": None,
        "country": "United States",
        "note": None,
        "tax_defaults": [],
        "outstanding_balance": [],
        "overdue_balance": [],
        "vis_state": 0,
        "created_at": "2026-01-10 15:00:00",
        "updated_at": "2026-01-10 15:00:00",
    }


def _vendors() -> list[Record]:
    return [
        _vendor(101, "Adobe Inc.", "billing@adobe.example", website="https://adobe.example"),
        _vendor(102, "WeWork Hudson Square", "ar@wework.example", city="New York"),
        _vendor(103, "Dell Technologies", "invoices@dell.example", account_number="DL-55120"),
        _vendor(104, "Studio Lights Rental Co", "hello@studiolights.example", is_1099=True),
        _vendor(105, "Harbor Legal LLP", "accounts@harborlegal.example"),
    ]


BillLine = tuple[int, str, str, str, str | None]  # category, description, qty, unit cost, tax %
# bill id | vendor | number | issue date | due days | lines
BILLS: tuple[tuple[int, int, str, str, int, tuple[BillLine, ...]], ...] = (
    (201, 101, "ADB-2026-031", "2026-03-01", 30,
     ((3014, "Creative Cloud, 12 seats", "12", "54.99", None),)),
    (202, 102, "WW-7781", "2026-03-01", 15,
     ((3024, "Office space, March", "1", "4000.00", None),)),
    (203, 103, "DL-90412", "2026-03-05", 45,
     ((3011, "Precision 5690 laptops", "2", "1249.00", "8.875"),)),
    (204, 104, "SLR-118", "2026-02-20", 14, (
        (3023, "Lighting kit, 3 days", "3", "350.00", None),
        (3028, "Delivery and pickup", "1", "120.00", None),
    )),
)  # fmt: skip
PAYMENTS = (
    (301, 202, "2000.00", "Bank Transfer", "2026-03-10", "BILL pmt 0x1a"),
    (302, 204, "1170.00", "ACH", "2026-03-02", "BILL pmt 0x1b"),
)


def _bills(categories: dict[int, Record]) -> list[Record]:
    records = []
    for bill_id, vendor_id, number, issued, due_days, lines in BILLS:
        computed = []
        for index, (category_id, description, quantity, cost, tax) in enumerate(lines):
            line: dict[str, Any] = {"description": description}
            if tax is not None:
                line.update({"tax_name1": "NY Sales Tax", "tax_percent1": tax})
            computed.append(
                bill_line(
                    index,
                    line,
                    category=categories[category_id],
                    unit_cost=Decimal(cost),
                    quantity=Decimal(quantity),
                    cost_code="USD",
                    code="USD",
                )
            )
        records.append(
            {
                "id": bill_id,
                "vendorid": vendor_id,
                "bill_number": number,
                "issue_date": issued,
                "due_offset_days": due_days,
                "currency_code": "USD",
                "language": "en",
                "overall_category": None,
                "overall_description": None,
                "attachment": None,
                "lines": computed,
                "vis_state": 0,
                "created_at": f"{issued} 16:00:00",
                "updated_at": f"{issued} 16:00:00",
            }
        )
    return records


def _payments() -> list[Record]:
    return [
        {
            "id": payment_id,
            "billid": bill_id,
            "amount": money(Decimal(amount), "USD"),
            "payment_type": kind,
            "paid_date": paid,
            "note": note,
            "matched_with_expense": False,
            "vis_state": 0,
        }
        for payment_id, bill_id, amount, kind, paid, note in PAYMENTS
    ]


# id | staff | category | amount | date | vendor | notes
EXPENSES = (
    (401, 1, 3026, "412.60", "2026-02-11", "Delta Air Lines", "Client pitch, Chicago"),
    (402, 3, 3009, "86.40", "2026-02-12", "Balthazar", "Team lunch, Creative"),
    (403, 8, 3014, "19.99", "2026-02-15", "Figma", "Plugin licence"),
    (404, 5, 3028, "34.75", "2026-02-18", "Lyft", "Client visit, Brooklyn"),
    (405, 7, 3012, "128.30", "2026-02-20", "Staples", "Printer paper and toner"),
    (406, 4, 3027, "689.00", "2026-03-02", "The Hoxton", "Workshop, London, 3 nights"),
)


def _expenses() -> list[Record]:
    records = []
    for expense_id, staff_id, category_id, amount, day, vendor, notes in EXPENSES:
        records.append(
            {
                "id": expense_id,
                "expenseid": expense_id,
                "accounting_systemid": ACCOUNT_ID,
                "amount": money(Decimal(amount), "USD"),
                "categoryid": category_id,
                "staffid": staff_id,
                "clientid": 0,
                "projectid": 0,
                "date": day,
                "vendor": vendor,
                "notes": notes,
                "status": 0,
                "vis_state": 0,
                "has_receipt": False,
                "billable": False,
                "markup_percent": "0",
                "invoiceid": None,
                "transactionid": None,
                "accountid": None,
                "account_name": "",
                "bank_name": "",
                "isduplicate": False,
                "compounded_tax": False,
                "ext_systemid": 0,
                "profileid": None,
                "include_receipt": False,
                "is_cogs": False,
                "bill_matches": [],
                "background_jobid": None,
                "converse_projectid": None,
                "modern_projectid": None,
                "ext_accountid": None,
                "ext_invoiceid": 0,
                "from_bulk_import": False,
                "potential_bill_payment": False,
                "taxName1": None,
                "taxPercent1": None,
                "taxAmount1": None,
                "taxName2": None,
                "taxPercent2": None,
                "taxAmount2": None,
                "updated": f"{day} 18:00:00",
                "version": f"{day} 18:00:00.000000",
            }
        )
    return records


def build_seed() -> Seed:
    categories = _categories()
    staff, members = _people()
    return {
        "oauth_clients": [dict(OAUTH_CLIENT)],
        "businesses": _businesses(),
        "identities": _identities(),
        "staff": staff,
        "team_members": members,
        "categories": categories,
        "ledger_accounts": _ledger(),
        "bill_vendors": _vendors(),
        "bills": _bills({c["id"]: c for c in categories}),
        "bill_payments": _payments(),
        "expenses": _expenses(),
        "callbacks": [],
    }
