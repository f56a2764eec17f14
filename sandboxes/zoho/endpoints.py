"""The Books API v3 handlers: organizations, contacts, contact persons, reporting tags and
webhook settings (sheet sections 3, 4, 8, 9). Each takes the request and the `Call` context
(grant and organization) that `app.py` has already checked, and answers Zoho's envelope.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from sandboxes.kit import Record, State
from sandboxes.zoho.auth import AccessGrant
from sandboxes.zoho.contacts import ContactBook, invalid
from sandboxes.zoho.errors import (
    DOES_NOT_EXIST_CODE,
    JSON_NOT_WELL_FORMED_CODE,
    ZohoError,
    zoho_json,
)
from sandboxes.zoho.listing import ContactQuery
from sandboxes.zoho.settings import ZohoSandboxSettings
from sandboxes.zoho.shapes import person_out, summary_row
from sandboxes.zoho.webhooks import WebhookRegistry

__all__ = ["ORG_FIELDS", "BooksApi", "Call", "read_body"]

ORG_FIELDS = (
    "organization_id", "name", "contact_name", "email", "is_default_org", "language_code",
    "fiscal_year_start_month", "account_created_date", "time_zone", "is_dst_active",
    "date_format", "field_separator", "industry_type", "industry_size", "company_id_label",
    "company_id_value", "tax_id_label", "tax_id_value", "currency_id", "currency_code",
    "currency_symbol", "currency_format", "price_precision", "plan_type", "plan_name",
    "plan_period", "country_code", "country_name", "portal_name", "org_settings",
)  # fmt: skip


@dataclass(frozen=True)
class Call:
    grant: AccessGrant
    org: Record | None


async def read_body(request: Request) -> dict[str, Any]:
    """A JSON body, or the older `JSONString=<json>` form field [V3p Weble client]."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    text = raw.decode("utf-8", "replace")
    if "application/x-www-form-urlencoded" in content_type or "multipart/form-data" in (
        content_type
    ):
        fields = parse_qs(text) if "urlencoded" in content_type else {}
        if "multipart" in content_type:
            form = await request.form()
            fields = {k: [str(v)] for k, v in form.items()}
        if "JSONString" not in fields:
            raise ZohoError(JSON_NOT_WELL_FORMED_CODE, "JSON is not well formed")
        text = fields["JSONString"][0]
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ZohoError(JSON_NOT_WELL_FORMED_CODE, "JSON is not well formed") from None
    if not isinstance(value, dict):
        raise ZohoError(JSON_NOT_WELL_FORMED_CODE, "JSON is not well formed")
    return value


def _org(call: Call) -> Record:
    if call.org is None:  # app.py guarantees it for every org-scoped route
        raise ZohoError(DOES_NOT_EXIST_CODE, "Organization does not exist.")
    return call.org


def _ok(message: str, status: int = 200, headers: Mapping[str, str] | None = None,
        **entities: object) -> Response:  # fmt: skip
    return zoho_json({"code": 0, "message": message, **entities}, status=status, headers=headers)


class BooksApi:
    def __init__(
        self,
        state: State,
        settings: ZohoSandboxSettings,
        contacts: ContactBook,
        webhooks: WebhookRegistry,
    ) -> None:
        self._state = state
        self._settings = settings
        self._contacts = contacts
        self._webhooks = webhooks

    # --- organizations ---------------------------------------------------------------------

    def org_out(self, org: Record) -> dict[str, Any]:
        return {key: org.get(key) for key in ORG_FIELDS}

    async def list_organizations(self, request: Request, call: Call) -> Response:
        user = self._state.get("users", call.grant.user_id) or {}
        orgs = [self._state.get("organizations", i) for i in user.get("organization_ids", [])]
        visible = [self.org_out(o) for o in orgs if o and o.get("region") == call.grant.region]
        return _ok("success", organizations=visible)

    async def get_organization(self, request: Request, call: Call) -> Response:
        wanted = request.path_params["organization_id"]
        user = self._state.get("users", call.grant.user_id) or {}
        org = self._state.get("organizations", wanted)
        if org is None or wanted not in user.get("organization_ids", []):
            raise ZohoError(
                6041, f"This user is not associated with the CompanyID/CompanyName:{wanted}."
            )
        return _ok("success", organization=self.org_out(org))

    # --- contacts --------------------------------------------------------------------------

    async def list_contacts(self, request: Request, call: Call) -> Response:
        org = _org(call)
        query = ContactQuery(request.query_params, self._settings)
        pairs = [
            (self._contacts.render(org, r), r) for r in self._contacts.contacts_of(str(org["id"]))
        ]
        page, context = query.run(pairs)
        rows = [summary_row(full, record) for full, record in page]
        return _ok("success", contacts=rows, page_context=context)

    async def create_contact(self, request: Request, call: Call) -> Response:
        org = _org(call)
        record = self._contacts.create(org, await read_body(request))
        return self._created(org, record)

    def _created(self, org: Record, record: Record) -> Response:
        # [V3p NANGO] 201 with a legacy-style Location header.
        return _ok(
            "The contact has been added.",
            201,
            {"Location": f"/api/v3/contacts/{record['contact_id']}"},
            contact=self._contacts.render(org, record),
        )

    async def get_contact(self, request: Request, call: Call) -> Response:
        org = _org(call)
        record = self._contacts.get(org, request.path_params["contact_id"])
        return _ok("success", contact=self._contacts.render(org, record))

    async def update_contact(self, request: Request, call: Call) -> Response:
        org = _org(call)
        body = await read_body(request)
        record = self._contacts.update(org, request.path_params["contact_id"], body)
        # [V3p NANGO] live message; docs say "Contact has been updated successfully".
        return _ok("Contact information has been saved.",
                   contact=self._contacts.render(org, record))  # fmt: skip

    async def update_by_unique_field(self, request: Request, call: Call) -> Response:
        """`PUT /contacts` with `X-Unique-Identifier-Key/-Value` [+ `X-Upsert: true`]."""
        org = _org(call)
        key = request.headers.get("x-unique-identifier-key", "")
        value = request.headers.get("x-unique-identifier-value", "")
        if not key or not value:
            raise invalid("X-Unique-Identifier-Key")
        if not any(d["api_name"] == key for d in org.get("custom_fields", [])):
            raise invalid("X-Unique-Identifier-Key")
        body = await read_body(request)
        found = self._contacts.find_by_custom_field(org, key, value)
        if found is not None:
            record = self._contacts.update(org, str(found["contact_id"]), body)
            return _ok("Contact information has been saved.",
                       contact=self._contacts.render(org, record))  # fmt: skip
        if request.headers.get("x-upsert", "").lower() != "true":
            raise ZohoError(DOES_NOT_EXIST_CODE, "Contact does not exist.",
                            status=self._settings.not_found_status)  # fmt: skip
        fields = list(body.get("custom_fields") or [])
        if not any(isinstance(f, dict) and f.get("api_name") == key for f in fields):
            fields.append({"api_name": key, "value": value})
        record = self._contacts.create(org, {**body, "custom_fields": fields})
        return self._created(org, record)

    async def delete_contact(self, request: Request, call: Call) -> Response:
        org = _org(call)
        record = self._contacts.delete(org, request.path_params["contact_id"])
        # [V3p NANGO] "The customer has been deleted."; the vendor wording is [I].
        return _ok(f"The {record.get('contact_type', 'customer')} has been deleted.")

    async def mark_active(self, request: Request, call: Call) -> Response:
        self._contacts.set_status(_org(call), request.path_params["contact_id"], active=True)
        return _ok("The contact has been marked as active.")

    async def mark_inactive(self, request: Request, call: Call) -> Response:
        self._contacts.set_status(_org(call), request.path_params["contact_id"], active=False)
        return _ok("The contact has been marked as inactive.")

    # --- contact persons -------------------------------------------------------------------

    async def create_person(self, request: Request, call: Call) -> Response:
        _, person = self._contacts.add_person(_org(call), await read_body(request))
        return _ok("The contactperson has been Created", 201, contact_person=person_out(person))

    async def update_person(self, request: Request, call: Call) -> Response:
        person_id = request.path_params["contact_person_id"]
        _, person = self._contacts.update_person(_org(call), person_id, await read_body(request))
        return _ok("The contactperson details has been updated.",
                   contact_person=person_out(person))  # fmt: skip

    async def delete_person(self, request: Request, call: Call) -> Response:
        self._contacts.delete_person(_org(call), request.path_params["contact_person_id"])
        return _ok("The contact person has been deleted.")

    async def make_primary(self, request: Request, call: Call) -> Response:
        self._contacts.make_primary(_org(call), request.path_params["contact_person_id"])
        return _ok("This contact person has been marked as your primary contact person.")

    async def list_persons(self, request: Request, call: Call) -> Response:
        org = _org(call)
        record = self._contacts.get(org, request.path_params["contact_id"])
        query = ContactQuery({k: v for k, v in request.query_params.items()
                              if k in ("page", "per_page")}, self._settings)  # fmt: skip
        persons = [person_out(p) for p in record.get("contact_persons", [])]
        start = (query.page - 1) * query.per_page
        context = {"page": query.page, "per_page": query.per_page,
                   "has_more_page": start + query.per_page < len(persons),
                   "sort_column": "contact_person_id", "sort_order": "A"}  # fmt: skip
        return _ok("success", contact_persons=persons[start : start + query.per_page],
                   page_context=context)  # fmt: skip

    async def get_person(self, request: Request, call: Call) -> Response:
        org = _org(call)
        record = self._contacts.get(org, request.path_params["contact_id"])
        wanted = request.path_params["contact_person_id"]
        for person in record.get("contact_persons", []):
            if str(person["contact_person_id"]) == wanted:
                return _ok("success", contact_person=person_out(person))
        raise ZohoError(DOES_NOT_EXIST_CODE, "Contact person does not exist.",
                        status=self._settings.not_found_status)  # fmt: skip

    # --- reporting tags (the option lists: Department, Job Title) --------------------------

    def _tag(self, org: Record, tag_id: str) -> Record:
        tag = self._contacts.tags_of(str(org["id"])).get(tag_id)
        if tag is None:
            raise ZohoError(DOES_NOT_EXIST_CODE, "Reporting tag does not exist.",
                            status=self._settings.not_found_status)  # fmt: skip
        return tag

    @staticmethod
    def tag_out(tag: Record, *, with_options: bool = True) -> dict[str, Any]:
        out = {k: v for k, v in tag.items() if k not in ("id", "organization_id")}
        if not with_options:
            out.pop("tag_options", None)
        return out

    async def list_tags(self, request: Request, call: Call) -> Response:
        tags = self._contacts.tags_of(str(_org(call)["id"])).values()
        return _ok("success", reporting_tags=[self.tag_out(t, with_options=False) for t in tags])

    async def get_tag(self, request: Request, call: Call) -> Response:
        tag = self._tag(_org(call), request.path_params["tag_id"])
        return _ok("success", reporting_tag=self.tag_out(tag))

    async def update_tag_options(self, request: Request, call: Call) -> Response:
        """[I] replace semantics: kept ids are renamed, new names added, omitted removed."""
        org = _org(call)
        tag = self._tag(org, request.path_params["tag_id"])
        given = (await read_body(request)).get("tag_options")
        if not isinstance(given, list) or not all(isinstance(o, dict) for o in given):
            raise invalid("tag_options")
        current = {str(o["tag_option_id"]): o for o in tag["tag_options"]}
        options: list[Record] = []
        for item in given:
            name = item.get("tag_option_name")
            if not isinstance(name, str) or not name.strip() or len(name) > 100:
                raise invalid("tag_option_name")
            option_id = str(item.get("tag_option_id") or "")
            if option_id and option_id not in current:
                raise invalid("tag_option_id")
            base = current.get(option_id) or {"tag_option_id": self._contacts.new_id()}
            options.append({**base, "tag_option_name": name,
                            "is_active": bool(item.get("is_active", True))})  # fmt: skip
        names = [o["tag_option_name"].casefold() for o in options]
        if len(names) != len(set(names)):
            raise ZohoError(2, "Tag option names must be unique.")
        tag["tag_options"] = options
        return _ok("Reporting tag options have been updated.", reporting_tag=self.tag_out(tag))

    def add_tag_option(self, org: Record, tag_name: str, option: str) -> Record:
        """The UI action "add an option to a list" (no webhook: settings fire none)."""
        wanted = tag_name.casefold()
        tags = [
            t
            for t in self._contacts.tags_of(str(org["id"])).values()
            if t["tag_name"].casefold() == wanted or t["tag_id"] == tag_name
        ]
        if not tags:
            raise ZohoError(DOES_NOT_EXIST_CODE, "Reporting tag does not exist.", status=404)
        tag = tags[0]
        if any(o["tag_option_name"].casefold() == option.casefold() for o in tag["tag_options"]):
            raise ZohoError(2, "Tag option names must be unique.")
        tag["tag_options"].append({"tag_option_id": self._contacts.new_id(),
                                   "tag_option_name": option, "is_active": True})  # fmt: skip
        return tag

    # --- webhook settings ------------------------------------------------------------------

    async def list_webhooks(self, request: Request, call: Call) -> Response:
        hooks = self._webhooks.of(str(_org(call)["id"]))
        return _ok("success", webhooks=[self._webhooks.public(h) for h in hooks])

    async def create_webhook(self, request: Request, call: Call) -> Response:
        org = _org(call)
        hook = self._webhooks.validate(await read_body(request), None)
        hook["id"] = hook["webhook_id"] = self._contacts.new_id()
        hook["organization_id"] = str(org["id"])
        self._state.insert("webhooks", hook)
        return _ok("Webhook has been created.", 201, webhook=self._webhooks.public(hook))

    async def get_webhook(self, request: Request, call: Call) -> Response:
        hook = self._webhooks.get(str(_org(call)["id"]), request.path_params["webhook_id"])
        return _ok("success", webhook=self._webhooks.public(hook))

    async def update_webhook(self, request: Request, call: Call) -> Response:
        hook = self._webhooks.get(str(_org(call)["id"]), request.path_params["webhook_id"])
        hook.update(self._webhooks.validate(await read_body(request), hook))
        return _ok("Webhook has been updated.", webhook=self._webhooks.public(hook))

    async def delete_webhook(self, request: Request, call: Call) -> Response:
        org_id = str(_org(call)["id"])
        hook = self._webhooks.get(org_id, request.path_params["webhook_id"])
        self._state.delete("webhooks", hook["id"])
        return _ok("Webhook has been deleted.")
