"""The default seed: "Acme Creative", a 40-person agency on two divisions.

Seven departments, two divisions, three locations, job titles per department, a reporting
line, a few promotions (two jobInfo rows), four terminated people (Inactive), one archived
department option. Everything is deterministic: the same seed on every start.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sandboxes.kit import Record, Seed

__all__ = ["ADMIN_API_KEY", "MANAGER_API_KEY", "OAUTH_CLIENT", "build_seed"]

ADMIN_API_KEY = hashlib.sha1(b"acme-creative admin key", usedforsecurity=False).hexdigest()
MANAGER_API_KEY = hashlib.sha1(b"acme-creative manager key", usedforsecurity=False).hexdigest()
OAUTH_CLIENT = {
    "id": "mlc-bamboohr",
    "client_secret": hashlib.sha256(b"acme-creative oauth client").hexdigest()[:40],
    "redirect_uris": [
        "http://localhost:8080/oauth/bamboohr/callback",
        "http://127.0.0.1:8080/oauth/bamboohr/callback",
        "https://sync.example.com/oauth/bamboohr",
    ],
}

DEPARTMENTS = (
    "Leadership",
    "Creative",
    "Strategy",
    "Client Services",
    "Engineering",
    "Operations",
    "People",
)
ARCHIVED_DEPARTMENTS = ("Events",)
DIVISIONS = ("North America", "Europe")
LOCATIONS = ("New York, NY", "London, UK", "Remote")
EMPLOYMENT_STATUSES = ("Full-Time", "Part-Time", "Contractor", "Terminated")

# first | last | department | job title | division | location | hire date | employment status
PEOPLE_TABLE = """
Ava | Nguyen | Leadership | Chief Executive Officer | NA | NYC | 2016-02-01 | FT
Marcus | Reed | People | Director of People | NA | NYC | 2017-05-15 | FT
Sofia | Lindqvist | Creative | Creative Director | EU | LDN | 2017-09-04 | FT
Daniel | Okafor | Strategy | Head of Strategy | NA | NYC | 2018-01-08 | FT
Priya | Raman | Client Services | Client Services Director | NA | NYC | 2018-03-19 | FT
Tom | Becker | Engineering | Engineering Manager | EU | LDN | 2018-06-11 | FT
Grace | Holloway | Operations | Operations Manager | NA | REM | 2018-10-01 | FT
Liam | Walsh | Creative | Senior Designer | EU | LDN | 2019-01-14 | FT
Emma | Castillo | Creative | Designer | NA | NYC | 2019-04-22 | FT
Noah | Fischer | Creative | Copywriter | EU | REM | 2019-07-08 | PT
Olivia | Brennan | Creative | Art Director | NA | NYC | 2019-09-30 | FT
Ethan | Morales | Creative | Motion Designer | NA | REM | 2020-02-03 | CT
Mia | Kowalski | Strategy | Strategist | EU | LDN | 2020-03-16 | FT
Lucas | Ferreira | Strategy | Senior Strategist | NA | NYC | 2020-06-01 | FT
Isabella | Rossi | Strategy | Data Analyst | EU | REM | 2020-08-24 | FT
Mason | Clarke | Client Services | Account Manager | NA | NYC | 2020-10-12 | FT
Amelia | Hughes | Client Services | Account Executive | EU | LDN | 2021-01-11 | FT
James | Tanaka | Client Services | Account Manager | NA | REM | 2021-02-22 | FT
Charlotte | Dubois | Client Services | Project Manager | EU | LDN | 2021-04-05 | FT
Benjamin | Silva | Engineering | Software Engineer | EU | LDN | 2021-05-17 | FT
Harper | Jensen | Engineering | Senior Software Engineer | NA | REM | 2021-06-28 | FT
Elijah | Murphy | Engineering | Software Engineer | NA | NYC | 2021-08-09 | FT
Evelyn | Park | Engineering | QA Engineer | EU | REM | 2021-09-20 | FT
Henry | Schmidt | Engineering | DevOps Engineer | EU | LDN | 2021-11-01 | CT
Abigail | Torres | Operations | Office Manager | NA | NYC | 2022-01-10 | FT
Alexander | Novak | Operations | Finance Manager | EU | LDN | 2022-02-14 | FT
Emily | Chen | Operations | Accountant | NA | REM | 2022-03-28 | PT
Sebastian | Larsen | Operations | IT Administrator | EU | REM | 2022-05-09 | FT
Ella | Martin | People | HR Generalist | NA | NYC | 2022-06-20 | FT
Jack | O'Connor | People | Recruiter | EU | LDN | 2022-08-01 | FT
Scarlett | Yilmaz | Creative | Junior Designer | EU | LDN | 2023-01-09 | FT
Owen | Patel | Strategy | Strategist | NA | REM | 2023-03-06 | FT
Aria | Kim | Client Services | Account Executive | NA | NYC | 2023-05-15 | FT
Leo | Andersson | Engineering | Software Engineer | EU | REM | 2023-09-11 | FT
Chloe | Dupont | Creative | Copywriter | EU | LDN | 2024-02-05 | FT
Wyatt | Brooks | Client Services | Project Manager | NA | REM | 2024-06-03 | FT
Nora | Haddad | Strategy | Data Analyst | EU | LDN | 2019-02-18 | TERM
Caleb | Foster | Creative | Designer | NA | NYC | 2020-01-06 | TERM
Zoe | Ivanova | Engineering | Software Engineer | EU | REM | 2021-03-01 | TERM
Ryan | Mitchell | Client Services | Account Manager | NA | NYC | 2022-04-18 | TERM
"""
DIVISION_CODES = {"NA": "North America", "EU": "Europe"}
LOCATION_CODES = {"NYC": "New York, NY", "LDN": "London, UK", "REM": "Remote"}
STATUS_CODES = {"FT": "Full-Time", "PT": "Part-Time", "CT": "Contractor", "TERM": "Terminated"}


def _people() -> list[tuple[str, str, str, str, str, str, str, str]]:
    people = []
    for line in PEOPLE_TABLE.strip().splitlines():
        first, last, dept, title, division, location, hired, status = (
            cell.strip() for cell in line.split("|")
        )
        people.append(
            (
                first,
                last,
                dept,
                title,
                DIVISION_CODES[division],
                LOCATION_CODES[location],
                hired,
                STATUS_CODES[status],
            )
        )
    return people


PEOPLE = _people()
TERMINATION_DATES = ("2023-06-30", "2024-01-31", "2024-09-13", "2025-03-28")
PROMOTIONS = {8: ("Art Director", "2023-04-01"), 14: ("Senior Strategist", "2024-01-15")}
FIRST_ID = 101
MANAGER_FIELDS = ["firstName", "lastName", "jobTitle", "department", "workEmail", "status"]
SYNC_REPORT_FIELDS = [
    "firstName",
    "lastName",
    "workEmail",
    "jobTitle",
    "department",
    "division",
    "status",
    "hireDate",
    "terminationDate",
]


def _list_field(
    list_id: int, field_id: int, name: str, alias: str | None, values: tuple[str, ...]
) -> Record:
    options: list[dict[str, Any]] = [
        {
            "id": field_id * 100 + index,
            "archived": "no",
            "manageable": "yes",
            "createdDate": "2016-01-15T09:00:00+00:00",
            "archivedDate": None,
            "name": value,
        }
        for index, value in enumerate(values, start=1)
    ]
    record: Record = {
        "id": list_id,
        "fieldId": field_id,
        "manageable": "yes",
        "multiple": "no",
        "name": name,
        "options": options,
    }
    if alias is not None:
        record["alias"] = alias
    return record


def _lists(job_titles: tuple[str, ...]) -> list[Record]:
    department = _list_field(
        3443, 4, "Department", "department", DEPARTMENTS + ARCHIVED_DEPARTMENTS
    )
    for option in department["options"]:
        if option["name"] in ARCHIVED_DEPARTMENTS:
            option.update(archived="yes", archivedDate="2022-12-31T17:00:00+00:00")
    return [
        _list_field(3440, 16, "Employment Status", "employmentHistoryStatus", EMPLOYMENT_STATUSES),
        _list_field(3441, 17, "Job Title", "jobTitle", job_titles),
        _list_field(3442, 18, "Location", "location", LOCATIONS),
        department,
        _list_field(3452, 1355, "Division", "division", DIVISIONS),
        _list_field(3446, 4313, "Termination Type", None, ("Voluntary", "Involuntary")),
        _list_field(
            3448, 4314, "Termination Reason", None, ("Resignation", "Relocation", "Performance")
        ),
        _list_field(3450, 4315, "Eligible For Re-hire", None, ("Yes", "No", "Upon review")),
    ]


def build_seed() -> Seed:
    """The Acme Creative seed, every derived value consistent with the table rows."""
    employees: list[Record] = []
    job_rows: list[Record] = []
    status_rows: list[Record] = []
    heads: dict[str, int] = {}
    names: dict[int, str] = {}
    terminated = iter(TERMINATION_DATES)
    for index, (first, last, dept, title, division, location, hired, status) in enumerate(PEOPLE):
        employee_id = FIRST_ID + index
        names[employee_id] = f"{first} {last}"
        heads.setdefault(dept, employee_id)
        supervisor = None if index == 0 else heads[dept] if heads[dept] != employee_id else FIRST_ID
        reports_to = names.get(supervisor) if supervisor else None
        job = {
            "location": location,
            "division": division,
            "department": dept,
            "jobTitle": title,
            "reportsTo": reports_to,
        }
        job_rows.append(
            {
                "id": str(len(job_rows) + 1),
                "employeeId": str(employee_id),
                "date": hired,
                **job,
                "teams": None,
            }
        )
        if index in PROMOTIONS:
            new_title, promoted = PROMOTIONS[index]
            job = {**job, "jobTitle": new_title}
            job_rows.append(
                {
                    "id": str(len(job_rows) + 1),
                    "employeeId": str(employee_id),
                    "date": promoted,
                    **job,
                    "teams": None,
                }
            )
        initial = "Full-Time" if status == "Terminated" else status
        status_rows.append(
            {
                "id": str(len(status_rows) + 1),
                "employeeId": str(employee_id),
                "date": hired,
                "employmentStatus": initial,
                "terminationTypeId": None,
                "terminationReasonId": None,
                "terminationRehireId": None,
                "comment": None,
            }
        )
        termination_date = None
        if status == "Terminated":
            termination_date = next(terminated)
            status_rows.append(
                {
                    "id": str(len(status_rows) + 1),
                    "employeeId": str(employee_id),
                    "date": termination_date,
                    "employmentStatus": "Terminated",
                    "terminationTypeId": "431301",
                    "terminationReasonId": "431401",
                    "terminationRehireId": "431503",
                    "comment": "Left the company",
                }
            )
        changed = f"{termination_date or hired}T17:00:00+00:00"
        email_name = f"{first}.{last}".lower().replace("'", "")
        employees.append(
            {
                "id": str(employee_id),
                "employeeNumber": str(employee_id),
                "firstName": first,
                "lastName": last,
                "middleName": None,
                "preferredName": None,
                "displayName": f"{first} {last}",
                "workEmail": f"{email_name}@acmecreative.example",
                "homeEmail": f"{email_name}@home.example",
                "bestEmail": f"{email_name}@acmecreative.example",
                "workPhone": f"+1 212 555 {1000 + index:04d}",
                "mobilePhone": None,
                **job,
                "supervisorEId": str(supervisor) if supervisor else None,
                "status": "Inactive" if termination_date else "Active",
                "employmentHistoryStatus": "Terminated" if termination_date else initial,
                "hireDate": hired,
                "originalHireDate": None,
                "terminationDate": termination_date,
                "dateOfBirth": f"{1970 + index % 30}-{index % 12 + 1:02d}-{index % 27 + 1:02d}",
                "payRate": f"{60000 + 2500 * (index % 17)}.00 USD",
                "lastChanged": changed,
                "_created": f"{hired}T09:00:00+00:00",
            }
        )
    creative = [e["id"] for e in employees if e["department"] == "Creative"]
    job_titles = tuple(sorted({p[3] for p in PEOPLE} | {t for t, _ in PROMOTIONS.values()}))
    return {
        "employees": employees,
        "jobInfo": job_rows,
        "employmentStatus": status_rows,
        "lists": _lists(job_titles),
        "api_keys": [
            {
                "id": "1",
                "key": ADMIN_API_KEY,
                "employeeId": "102",
                "fields": None,
                "employees": None,
            },
            {
                "id": "2",
                "key": MANAGER_API_KEY,
                "employeeId": "103",
                "fields": MANAGER_FIELDS,
                "employees": creative,
            },
        ],
        "oauth_clients": [dict(OAUTH_CLIENT)],
        "webhooks": [],
        "deletions": [],
        "saved_reports": [
            {
                "id": "1",
                "name": "People sync",
                "fields": SYNC_REPORT_FIELDS,
            },
            {
                "id": "2",
                "name": "Directory export",
                "fields": ["displayName", "workEmail", "location"],
            },
        ],
    }
