"""The dev stack's flows are data every other part agrees with, and every sandbox can connect."""

from __future__ import annotations

import pytest

from devstack import demo
from devstack.accounts import AccountError, connect_accounts, key_credentials
from devstack.flows import CONSENT_OPTIONS, FLOWS, Flow, UnknownFlowError, flows_named, services_of
from devstack.stack import StackInfo
from services.control.connections import FLOWS as CONTROL_FLOWS
from services.runtime.credential_fields import CredentialField, CredentialSpec
from services.vendors import VENDORS, plugin


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name)
def test_each_flow_is_one_the_operator_api_links_between_registered_vendors(flow: Flow) -> None:
    assert flow.name in CONTROL_FLOWS
    assert {flow.source, flow.target} <= set(VENDORS)
    assert flow.source != flow.target


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name)
def test_each_built_flow_has_a_demo_play(flow: Flow) -> None:
    assert flow.name in demo.PLAYS


def test_the_services_of_flows_are_their_vendors_each_once_in_order() -> None:
    flows = (Flow("a", "x", "y"), Flow("b", "z", "y"), Flow("c", "y", "x"))

    assert services_of(flows) == ("x", "y", "z")


def test_flows_are_chosen_by_name_and_none_means_every_built_flow() -> None:
    assert flows_named(None) == FLOWS
    assert flows_named([FLOWS[0].name]) == (FLOWS[0],)


def test_an_unknown_flow_is_an_error_listing_the_built_ones() -> None:
    with pytest.raises(UnknownFlowError) as raised:
        flows_named(["people-nowhere"])

    assert "people-nowhere" in str(raised.value)
    assert all(flow.name in str(raised.value) for flow in FLOWS)


def test_make_demo_with_an_unknown_flow_exits_2_and_names_the_built_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert demo.main(["--flow", "people-nowhere"]) == demo.EXIT_UNKNOWN_FLOW

    err = capsys.readouterr().err
    assert "unknown flow people-nowhere" in err
    assert FLOWS[0].name in err


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_vendor_has_a_way_to_be_connected(vendor: str) -> None:
    # make up connects every sandbox account: by consent (oauth) or with key fields.
    found = plugin(vendor)

    assert found.oauth is not None or found.credentials is not None


def test_consent_options_are_for_oauth_vendors() -> None:
    for vendor in CONSENT_OPTIONS:
        assert plugin(vendor).oauth is not None, vendor


SPEC = CredentialSpec(
    vendor="v",
    style="password",
    fields=(
        CredentialField("user", secret=False),
        CredentialField("password", secret=True),
        CredentialField("branch", secret=False, required=False),
    ),
)


def test_key_credentials_are_the_specs_fields_read_from_the_sandbox() -> None:
    sandbox = {"user": "u", "password": "p", "client_id": "not a field", "branch": None}

    assert key_credentials(SPEC, sandbox) == {"user": "u", "password": "p"}


def test_a_required_field_the_sandbox_lacks_is_named() -> None:
    with pytest.raises(AccountError, match="gives no password"):
        key_credentials(SPEC, {"user": "u", "password": None})


async def test_a_sandbox_nothing_can_connect_is_reported_by_name_not_skipped() -> None:
    info = StackInfo(
        kafka="127.0.0.1:9",
        ingest="http://127.0.0.1:9",
        operator_token="t",
        sandboxes={"nowhere": "http://127.0.0.1:9"},
    )
    said: list[str] = []

    await connect_accounts(info, (), {}, earlier={}, say=said.append)

    assert info.connections == {}
    assert "no plugin" in info.unconnected["nowhere"]
    assert any(line.startswith("nowhere: NOT connected") for line in said)
