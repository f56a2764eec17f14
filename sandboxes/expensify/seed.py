"""The default seed: Acme Creative's Expensify, for the demo's expenses flow.

One API credential pair (Grace Holloway, Operations, admin of both workspaces), a US and a
Europe workspace with categories carrying GL codes, department tags (flat in the US,
per level in Europe), 15 members with approvers, three corporate cards, and reports in every
state: draft, processing, approved (with card transactions, a foreign-currency expense, an
edited merchant and amount, a refund and a backslash-escaped colon in a tag), approved and
already exported with our label, reimbursed and closed. Names match the BambooHR seed.
"""

from __future__ import annotations

from typing import Any

from sandboxes.kit import Record, Seed

__all__ = ["API_USER_EMAIL", "EXPORT_LABEL", "PARTNER_USER_ID", "PARTNER_USER_SECRET",
           "POLICY_EU", "POLICY_US", "build_seed"]  # fmt: skip

DOMAIN = "acmecreative.example"
PARTNER_USER_ID = "aa_grace_holloway_acmecreative_example"
PARTNER_USER_SECRET = "5f0c7d1e9a8b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"
API_USER_EMAIL = f"grace.holloway@{DOMAIN}"
POLICY_US = "A1C3E5F7092B4D6E"
POLICY_EU = "B7D9F1A3C5E70812"
EXPORT_LABEL = "ml-connector"

# name | GL code | payroll code | enabled
CATEGORIES = (
    ("Airfare", "6110", "", True),
    ("Lodging", "6120", "", True),
    ("Ground Transportation", "6130", "", True),
    ("Mileage", "6140", "MIL", True),
    ("Meals & Entertainment", "6200", "", True),
    ("Client Gifts", "6250", "", True),
    ("Software & Subscriptions", "6300", "", True),
    ("Office Supplies", "6400", "", True),
    ("Phone & Internet", "6600", "", True),
    ("Training", "6700", "", True),
    ("Other", "", "", False),
)
DEPARTMENT_GL = {
    "Leadership": "100", "Creative": "200", "Strategy": "300", "Client Services": "400",
    "Engineering": "500", "Operations": "600", "People": "700",
}  # fmt: skip
# first | last | department | policy | role | approver (first name) | BambooHR id
PEOPLE = (
    ("Ava", "Nguyen", "Leadership", POLICY_US, "admin", "Ava", 101),
    ("Marcus", "Reed", "People", POLICY_US, "user", "Ava", 102),
    ("Sofia", "Lindqvist", "Creative", POLICY_EU, "admin", "Ava", 103),
    ("Daniel", "Okafor", "Strategy", POLICY_US, "user", "Ava", 104),
    ("Priya", "Raman", "Client Services", POLICY_US, "user", "Ava", 105),
    ("Tom", "Becker", "Engineering", POLICY_EU, "user", "Sofia", 106),
    ("Grace", "Holloway", "Operations", POLICY_US, "admin", "Ava", 107),
    ("Liam", "Walsh", "Creative", POLICY_EU, "user", "Sofia", 108),
    ("Hannah", "Kim", "Creative", POLICY_US, "user", "Daniel", 109),
    ("Mateo", "Alvarez", "Engineering", POLICY_US, "user", "Grace", 110),
    ("Chloe", "Martin", "Client Services", POLICY_US, "user", "Priya", 111),
    ("Noah", "Fischer", "Engineering", POLICY_EU, "user", "Tom", 112),
    ("Isabel", "Costa", "Strategy", POLICY_US, "auditor", "Daniel", 113),
    ("Ethan", "Brooks", "Client Services", POLICY_US, "user", "Priya", 114),
    ("Zara", "Ahmed", "Creative", POLICY_EU, "user", "Sofia", 115),
)


def email(first: str) -> str:
    person = next(p for p in PEOPLE if p[0] == first)
    return f"{person[0]}.{person[1]}@{DOMAIN}".lower()


def _policies() -> list[Record]:
    common: dict[str, Any] = {"type": "corporate", "owner": email("Ava"),
                              "approvalMode": "ADVANCED", "ownerAccountID": 18_400_101}  # fmt: skip
    return [
        {**common, "id": POLICY_US, "name": "Acme Creative US", "outputCurrency": "USD",
         "created": "2021-04-06 15:02:11", "tagShape": "flat", "tagLevels": ["Department"],
         "reportFields": [{"name": "title", "type": "formula", "values": []},
                          {"name": "Client", "type": "dropdown",
                           "values": ["Globex", "Initech", "Umbrella Health", "Internal"]}],
         "tax": {}},
        {**common, "id": POLICY_EU, "name": "Acme Creative Europe", "outputCurrency": "GBP",
         "created": "2022-01-10 09:30:00", "tagShape": "levels",
         "tagLevels": ["Department", "Project"],
         "reportFields": [{"name": "title", "type": "formula", "values": []}],
         "tax": {"name": "VAT", "default": "2",
                 "rates": [{"rateID": "2", "name": "Standard", "rate": 20},
                           {"rateID": "9", "name": "Reduced", "rate": 5},
                           {"rateID": "5", "name": "Zero-rated", "rate": 0}]}},
    ]  # fmt: skip


def _categories() -> list[Record]:
    return [
        {"policyID": policy, "name": name, "enabled": enabled, "glCode": gl,
         "payrollCode": payroll, "areCommentsRequired": name == "Client Gifts"}
        for policy in (POLICY_US, POLICY_EU)
        for name, gl, payroll, enabled in CATEGORIES
    ]  # fmt: skip


def _tags() -> list[Record]:
    tags: list[Record] = []
    for department, gl in DEPARTMENT_GL.items():
        tags.append({"policyID": POLICY_US, "level": "Department", "name": department,
                     "enabled": department != "People", "glCode": gl})  # fmt: skip
        tags.append({"policyID": POLICY_EU, "level": "Department", "name": department,
                     "enabled": True, "glCode": f"EU{gl}"})  # fmt: skip
    # Flat multi-level names: levels joined by ':'; a literal colon is escaped (sheet 5).
    tags.append({"policyID": POLICY_US, "level": "Department", "name": "Client Services:Retainers",
                 "enabled": True, "glCode": "410"})  # fmt: skip
    tags.append({"policyID": POLICY_US, "level": "Department", "name": "Engineering:R\\:D",
                 "enabled": True, "glCode": "510"})  # fmt: skip
    for project, gl in (("Globex Rebrand", "P-01"), ("Initech Launch", "P-02")):
        tags.append({"policyID": POLICY_EU, "level": "Project", "name": project,
                     "enabled": True, "glCode": gl})  # fmt: skip
    return tags


def _employees() -> list[Record]:
    members: list[Record] = []
    for first, last, _, policy, role, approver, bamboo_id in PEOPLE:
        members.append({"policyID": policy, "email": email(first), "role": role,
                        "submitsTo": email(approver), "forwardsTo": "",
                        "employeeID": str(bamboo_id), "payrollID": f"PR-{bamboo_id}",
                        "customField1": str(bamboo_id), "firstName": first, "lastName": last,
                        "accountID": 18_400_000 + bamboo_id})  # fmt: skip
    # Approvers who belong to the other workspace are members there too, as in Expensify.
    for first in ("Ava", "Grace"):
        person = next(p for p in PEOPLE if p[0] == first)
        members.append({"policyID": POLICY_EU, "email": email(first), "role": "admin",
                        "submitsTo": email("Ava"), "forwardsTo": "", "employeeID": str(person[6]),
                        "payrollID": f"PR-{person[6]}", "customField1": str(person[6]),
                        "firstName": person[0], "lastName": person[1],
                        "accountID": 18_400_000 + person[6]})  # fmt: skip
    return members


def _cards() -> list[Record]:
    return [
        {"id": "5312342", "bank": "americanexpress.com", "cardName": "Ava Nguyen - 1009",
         "cardNumber": "3782XXXXXXX1009", "email": email("Ava"), "reimbursable": False,
         "created": "2022-02-01 10:00:00"},
        {"id": "5312343", "bank": "vcf", "cardName": "Priya Raman - 4242",
         "cardNumber": "4111XXXXXXXX4242", "email": email("Priya"), "reimbursable": False,
         "created": "2022-02-01 10:00:00"},
        {"id": "6234183", "bank": "cdf", "cardName": "Sofia Lindqvist - 5454",
         "cardNumber": "5454XXXXXXXX5454", "email": email("Sofia"), "reimbursable": False,
         "created": "2023-05-12 08:15:00"},
    ]  # fmt: skip


# id | submitter | policy | title | state | created | submitted | approved | approver | labels
REPORTS = (
    ("41000101", "Liam", POLICY_EU, "November studio supplies", "OPEN",
     "2026-11-16 09:12:00", None, None, None, ()),
    ("41000102", "Priya", POLICY_US, "Globex workshop travel", "SUBMITTED",
     "2026-11-09 17:40:00", "2026-11-12 08:05:00", None, None, ()),
    ("41000103", "Daniel", POLICY_US, "Initech pitch, Chicago", "APPROVED",
     "2026-11-02 11:00:00", "2026-11-05 16:20:00", "2026-11-07 10:02:00", "Ava", ()),
    ("41000104", "Ava", POLICY_US, "Amex October", "APPROVED",
     "2026-11-01 08:00:00", "2026-11-03 09:00:00", "2026-11-04 12:30:00", "Grace", ()),
    ("41000105", "Tom", POLICY_EU, "Berlin conference", "APPROVED",
     "2026-10-20 10:00:00", "2026-10-22 10:00:00", "2026-10-24 15:45:00", "Sofia",
     (EXPORT_LABEL,)),
    ("41000106", "Marcus", POLICY_US, "Recruiting fair", "REIMBURSED",
     "2026-10-05 14:00:00", "2026-10-06 09:00:00", "2026-10-08 11:00:00", "Ava",
     (EXPORT_LABEL,)),
    ("41000107", "Hannah", POLICY_US, "Q1 software", "ARCHIVED",
     "2026-03-02 09:00:00", "2026-03-03 09:00:00", "2026-03-04 09:00:00", "Daniel",
     (EXPORT_LABEL,)),
    ("41000108", "Sofia", POLICY_EU, "Globex Rebrand shoot", "APPROVED",
     "2026-11-10 09:30:00", "2026-11-11 18:00:00", "2026-11-13 09:15:00", "Ava", ()),
)  # fmt: skip

# id | report | merchant | cents | currency | converted | date | category | tag | extra
EXPENSES: tuple[tuple[str, str | None, str, int, str, int, str, str, str, dict[str, Any]], ...] = (
    ("6720309558248101", "41000101", "Cass Art", 4599, "GBP", 4599, "2026-11-15",
     "Office Supplies", "Creative", {}),
    ("6720309558248102", "41000101", "Ryman", 1250, "GBP", 1250, "2026-11-15",
     "Office Supplies", "Creative", {}),
    ("6720309558248103", "41000102", "United Airlines", 48760, "USD", 48760, "2026-11-08",
     "Airfare", "Client Services:Retainers", {}),
    ("6720309558248104", "41000102", "Hilton Cleveland", 31290, "USD", 31290, "2026-11-09",
     "Lodging", "Client Services", {}),
    ("6720309558248105", "41000103", "American Airlines", 52340, "USD", 52340, "2026-11-02",
     "Airfare", "Strategy", {"receiptID": "9001", "receiptFilename": "aa-receipt.pdf"}),
    ("6720309558248106", "41000103", "The Langham Chicago", 64800, "USD", 64800, "2026-11-03",
     "Lodging", "Strategy", {}),
    ("6720309558248107", "41000103", "Alinea", 38500, "USD", 38500, "2026-11-03",
     "Meals & Entertainment", "Strategy",
     {"comment": "Dinner with Initech CMO \"Lumbergh\"", "billable": True,
      "attendees": [{"email": "bill.lumbergh@initech.example", "displayName": "Bill Lumbergh"}]}),
    ("6720309558248108", "41000103", "Uber", 4210, "USD", 4210, "2026-11-04",
     "Ground Transportation", "Strategy", {"modifiedMerchant": "Uber Chicago",
                                           "modifiedAmount": 3990}),
    ("6720309558248109", "41000104", "Figma", 4500, "USD", 4500, "2026-10-28",
     "Software & Subscriptions", "Leadership", {"card": "5312342"}),
    ("6720309558248110", "41000104", "Adobe", 8999, "USD", 8999, "2026-10-29",
     "Software & Subscriptions", "Creative", {"card": "5312342"}),
    ("6720309558248111", "41000104", "Delta Air Lines", -12000, "USD", -12000, "2026-10-30",
     "Airfare", "Leadership", {"card": "5312342", "comment": "Fare difference refund"}),
    ("6720309558248112", "41000104", "Verizon", 11250, "USD", 11250, "2026-10-31",
     "Phone & Internet", "Engineering:R\\:D", {"card": "5312342", "mcc": "4814"}),
    ("6720309558248113", "41000105", "Deutsche Bahn", 8900, "EUR", 7745, "2026-10-19",
     "Ground Transportation", "Engineering", {"currencyConversionRate": 0.8702}),
    ("6720309558248114", "41000105", "re:publica", 49900, "EUR", 43424, "2026-10-20",
     "Training", "Engineering", {"currencyConversionRate": 0.8702}),
    ("6720309558248115", "41000106", "Lyft", 2875, "USD", 2875, "2026-10-05",
     "Ground Transportation", "People", {}),
    ("6720309558248116", "41000107", "Notion", 9600, "USD", 9600, "2026-03-01",
     "Software & Subscriptions", "Creative", {}),
    ("6720309558248117", "41000108", "Studio Hire London", 120000, "GBP", 120000, "2026-11-08",
     "Other", "Creative:Globex Rebrand",
     {"card": "6234183", "taxAmount": 20000, "taxRate": "20%", "taxName": "Standard",
      "taxCode": "2"}),
    ("6720309558248118", "41000108", "Pret A Manger", 3450, "GBP", 3450, "2026-11-08",
     "Meals & Entertainment", "Creative:Globex Rebrand",
     {"modifiedCreated": "2026-11-09", "billable": True}),
    ("6720309558248119", None, "WeWork", 25000, "USD", 25000, "2026-11-18",
     "Office Supplies", "", {"card": "5312343"}),
    ("6720309558248120", None, "Zoom", 1599, "USD", 1599, "2026-11-19",
     "Software & Subscriptions", "", {"card": "5312343"}),
)  # fmt: skip


def _reports() -> list[Record]:
    reports: list[Record] = []
    for rid, who, policy, title, status, created, submitted, approved, approver, labels in REPORTS:
        approvers = [{"email": email(approver), "date": approved}] if approver else []
        actions: list[dict[str, Any]] = [
            {"action": "SUBMITTED", "accountEmail": email(who), "created": submitted,
             "details": {"message": ""}}
        ] if submitted else []  # fmt: skip
        if approver:
            actions.append({"action": "APPROVED", "accountEmail": email(approver),
                            "created": approved, "details": {"message": ""}})  # fmt: skip
        reports.append({"id": rid, "reportName": title, "policyID": policy,
                        "accountEmail": email(who), "status": status, "created": created,
                        "submitted": submitted, "approved": approved,
                        "reimbursed": "2026-10-09 10:00:00" if status == "REIMBURSED" else None,
                        "managerEmail": email(approver) if approver else "",
                        "approvers": approvers, "actionList": actions,
                        "exportedLabels": list(labels),
                        "customFields": {"Client": "Initech"} if rid == "41000103" else {},
                        "entryID": str(int(rid) - 40_000_000)})  # fmt: skip
    return reports


def _transactions(cards: dict[str, Record], reports: dict[str, Record]) -> list[Record]:
    rows: list[Record] = []
    for tid, rid, merchant, cents, currency, converted, day, category, tag, extra in EXPENSES:
        report = reports.get(rid or "")
        card = cards.get(str(extra.get("card", "")))
        owner = report["accountEmail"] if report else (card or {}).get("email", "")
        row: Record = {"id": tid, "reportID": rid, "accountEmail": owner,
                       "policyID": report["policyID"] if report else POLICY_US,
                       "merchant": merchant, "amount": cents, "currency": currency,
                       "convertedAmount": converted, "created": day,
                       "inserted": f"{day} 12:00:00", "category": category, "tag": tag,
                       "comment": "", "billable": False, "reimbursable": card is None,
                       "type": "expense"}  # fmt: skip
        row.update({k: v for k, v in extra.items() if k != "card"})
        if card is not None:
            row.update({"bank": card["bank"], "cardID": card["id"],
                        "cardNumber": card["cardNumber"], "type": "card"})  # fmt: skip
        if "receiptID" in row:
            url = f"https://www.expensify.com/receipts/{row['receiptFilename']}"
            row["receiptObject"] = {
                "url": url, "thumbnail": url + ".thumb.jpg",
                "smallThumbnail": url + ".small.jpg", "type": "pdf",
            }  # fmt: skip
        rows.append(row)
    return rows


def build_seed() -> Seed:
    cards = _cards()
    reports = _reports()
    return {
        "credentials": [
            {"id": PARTNER_USER_ID, "partnerUserID": PARTNER_USER_ID,
             "partnerUserSecret": PARTNER_USER_SECRET, "email": API_USER_EMAIL}
        ],
        "policies": _policies(),
        "categories": _categories(),
        "tags": _tags(),
        "employees": _employees(),
        "cards": cards,
        "reports": reports,
        "transactions": _transactions({c["id"]: c for c in cards},
                                      {r["id"]: r for r in reports}),
    }  # fmt: skip
