"""The default BILL seed: one agency's AP organization with its GL accounts, vendors and bills.

Ids are fixed (prefix + readable tail, 20 characters) so the demo and tests can name them.
A second organization exists only so tests can prove tenant isolation. Amounts are invented.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandboxes.kit import Record, Seed

__all__ = [
    "DEV_KEY",
    "ORGANIZATION_ID",
    "OTHER_ORGANIZATION_ID",
    "PASSWORD",
    "USERNAME",
    "build_seed",
]

ORGANIZATION_ID = "00801NORTHWINDAGENCY"
OTHER_ORGANIZATION_ID = "00801OTHERSTUDIOXXXX"
USER_ID = "00601APBOTNORTHWIND1"
DEV_KEY = "01SANDBOXDEVKEY00001"
USERNAME = "ap-bot@northwind.example"
PASSWORD = "sandbox-password"

# (number, name, type): the GL accounts an agency's AP team codes bills to.
CHART = (
    ("1000", "Operating Checking", "BANK"),
    ("1200", "Prepaid Expenses", "OTHER_CURRENT_ASSET"),
    ("1500", "Computer Equipment", "FIXED_ASSET"),
    ("2000", "Accounts Payable", "ACCOUNTS_PAYABLE"),
    ("2100", "Company Credit Card", "CREDIT_CARD"),
    ("5000", "Cost of Services: Freelancers", "COST_OF_GOODS_SOLD"),
    ("5100", "Cost of Services: Stock Media", "COST_OF_GOODS_SOLD"),
    ("6000", "Advertising and Marketing", "EXPENSE"),
    ("6100", "Software Subscriptions", "EXPENSE"),
    ("6200", "Rent", "EXPENSE"),
    ("6300", "Utilities", "EXPENSE"),
    ("6400", "Office Supplies", "EXPENSE"),
    ("6500", "Travel", "EXPENSE"),
    ("6510", "Meals and Entertainment", "EXPENSE"),
    ("6600", "Professional Fees: Legal", "EXPENSE"),
    ("6610", "Professional Fees: Accounting", "EXPENSE"),
    ("6700", "Insurance", "EXPENSE"),
    ("6800", "Training and Education", "EXPENSE"),
    ("6900", "Telephone and Internet", "EXPENSE"),
    ("7000", "Bank Fees", "EXPENSE"),
)

# (tail, name, email, account type, pay-by)
VENDORS = (
    ("ADOBEINC00001", "Adobe Inc.", "billing@adobe.example", "BUSINESS", "ACH"),
    ("WEWORK0000002", "WeWork Downtown", "ar@wework.example", "BUSINESS", "ACH"),
    ("GETTYIMAGES03", "Getty Images", "invoices@getty.example", "BUSINESS", "ACH"),
    ("COMCASTBIZ004", "Comcast Business", "billing@comcast.example", "BUSINESS", "CHECK"),
    ("STAPLES000005", "Staples Advantage", "ar@staples.example", "BUSINESS", "CHECK"),
    ("LEGALZOOM0006", "Keller & Park LLP", "billing@kellerpark.example", "BUSINESS", "ACH"),
    ("MAYAFREELANCE", "Maya Chen Design", "maya@chen.example", "PERSON", "ACH"),
    ("HISCOX0000008", "Hiscox Insurance", "ar@hiscox.example", "BUSINESS", "ACH"),
    ("DELTAAIR00009", "Delta Air Lines", "corporate@delta.example", "BUSINESS", "CHECK"),
    ("FIGMAINC00010", "Figma, Inc.", "billing@figma.example", "BUSINESS", "ACH"),
    ("GOOGLEADS0011", "Google Ads", "ads-billing@google.example", "BUSINESS", "ACH"),
    ("CPAPARTNERS12", "Rivera CPA Partners", "office@riveracpa.example", "BUSINESS", "CHECK"),
)

# (tail, vendor tail, invoice no., due in days, [(amount, description, GL number)], class)
BILLS = (
    (
        "ADOBE0000001",
        "ADOBEINC00001",
        "ADB-2026-0113",
        14,
        [(659.88, "Creative Cloud, 12 seats", "6100")],
        "Creative",
    ),
    (
        "WEWORK000002",
        "WEWORK0000002",
        "WW-88121",
        5,
        [(8400.00, "Office rent, 14 desks", "6200"), (350.00, "Meeting room credits", "6200")],
        "Operations",
    ),
    (
        "GETTY0000003",
        "GETTYIMAGES03",
        "GI-558203",
        30,
        [(1250.00, "Editorial image pack, Client Aurora", "5100")],
        "Creative",
    ),
    (
        "COMCAST00004",
        "COMCASTBIZ004",
        "CB-7731-02",
        10,
        [(289.95, "Business internet 1 Gbps", "6900")],
        "Operations",
    ),
    (
        "STAPLES00005",
        "STAPLES000005",
        "SA-99812",
        21,
        [(143.27, "Printer paper and toner", "6400"), (62.10, "Desk organisers", "6400")],
        "Operations",
    ),
    (
        "KELLER000006",
        "LEGALZOOM0006",
        "KP-2026-041",
        30,
        [(3200.00, "Contract review, Client Aurora MSA", "6600")],
        "Operations",
    ),
    (
        "MAYA00000007",
        "MAYAFREELANCE",
        "MC-017",
        7,
        [(2400.00, "Brand illustration, 16 h", "5000"), (180.00, "Stock fonts", "5100")],
        "Creative",
    ),
    (
        "HISCOX000008",
        "HISCOX0000008",
        "HX-PL-2026",
        45,
        [(1890.00, "Professional liability, annual", "6700")],
        "Operations",
    ),
    (
        "DELTA0000009",
        "DELTAAIR00009",
        "DL-TRV-3391",
        3,
        [(742.40, "Client workshop travel, 2 tickets", "6500")],
        "Client Services",
    ),
    (
        "FIGMA0000010",
        "FIGMAINC00010",
        "FG-INV-22017",
        14,
        [(540.00, "Figma Organization, 12 editors", "6100")],
        "Creative",
    ),
    (
        "GOOGLE000011",
        "GOOGLEADS0011",
        "GA-5521-11",
        15,
        [(4100.00, "Paid search, Client Beacon campaign", "6000")],
        "Client Services",
    ),
    (
        "RIVERA000012",
        "CPAPARTNERS12",
        "RCPA-1190",
        20,
        [(1500.00, "Monthly bookkeeping", "6610")],
        "Operations",
    ),
)

CLASSES = ("Creative", "Client Services", "Operations")
DEPARTMENTS = ("Design", "Strategy", "Account Management", "Finance", "People Ops")
LOCATIONS = ("New York Studio", "Austin Studio", "Remote")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _pad(prefix: str, tail: str) -> str:
    return (prefix + "01" + tail + "X" * 20)[:20]


def build_seed() -> Seed:
    """The demo organization, relative to today (real time; the clock starts at real time)."""
    now = datetime.now(UTC).replace(microsecond=0)
    created = _stamp(now - timedelta(days=60))
    today = now.date()
    org = ORGANIZATION_ID

    def base(record_id: str) -> Record:
        return {
            "id": record_id,
            "archived": False,
            "createdTime": created,
            "updatedTime": created,
            "_org": org,
        }

    chart = [
        {
            **base(_pad("0ca", f"GL{number}")),
            "name": name,
            "description": f"{number} {name}",
            "account": {"type": kind, "number": number},
        }
        for number, name, kind in CHART
    ]
    gl = {c["account"]["number"]: c["id"] for c in chart}
    classes = [
        {
            **base(_pad("cls", n.replace(" ", "").upper())),
            "name": n,
            "shortName": n[:4].upper(),
            "description": f"{n} work",
        }
        for n in CLASSES
    ]
    class_ids = {c["name"]: c["id"] for c in classes}
    departments = [
        {
            **base(_pad("0de", n.replace(" ", "").upper())),
            "name": n,
            "shortName": n[:4].upper(),
            "description": f"{n} team",
        }
        for n in DEPARTMENTS
    ]
    locations = [
        {
            **base(_pad("loc", n.replace(" ", "").upper())),
            "name": n,
            "shortName": n[:4].upper(),
            "description": n,
        }
        for n in LOCATIONS
    ]
    vendors: list[Record] = []
    for index, (tail, name, email, account_type, pay_by) in enumerate(VENDORS):
        vendors.append(
            {
                **base(_pad("009", tail)),
                "name": name,
                "shortName": name.split()[0].strip(",."),
                "accountType": account_type,
                "email": email,
                "phone": f"212555{index + 100:04d}",
                "accountNumber": f"NW-{4100 + index}",
                "additionalInfo": {
                    "track1099": account_type == "PERSON",
                    "combinePayments": True,
                    "leadTimeInDays": 2,
                    "companyName": name,
                },
                "autoPay": {"enabled": False},
                "bankAccountStatus": "VERIFIED" if pay_by == "ACH" else "NOT_ADDED",
                "address": {
                    "line1": "100 Example Ave",
                    "city": "New York",
                    "stateOrProvince": "NY",
                    "zipOrPostalCode": "10001",
                    "country": "US",
                    "countryName": "United States",
                },
                "paymentInformation": {"payeeName": name, "payByType": pay_by},
                "billCurrency": "USD",
                "recurringPayments": False,
                "networkStatus": "NOT_CONNECTED",
                "balance": {"amount": 0.0},
            }
        )
    names = {v["id"]: v["name"] for v in vendors}
    bills: list[Record] = []
    for index, (tail, vendor_tail, number, due_days, lines, klass) in enumerate(BILLS):
        vendor_id = _pad("009", vendor_tail)
        items = [
            {
                "id": _pad("0li", f"{tail}{index}"),
                "amount": amount,
                "description": text,
                "classifications": {
                    "chartOfAccountId": gl[account],
                    "accountingClassId": class_ids[klass],
                },
            }
            for index, (amount, text, account) in enumerate(lines)
        ]
        total = round(sum(amount for amount, _, _ in lines), 2)
        bills.append(
            {
                **base(_pad("00n", tail)),
                "vendorId": vendor_id,
                "vendorName": names[vendor_id],
                "amount": total,
                "fundingAmount": total,
                "paidAmount": 0.0,
                "dueAmount": total,
                "description": lines[0][1],
                "scheduledAmount": 0.0,
                "creditAmount": 0.0,
                "exchangeRate": 1.0,
                "dueDate": (today + timedelta(days=due_days)).isoformat(),
                "invoice": {
                    "invoiceNumber": number,
                    "invoiceDate": (today - timedelta(days=30 - due_days)).isoformat(),
                },
                "billLineItems": items,
                "classifications": {"accountingClassId": class_ids[klass]},
                "payFromChartOfAccountId": gl["1000"],
                "purchaseOrderNumber": f"PO-{1040 + index}",
                "paymentStatus": "UNPAID",
                "approvalStatus": "APPROVED",
                "approvers": [],
            }
        )
    other = OTHER_ORGANIZATION_ID
    return {
        "organizations": [
            {"id": org, "name": "Northwind Creative LLC"},
            {"id": other, "name": "Other Studio Inc."},
        ],
        "users": [
            {
                "id": USER_ID,
                "organizationId": org,
                "username": USERNAME,
                "password": PASSWORD,
                "firstName": "AP",
                "lastName": "Bot",
            },
            {
                "id": "00601OTHERUSER000001",
                "organizationId": other,
                "username": "owner@other.example",
                "password": PASSWORD,
                "firstName": "Other",
                "lastName": "Owner",
            },
        ],
        "dev_keys": [{"id": DEV_KEY, "name": "ml-connector sandbox key"}],
        "chart_of_accounts": chart,
        "accounting_classes": classes,
        "departments": departments,
        "locations": locations,
        "vendors": [
            *vendors,
            {
                **base(_pad("009", "OTHERORGVENDOR")),
                "_org": other,
                "name": "Other Org Vendor",
                "accountType": "BUSINESS",
                "paymentInformation": {"payeeName": "Other"},
            },
        ],
        "bills": bills,
        "payments": [],
        "subscriptions": [],
        "events": [],
    }
