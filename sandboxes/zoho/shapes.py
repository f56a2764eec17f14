"""How a stored contact renders: the full record (GET one / writes) and the list row.

Live Zoho answers carry many undocumented extras (sheet section 4, NANGO recordings); the
sandbox renders the same keys so clients that read them find them. Stored records keep only
what was written; everything else is a default here or derived from the stored fields.
"""

from __future__ import annotations

import copy
from typing import Any

from sandboxes.kit import Record

__all__ = ["full_contact", "person_out", "summary_row"]

_ADDRESS_KEYS = (
    "attention", "address", "street2", "city", "state_code", "state", "zip", "country",
    "county", "latitude", "longitude", "country_code", "phone", "fax",
)  # fmt: skip

_EMPTY_STRINGS = (
    "company_name", "contact_tax_information", "website", "language_code",
    "language_code_formatted", "photo_url", "invited_by", "contact_relation_type", "owner_id",
    "owner_name", "twitter", "facebook", "zcrm_account_id", "zcrm_contact_id", "crm_owner_id",
    "exchange_rate", "opening_balance_amount_bcy", "consent_date", "tax_id_type",
    "tax_id_value", "tax_reg_label", "account_id", "account_name", "contact_category",
    "pricebook_id", "pricebook_name", "notes", "zohopeople_client_id", "submitted_date",
    "submitted_by", "submitted_by_name", "submitted_by_email", "submitted_by_photo_url",
    "submitter_id", "approver_id",
)  # fmt: skip
_ZEROES = (
    "credit_limit_exceeded_amount", "opening_balance_amount", "outstanding_ob_receivable_amount",
    "outstanding_ob_payable_amount", "outstanding_receivable_amount",
    "outstanding_receivable_amount_bcy", "outstanding_payable_amount",
    "outstanding_payable_amount_bcy", "unused_credits_receivable_amount",
    "unused_credits_receivable_amount_bcy", "unused_credits_payable_amount",
    "unused_credits_payable_amount_bcy", "unused_retainer_payments", "portal_receipt_count",
)  # fmt: skip
_EMPTY_LISTS = (
    "documents", "locked_actions", "opening_balances", "addresses", "cards", "checks",
    "upi_mandates", "bank_accounts", "vpa_list", "approvers_list", "integration_references",
)  # fmt: skip
_TEMPLATES = ("statement", "invoice", "bill", "estimate", "creditnote", "paymentthankyou",
              "invoice_email", "estimate_email", "creditnote_email", "paymentthankyou_email",
              "payment_remittance_email")  # fmt: skip

_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(_EMPTY_STRINGS, ""),
    **dict.fromkeys(_ZEROES, 0),
    **{key: [] for key in _EMPTY_LISTS},
    "is_bcy_only_contact": True,
    "is_credit_limit_migration_completed": True,
    "portal_status": "disabled",
    "is_client_review_asked": False,
    "has_transaction": False,
    "contact_type": "customer",
    "customer_sub_type": "business",
    "source": "api",
    "is_crm_customer": False,
    "is_linked_with_zohocrm": False,
    "payment_terms": 0,
    "payment_terms_label": "Due on Receipt",
    "lock_details": {"can_lock": False},
    "lock_detail": {"can_lock": True, "custom_locks": [], "system_locks": []},
    "price_precision": 2,
    "can_show_customer_ob": True,
    "can_show_vendor_ob": True,
    "status": "active",
    "payment_reminder_enabled": True,
    "is_sms_enabled": True,
    "is_consent_agreed": False,
    "is_client_review_settings_enabled": False,
    "track_1099": False,
    "sales_channel": "direct_sales",
    "ach_supported": False,
    "associated_with_square": False,
    "credit_limit": 0,
    "tags": [],
    "custom_fields": [],
    "contact_persons": [],
    "default_templates": {
        f"{name}_template_{part}": "" for name in _TEMPLATES for part in ("id", "name")
    },
}

_PERSON_DEFAULTS: dict[str, Any] = {
    "salutation": "", "first_name": "", "last_name": "", "email": "", "phone": "",
    "mobile": "", "designation": "", "department": "", "skype": "", "fax": "",
    "is_primary_contact": False, "enable_portal": False, "communication_preference": {
        "is_email_enabled": True, "is_sms_enabled": False, "is_whatsapp_enabled": False},
}  # fmt: skip

# Fields the list row takes from the record as they are (sheet section 8, NANGO list).
_ROW_KEYS = (
    "contact_id", "contact_name", "company_name", "website", "language_code",
    "language_code_formatted", "contact_type", "status", "customer_sub_type", "source",
    "is_linked_with_zohocrm", "payment_terms", "payment_terms_id", "payment_terms_label",
    "currency_id", "twitter", "facebook", "currency_code", "outstanding_receivable_amount",
    "outstanding_receivable_amount_bcy", "outstanding_payable_amount",
    "outstanding_payable_amount_bcy", "unused_credits_receivable_amount",
    "unused_credits_receivable_amount_bcy", "unused_credits_payable_amount",
    "unused_credits_payable_amount_bcy", "first_name", "last_name", "email", "phone", "mobile",
    "portal_status", "track_1099", "created_time", "last_modified_time", "custom_fields",
    "custom_field_hash", "tags", "ach_supported",
)  # fmt: skip

INTERNAL_KEYS = ("id", "organization_id", "last_modified_date")


def person_out(person: Record) -> dict[str, Any]:
    return {**copy.deepcopy(_PERSON_DEFAULTS), **copy.deepcopy(person)}


def _address(value: object, address_id: str) -> dict[str, Any]:
    stored = value if isinstance(value, dict) else {}
    return {"address_id": address_id, **dict.fromkeys(_ADDRESS_KEYS, ""), **stored}


def _primary(persons: list[dict[str, Any]]) -> dict[str, Any]:
    for person in persons:
        if person.get("is_primary_contact"):
            return person
    return {}


def full_contact(record: Record, org: Record, tags: dict[str, Record]) -> dict[str, Any]:
    """The contact as GET /contacts/{id} answers it."""
    out: dict[str, Any] = copy.deepcopy(_DEFAULTS)
    out.update({k: copy.deepcopy(v) for k, v in record.items() if k not in INTERNAL_KEYS})
    persons = [person_out(p) for p in record.get("contact_persons", [])]
    primary = _primary(persons)
    out["contact_persons"] = persons
    out["primary_contact_id"] = primary.get("contact_person_id", "")
    for key in ("first_name", "last_name", "email", "phone", "mobile", "designation",
                "department"):  # fmt: skip
        out[key] = primary.get(key, "")
    out["contact_salutation"] = primary.get("salutation", "")
    out["currency_id"] = org["currency_id"]
    out["currency_code"] = org["currency_code"]
    out["currency_symbol"] = org["currency_symbol"]
    out["payment_terms_id"] = org["payment_terms_id"]
    base = str(record["contact_id"])
    out["billing_address"] = _address(record.get("billing_address"), base + "1")
    out["shipping_address"] = _address(record.get("shipping_address"), base + "2")
    out["entity_address_id"] = base + "3"
    out["custom_field_hash"] = custom_field_hash(out["custom_fields"])
    out["tags"] = [_tag_out(tag, tags) for tag in record.get("tags", [])]
    out["created_by_name"] = org["contact_name"]
    out["created_by_id"] = org["user_id"]
    out["last_modified_by_id"] = org["user_id"]
    out["customer_currency_summaries"] = [
        {
            "currency_id": org["currency_id"],
            "currency_code": org["currency_code"],
            "currency_symbol": org["currency_symbol"],
            "price_precision": 2,
            "is_base_currency": True,
            "currency_name_formatted": org["currency_name_formatted"],
            "outstanding_receivable_amount": out["outstanding_receivable_amount"],
            "unused_credits_receivable_amount": out["unused_credits_receivable_amount"],
        }
    ]
    return out


def custom_field_hash(fields: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in fields:
        name = item.get("api_name")
        if name:
            result[name] = item.get("value")
            result[f"{name}_unformatted"] = item.get("value")
    return result


def _tag_out(tag: dict[str, Any], tags: dict[str, Record]) -> dict[str, Any]:
    known = tags.get(str(tag.get("tag_id")), {})
    options = {str(o["tag_option_id"]): o for o in known.get("tag_options", [])}
    option = options.get(str(tag.get("tag_option_id")), {})
    return {
        "tag_id": str(tag.get("tag_id")),
        "tag_name": known.get("tag_name", ""),
        "tag_option_id": str(tag.get("tag_option_id")),
        "tag_option_name": option.get("tag_option_name", ""),
        "is_tag_mandatory": False,
    }


def summary_row(full: dict[str, Any], record: Record) -> dict[str, Any]:
    """The list row Zoho answers for a contact (not the full object: no contact_persons)."""
    row = {key: full.get(key) for key in _ROW_KEYS}
    row["customer_name"] = full["contact_name"]
    row["vendor_name"] = full["contact_name"]
    row["contact_type_formatted"] = "Vendors" if full["contact_type"] == "vendor" else "Customer"
    row["portal_status_formatted"] = str(full["portal_status"]).capitalize()
    row["created_time_formatted"] = full.get("created_date", "")
    row["last_modified_time_formatted"] = record.get("last_modified_date", "")
    row["contactperson_custom_fields"] = []
    row["has_attachment"] = False
    return row
