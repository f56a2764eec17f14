"""The default seed: Acme Creative's Zoho Books organizations (EU data centre).

One finance user (home DC: Europe) with two organizations: "Acme Creative Europe Ltd"
(Professional plan, the default) and "Acme Creative Labs" (Free plan, lower limits). A second
user in the US DC owns a third organization, so a foreign `organization_id` can be tried.
The default org holds agency clients and suppliers (customers and vendors), eight employee
contacts already synced from BambooHR (matched by email, one inactive), and reporting tags
"Department" and "Job Title" whose options partly differ from BambooHR's lists, so
alignment has work to do. Everything is deterministic.
"""

from __future__ import annotations

import hashlib

from sandboxes.kit import Record, Seed

__all__ = [
    "DEFAULT_ORG_ID",
    "FOREIGN_ORG_ID",
    "FREE_ORG_ID",
    "OAUTH_CLIENT",
    "build_account",
    "build_seed",
]

DEFAULT_ORG_ID = "20065432101"
FREE_ORG_ID = "20065432102"
FOREIGN_ORG_ID = "70011112101"
OAUTH_CLIENT: Record = {
    "id": "1000.MLCSANDBOX0ZOHO0BOOKS0CLIENT01",
    "client_secret": hashlib.sha256(b"acme-creative zoho client").hexdigest()[:42],
    "redirect_uris": [
        "http://localhost:8080/oauth/zoho/callback",
        "http://127.0.0.1:8080/oauth/zoho/callback",
        "https://sync.example.com/oauth/zoho",
    ],
}

DEPARTMENTS = ("Leadership", "Creative", "Strategy", "Client Services", "Engineering",
               "Operations", "Finance")  # fmt: skip
JOB_TITLES = ("Chief Executive Officer", "Creative Director", "Senior Designer", "Designer",
              "Account Manager", "Software Engineer", "Finance Manager", "Accountant")  # fmt: skip

# first | last | department | designation | status
EMPLOYEES = """
Ava | Nguyen | Leadership | Chief Executive Officer | active
Sofia | Lindqvist | Creative | Creative Director | active
Liam | Walsh | Creative | Designer | active
Mason | Clarke | Client Services | Account Manager | active
Benjamin | Silva | Engineering | Software Engineer | active
Alexander | Novak | Operations | Finance Manager | active
Emily | Chen | Operations | Accountant | active
Henry | Schmidt | Engineering | DevOps Engineer | inactive
"""

# name | type | email | city | country | receivable | payable
BUSINESSES = """
Northwind Retail Group | customer | ap@northwind.example | London | United Kingdom | 12400 | 0
Fabrikam Foods | customer | accounts@fabrikam.example | Manchester | United Kingdom | 0 | 0
Contoso Travel | customer | finance@contoso.example | Dublin | Ireland | 3150.5 | 0
Tailspin Toys | customer | billing@tailspin.example | Berlin | Germany | 0 | 0
Litware Studios | vendor | invoices@litware.example | Amsterdam | Netherlands | 0 | 1800
Adatum Cloud Hosting | vendor | billing@adatum.example | Frankfurt | Germany | 0 | 420
Proseware Print Co | vendor | orders@proseware.example | Leeds | United Kingdom | 0 | 0
"""


def _org(org_id: str, name: str, plan: tuple[int, str], **extra: object) -> Record:
    return {
        "id": org_id,
        "organization_id": org_id,
        "name": name,
        "contact_name": "Alexander Novak",
        "email": "finance@acmecreative.example",
        "is_default_org": False,
        "language_code": "en",
        "fiscal_year_start_month": "4",
        "account_created_date": "2023-04-01",
        "time_zone": "Europe/London",
        "is_dst_active": False,
        "date_format": "dd/MM/yyyy",
        "field_separator": "/",
        "industry_type": "Marketing and Advertising",
        "industry_size": "11-50",
        "company_id_label": "Company Reg. No.",
        "company_id_value": "09876543",
        "tax_id_label": "VAT",
        "tax_id_value": "GB123456789",
        "currency_id": f"{org_id}0000097",
        "currency_code": "GBP",
        "currency_symbol": "£",
        "currency_format": "###,##0.00",
        "currency_name_formatted": "GBP- Pound Sterling",
        "price_precision": 2,
        "plan_type": plan[0],
        "plan_name": plan[1],
        "plan_period": "Month",
        "country_code": "GB",
        "country_name": "U.K",
        "portal_name": name.lower().replace(" ", ""),
        "org_settings": {"is_org_active": True},
        "region": "eu",
        "user_id": "20065432001",
        "payment_terms_id": f"{org_id}0093081",
        "custom_fields": [
            {
                "customfield_id": f"{org_id}0300001",
                "index": 1,
                "label": "Employee ID",
                "api_name": "cf_employee_id",
                "data_type": "string",
            },
            {
                "customfield_id": f"{org_id}0300002",
                "index": 2,
                "label": "Source System",
                "api_name": "cf_source_system",
                "data_type": "string",
            },
        ],
        **extra,
    }


def _tags(org_id: str) -> list[Record]:
    tags: list[Record] = []
    for number, (name, options) in enumerate(
        (("Department", DEPARTMENTS), ("Job Title", JOB_TITLES)), start=1
    ):
        tag_id = f"{org_id}040000{number}"
        tags.append(
            {
                "id": tag_id,
                "tag_id": tag_id,
                "organization_id": org_id,
                "tag_name": name,
                "description": f"{name} (kept in step with BambooHR)",
                "is_active": True,
                "is_mandatory": False,
                "tag_options": [
                    {
                        "tag_option_id": f"{tag_id}{index:03d}",
                        "tag_option_name": option,
                        "is_active": True,
                    }
                    for index, option in enumerate(options, start=1)
                ],
            }
        )
    return tags


def _rows(table: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("|")] for line in table.strip().splitlines()]


def _contacts(org: Record, tags: list[Record]) -> list[Record]:
    department_tag, title_tag = tags
    option_ids = {
        (tag["tag_id"], o["tag_option_name"]): o["tag_option_id"]
        for tag in tags
        for o in tag["tag_options"]
    }
    contacts: list[Record] = []
    next_id = 460815000000000000

    def stamp(day: int) -> dict[str, str]:
        return {
            "created_time": f"2025-{1 + day % 12:02d}-{1 + day % 27:02d}T09:30:00+0000",
            "created_date": f"{1 + day % 27:02d} {('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')[day % 12]} 2025",  # noqa: E501
            "last_modified_time": f"2025-12-{1 + day % 27:02d}T16:00:00+0000",
            "last_modified_date": f"{1 + day % 27:02d} Dec 2025",
        }

    for day, (name, kind, email, city, country, receivable, payable) in enumerate(
        _rows(BUSINESSES)
    ):
        next_id += 1000
        contact_id = str(next_id)
        first, _, last = email.split("@")[0].partition(".")
        contacts.append(
            {
                "id": contact_id, "contact_id": contact_id, "organization_id": org["id"],
                "contact_name": name, "company_name": name, "contact_type": kind,
                "customer_sub_type": "business", "status": "active", "source": "user",
                "outstanding_receivable_amount": float(receivable),
                "outstanding_receivable_amount_bcy": float(receivable),
                "outstanding_payable_amount": float(payable),
                "outstanding_payable_amount_bcy": float(payable),
                "has_transaction": float(receivable) > 0 or float(payable) > 0,
                "billing_address": {"city": city, "country": country},
                "contact_persons": [
                    {"contact_person_id": str(next_id - 500), "first_name": first.title(),
                     "last_name": "Accounts", "email": email, "is_primary_contact": True},
                ],
                "custom_fields": [], "tags": [], **stamp(day),
            }
        )  # fmt: skip
    for day, (first, last, department, title, status) in enumerate(_rows(EMPLOYEES), start=20):
        next_id += 1000
        contact_id = str(next_id)
        email = f"{first}.{last}".lower() + "@acmecreative.example"
        employee_tags = [
            {
                "tag_id": department_tag["tag_id"],
                "tag_option_id": option_ids[(department_tag["tag_id"], department)],
            }
        ]
        if (title_tag["tag_id"], title) in option_ids:
            employee_tags.append(
                {
                    "tag_id": title_tag["tag_id"],
                    "tag_option_id": option_ids[(title_tag["tag_id"], title)],
                }
            )
        contacts.append(
            {
                "id": contact_id, "contact_id": contact_id, "organization_id": org["id"],
                "contact_name": f"{first} {last}", "company_name": "Acme Creative",
                "contact_type": "vendor", "customer_sub_type": "individual", "status": status,
                "source": "api", "notes": "Employee (synced from BambooHR)",
                "contact_persons": [
                    {"contact_person_id": str(next_id - 500), "first_name": first,
                     "last_name": last, "email": email, "designation": title,
                     "department": department, "is_primary_contact": True},
                ],
                "custom_fields": [
                    {**org["custom_fields"][0], "value": f"E-{day:03d}"},
                    {**org["custom_fields"][1], "value": "BambooHR"},
                ],
                "tags": employee_tags, **stamp(day),
            }
        )  # fmt: skip
    return contacts


def build_account() -> Seed:
    """The account itself (users, the OAuth client, organizations): present even when empty."""
    seed = build_seed()
    return {name: seed[name] for name in ("oauth_clients", "users", "organizations")}


def build_seed() -> Seed:
    default = _org(DEFAULT_ORG_ID, "Acme Creative Europe Ltd", (3, "Professional"),
                   is_default_org=True)  # fmt: skip
    free = _org(FREE_ORG_ID, "Acme Creative Labs", (0, "Free"))
    foreign = _org(
        FOREIGN_ORG_ID, "Other Company Inc", (1, "Standard"), region="us",
        user_id="70011112001", time_zone="America/New_York", currency_code="USD",
        currency_symbol="$", currency_name_formatted="USD- United States Dollar",
        country_code="US", country_name="U.S.A", is_default_org=True,
    )  # fmt: skip
    tags = _tags(DEFAULT_ORG_ID)
    return {
        "oauth_clients": [OAUTH_CLIENT],
        "users": [
            {
                "id": "20065432001",
                "email": "finance@acmecreative.example",
                "name": "Alexander Novak",
                "region": "eu",
                "organization_ids": [DEFAULT_ORG_ID, FREE_ORG_ID],
            },
            {
                "id": "70011112001",
                "email": "owner@otherco.example",
                "name": "Other Owner",
                "region": "us",
                "organization_ids": [FOREIGN_ORG_ID],
            },
        ],
        "organizations": [default, free, foreign],
        "reporting_tags": tags,
        "contacts": _contacts(default, tags),
        "webhooks": [],
    }
