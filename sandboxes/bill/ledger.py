"""BILL's AP records: vendors, bills with line items, payments and classifications.

Records are stored in the shape `GET` answers (sheet sections 7-10), plus hidden fields whose
names start with `_` (`_org` scopes a record to its organization). `view()` strips those and
the unpopulated fields, as live BILL omits them. Every change calls `emit(event_type, record)`
so the webhook side can notify subscribers; there is no `payment.created` event (sheet 11).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sandboxes.bill.errors import BillError, iso_millis
from sandboxes.bill.ids import new_id
from sandboxes.bill.settings import BillSandboxSettings
from sandboxes.kit import Record, SandboxClock, State

__all__ = ["CLASSIFICATIONS", "Emit", "Ledger", "view"]

Emit = Callable[[str, str, Record], None]
"""(event type, organization id, record) -> None."""

CLASSIFICATIONS: dict[str, tuple[str, str]] = {
    "chart-of-accounts": ("chart_of_accounts", "chart_of_account"),
    "accounting-classes": ("accounting_classes", "accounting_class"),
    "departments": ("departments", "department"),
    "locations": ("locations", "location"),
}
"""URL segment -> (collection, id kind)."""

FUNDING_TYPES = ("BANK_ACCOUNT", "CARD_ACCOUNT", "AP_CARD", "WALLET")
ACCOUNT_TYPES = ("BUSINESS", "PERSON", "NONE")


def view(record: Record) -> Record:
    """What BILL answers: no hidden fields, no unpopulated (None) fields."""
    return {k: v for k, v in record.items() if not k.startswith("_") and v is not None}


def _required(message: str) -> BillError:
    return BillError(400, "BDC_1001", message)


def _money(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _required(f"{name}: must be a number")
    return round(float(value), 2)


def _date(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise _required(f"{name}: The {name} field is required")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _required(f"{name}: must be a date in yyyy-MM-dd format") from None
    return value


class Ledger:
    """Creates, changes and reads the AP records of every organization."""

    def __init__(
        self, state: State, clock: SandboxClock, settings: BillSandboxSettings, emit: Emit
    ) -> None:
        self._state = state
        self._clock = clock
        self._settings = settings
        self._emit = emit

    def _now(self) -> str:
        return iso_millis(self._clock.now())

    def owned(self, collection: str, record_id: str, org: str) -> Record:
        record = self._state.get(collection, record_id)
        if record is None or record.get("_org") != org:
            raise BillError(404, "BDC_1103", f"Object not found: {record_id}")
        return record

    def of_org(self, collection: str, org: str) -> list[Record]:
        return [r for r in self._state.records(collection) if r.get("_org") == org]

    # --- vendors ---------------------------------------------------------------------

    def create_vendor(self, body: object, org: str) -> Record:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            raise _required("name: The name field is required")
        account_type = body.get("accountType", "BUSINESS")
        if account_type not in ACCOUNT_TYPES:
            raise _required(f"accountType: invalid value {account_type}")
        now = self._now()
        payment = dict(body.get("paymentInformation") or {})
        payment.setdefault("payeeName", body["name"])
        payment.setdefault("payByType", "ACH" if payment.get("bankAccount") else "CHECK")
        record: Record = {
            "id": new_id("vendor"),
            "archived": False,
            "name": body["name"],
            "shortName": body.get("shortName"),
            "accountNumber": body.get("accountNumber"),
            "accountType": account_type,
            "email": body.get("email"),
            "phone": body.get("phone"),
            "address": body.get("address"),
            "paymentInformation": payment,
            # [I] what BILL fills in for a new vendor when the body leaves these out.
            "additionalInfo": body.get("additionalInfo") or {"track1099": False},
            "autoPay": {"enabled": False},
            "bankAccountStatus": "PENDING_VERIFICATION"
            if payment.get("bankAccount")
            else "NOT_ADDED",
            "billCurrency": body.get("billCurrency", "USD"),
            "recurringPayments": False,
            "networkStatus": "NOT_CONNECTED",
            "balance": {"amount": 0.0},
            "createdTime": now,
            "updatedTime": now,
            "_org": org,
        }
        self._state.insert("vendors", record)
        self._emit("vendor.created", org, record)
        return record

    def update_vendor(self, vendor_id: str, body: object, org: str) -> Record:
        record = self.owned("vendors", vendor_id, org)
        if not isinstance(body, dict):
            raise _required("Request body must be a JSON object.")
        if "paymentInformation" in body and "bankAccount" in (body["paymentInformation"] or {}):
            raise _required("paymentInformation.bankAccount: cannot be changed with PATCH")
        for key in (
            "name",
            "shortName",
            "accountNumber",
            "accountType",
            "email",
            "phone",
            "address",
            "additionalInfo",
            "billCurrency",
            "paymentInformation",
        ):
            if key in body:
                if key == "paymentInformation":
                    record[key] = {**(record.get(key) or {}), **(body[key] or {})}
                else:
                    record[key] = body[key]
        record["updatedTime"] = self._now()
        self._emit("vendor.updated", org, record)
        return record

    # --- archive / restore (every entity) ---------------------------------------------

    def set_archived(
        self, collection: str, record_id: str, org: str, *, archived: bool, event: str | None
    ) -> Record:
        record = self.owned(collection, record_id, org)
        changed = record.get("archived") != archived
        record["archived"] = archived
        if changed:
            record["updatedTime"] = self._now()
            if event is not None:
                self._emit(f"{event}.{'archived' if archived else 'restored'}", org, record)
        return record

    # --- classifications --------------------------------------------------------------

    def create_classification(self, segment: str, body: object, org: str) -> Record:
        collection, kind = CLASSIFICATIONS[segment]
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            raise _required("name: The name field is required")
        now = self._now()
        record: Record = {
            "id": new_id(kind),
            "archived": False,
            "name": body["name"],
            "shortName": body.get("shortName"),
            "description": body.get("description"),
            "parentId": body.get("parentId"),
            "createdTime": now,
            "updatedTime": now,
            "_org": org,
        }
        if segment == "chart-of-accounts":
            record.pop("shortName")
            record["account"] = body.get("account") or {"type": "UNSPECIFIED"}
        self._state.insert(collection, record)
        return record

    def update_classification(self, segment: str, record_id: str, body: object, org: str) -> Record:
        collection, _ = CLASSIFICATIONS[segment]
        record = self.owned(collection, record_id, org)
        if not isinstance(body, dict):
            raise _required("Request body must be a JSON object.")
        for key in ("name", "shortName", "description", "parentId", "account"):
            if key in body:
                record[key] = body[key]
        record["updatedTime"] = self._now()
        return record

    # --- bills ------------------------------------------------------------------------

    def _lines(self, raw: object, org: str) -> list[Record]:
        if not isinstance(raw, list) or not raw:
            raise _required("billLineItems: The billLineItems field is required")
        lines: list[Record] = []
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                raise _required(f"billLineItems[{index}]: must be an object")
            if "amount" in item:
                amount = _money(item["amount"], f"billLineItems[{index}].amount")
            elif "quantity" in item and "price" in item:
                quantity = _money(item["quantity"], f"billLineItems[{index}].quantity")
                amount = round(quantity * _money(item["price"], f"billLineItems[{index}].price"), 2)
            else:
                raise _required(f"billLineItems[{index}].amount: The amount field is required")
            classifications = item.get("classifications") or {}
            account = classifications.get("chartOfAccountId")
            if account is not None:
                self.owned("chart_of_accounts", str(account), org)
            lines.append(
                {
                    "id": item.get("id") or new_id("bill_line_item"),
                    "amount": amount,
                    "quantity": item.get("quantity"),
                    "price": item.get("price"),
                    "description": item.get("description"),
                    "classifications": classifications or None,
                }
            )
        return lines

    def _bill_fields(self, body: object, org: str) -> Record:
        if not isinstance(body, dict):
            raise _required("Request body must be a JSON object.")
        vendor_id = body.get("vendorId")
        if not isinstance(vendor_id, str):
            raise _required("vendorId: The vendorId field is required")
        vendor = self.owned("vendors", vendor_id, org)
        invoice = body.get("invoice")
        if not isinstance(invoice, dict) or not invoice.get("invoiceNumber"):
            raise _required("invoice.invoiceNumber: The invoiceNumber field is required")
        invoice_date = _date(invoice.get("invoiceDate"), "invoice.invoiceDate")
        lines = self._lines(body.get("billLineItems"), org)
        return {
            "vendorId": vendor_id,
            "vendorName": vendor["name"],
            "dueDate": _date(body.get("dueDate"), "dueDate"),
            "description": body.get("description"),
            "invoice": {
                "invoiceNumber": str(invoice["invoiceNumber"]),
                "invoiceDate": invoice_date,
            },
            "billLineItems": lines,
            "amount": round(sum(line["amount"] for line in lines), 2),
            "classifications": body.get("classifications"),
            "payFromChartOfAccountId": body.get("payFromChartOfAccountId"),
            "purchaseOrderNumber": body.get("purchaseOrderNumber"),
        }

    def _check_duplicate(self, fields: Record, org: str, own_id: str | None) -> None:
        if self._settings.duplicate_invoice_number == "allow":
            return
        number = fields["invoice"]["invoiceNumber"]
        for other in self.of_org("bills", org):
            if (
                other["id"] != own_id
                and other["vendorId"] == fields["vendorId"]
                and (other["invoice"]["invoiceNumber"] == number)
            ):
                raise _required(f"invoice.invoiceNumber: duplicate invoice number {number}")

    def create_bill(self, body: object, org: str) -> Record:
        fields = self._bill_fields(body, org)
        self._check_duplicate(fields, org, None)
        now = self._now()
        record: Record = {
            "id": new_id("bill"),
            "archived": False,
            **fields,
            "paidAmount": 0.0,
            "scheduledAmount": 0.0,
            "creditAmount": 0.0,
            "fundingAmount": fields["amount"],
            "exchangeRate": 1.0,
            "paymentStatus": "UNPAID",
            "approvalStatus": "UNASSIGNED",
            "approvers": [],
            "createdTime": now,
            "updatedTime": now,
            "_org": org,
        }
        self._recompute(record)
        self._state.insert("bills", record)
        self._emit("bill.created", org, record)
        return record

    def replace_bill(self, bill_id: str, body: object, org: str, *, partial: bool) -> Record:
        record = self.owned("bills", bill_id, org)
        if partial:
            if not isinstance(body, dict):
                raise _required("Request body must be a JSON object.")
            merged = {
                "vendorId": record["vendorId"],
                "dueDate": record["dueDate"],
                "invoice": record["invoice"],
                "description": record.get("description"),
                "classifications": record.get("classifications"),
                "payFromChartOfAccountId": record.get("payFromChartOfAccountId"),
                "purchaseOrderNumber": record.get("purchaseOrderNumber"),
                **body,
                "billLineItems": _patched_lines(record["billLineItems"], body),
            }
            fields = self._bill_fields(merged, org)
        else:
            fields = self._bill_fields(body, org)
        self._check_duplicate(fields, org, bill_id)
        if fields["amount"] < record["paidAmount"] + record["scheduledAmount"]:
            raise _required("amount: cannot be less than the amount paid or scheduled")
        record.update(fields)
        record["updatedTime"] = self._now()
        self._recompute(record)
        self._emit("bill.updated", org, record)
        return record

    @staticmethod
    def _recompute(bill: Record) -> None:
        due = round(bill["amount"] - bill["paidAmount"] - bill["creditAmount"], 2)
        bill["dueAmount"] = max(0.0, due)
        if bill["paidAmount"] > 0 and bill["dueAmount"] == 0:
            bill["paymentStatus"] = "PAID"
        elif bill["scheduledAmount"] > 0 and bill["scheduledAmount"] >= bill["dueAmount"]:
            bill["paymentStatus"] = "SCHEDULED"
        elif bill["paidAmount"] > 0:
            bill["paymentStatus"] = "PARTIAL"
        else:
            bill["paymentStatus"] = "UNPAID"

    # --- payments ---------------------------------------------------------------------

    def create_payment(self, body: object, org: str, *, created_by: str) -> Record:
        if not isinstance(body, dict):
            raise _required("Request body must be a JSON object.")
        vendor_id = body.get("vendorId")
        if not isinstance(vendor_id, str):
            raise _required("vendorId: The vendorId field is required")
        vendor = self.owned("vendors", vendor_id, org)
        amount = _money(body.get("amount"), "amount")
        if amount <= 0:
            raise _required("amount: must be greater than 0")
        funding = body.get("fundingAccount")
        if not isinstance(funding, dict) or funding.get("type") not in FUNDING_TYPES:
            raise _required("fundingAccount: The fundingAccount field is required")
        process_date = _date(
            body.get("processDate", self._clock.now().date().isoformat()), "processDate"
        )
        options = body.get("processingOptions") or {}
        bill_id = body.get("billId")
        if bill_id is None and options.get("createBill"):
            # [V] paying without a bill auto-creates one (changelog 2024-05-06).
            bill_id = self.create_bill(
                {
                    "vendorId": vendor_id,
                    "dueDate": process_date,
                    "invoice": {
                        "invoiceNumber": body.get("transactionNumber") or new_id("bill"),
                        "invoiceDate": process_date,
                    },
                    "billLineItems": [{"amount": amount, "description": body.get("description")}],
                },
                org,
            )["id"]
        if not isinstance(bill_id, str):
            raise _required("billId: The billId field is required")
        bill = self.owned("bills", bill_id, org)
        if bill["vendorId"] != vendor_id:
            raise _required("billId: the bill belongs to another vendor")
        open_amount = round(bill["dueAmount"] - bill["scheduledAmount"], 2)
        if amount > open_amount:
            raise _required(f"amount: exceeds the bill's open amount {open_amount}")
        transaction = body.get("transactionNumber")
        if transaction is not None and (not isinstance(transaction, str) or len(transaction) > 50):
            raise _required("transactionNumber: at most 50 characters")
        now = self._now()
        payment: Record = {
            "id": new_id("payment"),
            "amount": amount,
            "vendorId": vendor_id,
            "vendorName": vendor["name"],
            "billId": bill_id,
            "billPayments": [
                {
                    "id": new_id("bill_payment"),
                    "billId": bill_id,
                    "amount": amount,
                    "vendorCredits": [],
                },
            ],
            "description": body.get("description"),
            "processDate": process_date,
            "fundingAccount": funding,
            "processingOptions": view(
                {
                    "requestPayFaster": bool(options.get("requestPayFaster", False)),
                    "createBill": bool(options.get("createBill", False)),
                    "requestCheckDeliveryType": options.get("requestCheckDeliveryType"),
                }
            ),
            "transactionNumber": transaction or new_id("payment")[5:15].upper(),
            "confirmationNumber": "P" + new_id("payment")[5:17].upper(),
            "status": "SCHEDULED",
            "singleStatus": "SCHEDULED",
            "disbursementType": vendor["paymentInformation"].get("payByType", "CHECK"),
            "disbursementStatus": "SCHEDULED",
            "exchangeRate": 1.0,
            "fundingAmount": amount,
            "onlinePayment": True,
            "cancelRequestSubmitted": False,
            "voidInfo": [],
            "createdTime": now,
            "updatedTime": now,
            "createdBy": created_by,
            "_org": org,
            "_clearsAt": self._clock.timestamp() + self._settings.payment_clears_after_seconds,
        }
        self._state.insert("payments", payment)
        bill["scheduledAmount"] = round(bill["scheduledAmount"] + amount, 2)
        bill["updatedTime"] = now
        self._recompute(bill)
        self._emit("payment.updated", org, payment)
        self._emit("bill.updated", org, bill)
        return payment

    def settle_due_payments(self) -> list[Record]:
        """Move every scheduled payment whose time has come to PAID/CLEARED (sandbox clock)."""
        settled: list[Record] = []
        now = self._clock.timestamp()
        for payment in self._state.records("payments"):
            if payment["status"] != "SCHEDULED" or payment.get("_clearsAt", now + 1) > now:
                continue
            stamp = self._now()
            payment.update(
                status="PAID",
                singleStatus="CLEARED",
                disbursementStatus="CLEARED",
                updatedTime=stamp,
            )
            org = payment["_org"]
            for part in payment["billPayments"]:
                bill = self._state.get("bills", part["billId"])
                if bill is None:
                    continue
                bill["scheduledAmount"] = max(
                    0.0, round(bill["scheduledAmount"] - part["amount"], 2)
                )
                bill["paidAmount"] = round(bill["paidAmount"] + part["amount"], 2)
                bill["updatedTime"] = stamp
                self._recompute(bill)
                self._emit("bill.updated", org, bill)
            vendor = self._state.get("vendors", payment["vendorId"])
            if vendor is not None:
                vendor["paymentInformation"]["lastPaymentDate"] = payment["processDate"]
            self._emit("payment.updated", org, payment)
            settled.append(payment)
        return settled

    def void_payment(self, payment_id: str, org: str) -> Record:
        """``POST /v3/payments/{id}/void`` (§9): the payment is VOIDED and its bills owe again.

        A voided payment's amounts leave its bills' paid (or scheduled) amounts [I: the
        sheet names the call and the VOIDED status, not its effect on the bill].
        """
        payment = self.owned("payments", payment_id, org)
        if payment["singleStatus"] in ("VOIDED", "CANCELED"):
            return payment  # voiding again changes nothing
        cleared = payment["status"] == "PAID"
        stamp = self._now()
        payment.update(status="VOID", singleStatus="VOIDED", disbursementStatus="VOIDED",
                       updatedTime=stamp)  # fmt: skip
        payment["voidInfo"] = [*payment.get("voidInfo", []), {"voidDate": stamp[:10]}]
        for part in payment["billPayments"]:
            bill = self._state.get("bills", part["billId"])
            if bill is None:
                continue
            field = "paidAmount" if cleared else "scheduledAmount"
            bill[field] = max(0.0, round(bill[field] - part["amount"], 2))
            bill["updatedTime"] = stamp
            self._recompute(bill)
            self._emit("bill.updated", org, bill)
        self._emit("payment.updated", org, payment)
        return payment

    def due_date_in(self, days: int) -> str:
        return (self._clock.now().date() + timedelta(days=days)).isoformat()


def _patched_lines(lines: list[Record], body: Record) -> list[Record]:
    """PATCH changes the line items it names by ``id`` and keeps the others (PM "Update a
    bill"); adding or removing lines is PUT's ("Replace a bill"). A PATCH line with no id,
    or an id the bill lacks, is refused [I]: the collection documents neither."""
    named = body.get("billLineItems")
    if named is None:
        return [dict(line) for line in lines]
    if not isinstance(named, list):
        raise _required("billLineItems: must be a list")
    merged = {str(line["id"]): dict(line) for line in lines}
    for index, item in enumerate(named):
        if not isinstance(item, dict) or not item.get("id"):
            raise _required(
                f"billLineItems[{index}].id: PATCH changes existing line items by id; "
                "add or remove line items with PUT"
            )
        line_id = str(item["id"])
        if line_id not in merged:
            raise _required(f"billLineItems[{index}].id: no line item {line_id} on this bill")
        changed = {**merged[line_id], **item}
        if "amount" not in item and ("quantity" in item or "price" in item):
            changed.pop("amount", None)  # BILL computes it from the new quantity and price
        merged[line_id] = changed
    return list(merged.values())
