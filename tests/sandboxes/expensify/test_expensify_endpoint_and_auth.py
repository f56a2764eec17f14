"""The one endpoint, its request encodings, inline credentials and error envelopes (sheet 1, 9)."""

from __future__ import annotations

import json

from sandboxes.expensify.app import ExpensifySandbox
from sandboxes.expensify.settings import ExpensifySandboxSettings
from tests.sandboxes.expensify.exp_helpers import ENDPOINT, job, pair, unlimited
from tests.sandboxes.sandbox_harness import Connector

POLICY_LIST = {"type": "get", "inputSettings": {"type": "policyList"}}


async def test_a_form_urlencoded_job_answers_json_with_response_code_200(
    connect: Connector,
) -> None:
    async with connect(unlimited()) as client:
        answer = await job(client, {**POLICY_LIST, "credentials": await pair(client)})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["responseCode"] == 200
        assert [p["name"] for p in answer.json()["policyList"]] == [
            "Acme Creative US",
            "Acme Creative Europe",
        ]


async def test_multipart_and_get_query_carry_the_same_job(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        description = json.dumps({**POLICY_LIST, "credentials": await pair(client)})
        multipart = await client.post(
            ENDPOINT, files={"requestJobDescription": (None, description)}
        )
        query = await client.get(ENDPOINT, params={"requestJobDescription": description})
        assert multipart.json()["responseCode"] == 200
        assert query.json() == multipart.json()


async def test_a_wrong_secret_is_refused_with_http_200_and_a_response_code(
    connect: Connector,
) -> None:
    async with connect(unlimited()) as client:
        credentials = await pair(client)
        credentials["partnerUserSecret"] = "not-the-secret"
        answer = await job(client, {**POLICY_LIST, "credentials": credentials})
        assert answer.status_code == 200
        assert answer.json() == {"responseMessage": "Authentication error", "responseCode": 407}
        missing = await job(client, POLICY_LIST)
        assert missing.json()["responseCode"] == 407


async def test_the_auth_failure_code_and_http_status_are_settings(connect: Connector) -> None:
    settings = {"auth_error_code": 401, "auth_error_message": "Bad creds",
                "errors_as_http_200": False}  # fmt: skip
    async with connect(unlimited(**settings)) as client:
        wrong = {"partnerUserID": "x", "partnerUserSecret": "y"}
        answer = await job(client, {**POLICY_LIST, "credentials": wrong})
        assert answer.status_code == 401
        assert answer.json() == {"responseMessage": "Bad creds", "responseCode": 401}


async def test_a_rotated_secret_stops_working_and_the_new_one_works(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        old = await pair(client)
        rotated = (await client.post("/_sandbox/actions/rotate_credentials", json={})).json()
        assert rotated["partnerUserID"] == old["partnerUserID"]
        assert rotated["partnerUserSecret"] != old["partnerUserSecret"]
        refused = await job(client, {**POLICY_LIST, "credentials": old})
        assert refused.json()["responseCode"] == 407
        accepted = await job(client, {**POLICY_LIST, "credentials": await pair(client)})
        assert accepted.json()["responseCode"] == 200


async def test_credentials_expire_on_the_sandbox_clock_when_a_lifetime_is_set(
    connect: Connector,
) -> None:
    async with connect(unlimited(credential_ttl_seconds=3600)) as client:
        credentials = await pair(client)
        assert (await job(client, {**POLICY_LIST, "credentials": credentials})).json()[
            "responseCode"
        ] == 200
        await client.post("/_sandbox/clock", json={"advance_seconds": 3601})
        expired = await job(client, {**POLICY_LIST, "credentials": credentials})
        assert expired.json()["responseCode"] == 407


async def test_an_unknown_job_type_is_a_410_validation_error(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        answer = await job(client, {"type": "frobnicate", "credentials": await pair(client)})
        assert answer.status_code == 200
        assert answer.json() == {
            "responseMessage": "Argument 'type' is missing or malformed",
            "responseCode": 410,
        }


async def test_a_request_without_a_job_description_gets_the_old_html_500_page(
    connect: Connector,
) -> None:
    async with connect(unlimited()) as client:
        absent = await client.post(ENDPOINT, data={"template": "x"})
        assert absent.status_code == 500
        assert "HTTP Status 500 - requestJobDescription" in absent.text
        broken = await client.post(ENDPOINT, data={"requestJobDescription": "{not json"})
        assert broken.status_code == 500
        assert "JSONObject" in broken.text


async def test_malformed_requests_can_answer_the_json_envelope_instead(
    connect: Connector,
) -> None:
    async with connect(unlimited(malformed_request_answer="json_410")) as client:
        answer = await client.post(ENDPOINT, data={})
        assert answer.status_code == 200
        assert answer.json()["responseCode"] == 410


async def test_get_can_be_switched_off(connect: Connector) -> None:
    sandbox = ExpensifySandbox(settings=ExpensifySandboxSettings(accept_get=False))
    async with connect(sandbox) as client:
        description = json.dumps({**POLICY_LIST, "credentials": await pair(client)})
        answer = await client.get(ENDPOINT, params={"requestJobDescription": description})
        assert answer.status_code == 500


async def test_the_control_credentials_have_the_issue_keys(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        creds = (await client.post("/_sandbox/credentials")).json()
        assert set(creds) == {"partner_user_id", "partner_user_secret", "policy_id"}
        assert creds["policy_id"] == "A1C3E5F7092B4D6E"
