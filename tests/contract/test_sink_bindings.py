"""The sink contract (``sink_contract.py``), run for every sink against its sandbox in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.contract.acumatica_employees import AcumaticaEmployees, acumatica_employees
from tests.contract.bill_bills import BillBills, bill_bills
from tests.contract.freshbooks_bill_payments import (
    FreshBooksBillPayments,
    freshbooks_bill_payments,
)
from tests.contract.freshbooks_expense_reports import (
    FreshBooksExpenseReports,
    freshbooks_expense_reports,
)
from tests.contract.freshbooks_people import FreshBooksPeople, freshbooks_people
from tests.contract.sink_contract import AppliedScreenContract, SinkContract
from tests.contract.zoho_contacts import ZohoContacts, zoho_contacts


class TestFreshBooksPeopleSink(AppliedScreenContract):
    @pytest.fixture
    async def binding(self, tmp_path: Path) -> AsyncIterator[FreshBooksPeople]:
        async with freshbooks_people(tmp_path) as bound:
            yield bound


class TestZohoContactsSink(AppliedScreenContract):
    @pytest.fixture
    async def binding(self, tmp_path: Path) -> AsyncIterator[ZohoContacts]:
        async with zoho_contacts(tmp_path) as bound:
            yield bound


class TestAcumaticaEmployeesSink(AppliedScreenContract):
    @pytest.fixture
    async def binding(self, tmp_path: Path) -> AsyncIterator[AcumaticaEmployees]:
        async with acumatica_employees(tmp_path) as bound:
            yield bound


class TestBillBillsSink(SinkContract):
    @pytest.fixture
    async def binding(self, tmp_path: Path) -> AsyncIterator[BillBills]:
        async with bill_bills(tmp_path) as bound:
            yield bound


class TestFreshBooksBillPaymentsSink(SinkContract):
    @pytest.fixture
    async def binding(self, tmp_path: Path) -> AsyncIterator[FreshBooksBillPayments]:
        async with freshbooks_bill_payments(tmp_path) as bound:
            yield bound


class TestFreshBooksExpenseReportsSink(SinkContract):
    @pytest.fixture
    async def binding(self, tmp_path: Path) -> AsyncIterator[FreshBooksExpenseReports]:
        async with freshbooks_expense_reports(tmp_path) as bound:
            yield bound
