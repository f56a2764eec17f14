"""`swagger.json` per endpoint version: the exports' dialect and shape; our answers fit it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.sandboxes.acumatica.acumatica_helpers import (
    DEFAULT,
    EXTENSION,
    INSTANCE,
    quiet_sandbox,
    sign_in,
    wrapped,
)
from tests.sandboxes.sandbox_harness import Connector


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolves(document: dict[str, Any], ref: str) -> bool:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


async def test_24_200_is_openapi_3_and_every_reference_resolves(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        document = (await client.get(f"{DEFAULT}/swagger.json")).json()
        assert document["openapi"] == "3.0.1"
        assert document["info"] == {"title": "Default/24.200.001", "version": "4"}
        assert document["servers"][0]["url"].endswith(f"{DEFAULT}")
        assert all(_resolves(document, ref) for ref in _refs(document))
        operations = {
            op["operationId"] for path in document["paths"].values() for op in path.values()
        }
        assert {
            "Employee_GetList",
            "Employee_PutEntity",
            "Employee_GetByKeys",
            "Employee_GetById",
            "Employee_DeleteByKeys",
            "Employee_InvokeAction_ChangeEmployeeID",
        } <= operations
        employee = document["components"]["schemas"]["Employee"]["allOf"]
        assert employee[0] == {"$ref": "#/components/schemas/Entity"}
        assert employee[1]["properties"]["Status"] == {"$ref": "#/components/schemas/StringValue"}
        assert "Department" not in document["components"]["schemas"]


async def test_22_200_and_23_200_are_swagger_2_with_definitions(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        for version in ("22.200.001", "23.200.001"):
            document = (
                await client.get(f"{INSTANCE}/entity/Default/{version}/swagger.json")
            ).json()
            assert document["swagger"] == "2.0"
            assert document["basePath"] == f"{INSTANCE}/entity/Default/{version}"
            assert "definitions" in document
            assert "components" not in document
            assert all(_resolves(document, ref) for ref in _refs(document))
            put = document["paths"]["/Employee"]["put"]
            assert [p["in"] for p in put["parameters"]][-1] == "body"


async def test_an_unknown_version_has_no_swagger_and_the_extension_adds_department(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        missing = await client.get(f"{INSTANCE}/entity/Default/25.200.001/swagger.json")
        assert missing.status_code == 404
        extension = (await client.get(f"{EXTENSION}/swagger.json")).json()
        assert "/Department" in extension["paths"]
        assert (
            "DepartmentID"
            in extension["components"]["schemas"]["Department"]["allOf"][1]["properties"]
        )


async def test_the_sandbox_answers_validate_against_its_own_swagger(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        document = (await client.get(f"{DEFAULT}/swagger.json")).json()
        registry: Registry[Any] = Registry().with_resource(
            "urn:acumatica", Resource.from_contents(document, default_specification=DRAFT202012)
        )

        def errors(schema: str, body: object) -> list[str]:
            validator = Draft202012Validator(
                {"$ref": f"urn:acumatica#/components/schemas/{schema}"}, registry=registry
            )
            return [e.message for e in validator.iter_errors(body)]

        everything = (
            "ContactInfo,ContactInfo/Address,EmployeeSettings,FinancialSettings,"
            "EmploymentHistory,Attributes"
        )
        rows = (await client.get(f"{DEFAULT}/Employee", params={"$expand": everything})).json()
        assert rows
        for row in rows:
            assert errors("Employee", row) == []
        created = await client.put(
            f"{DEFAULT}/Employee",
            json={
                "ContactInfo": wrapped(LastName="Okafor"),
                "EmployeeSettings": wrapped(DepartmentID="SALES"),
            },
            params={"$expand": everything},
        )
        assert errors("Employee", created.json()) == []
        failure = await client.get(f"{DEFAULT}/Employee/NOPE")
        assert errors("HttpError", failure.json()) == []
        # A wrong type in the answer would be caught: the check is not vacuous.
        assert errors("Employee", {"Status": {"value": 7}}) != []


async def test_every_rendered_field_is_declared_in_the_schema(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        schemas = (await client.get(f"{DEFAULT}/swagger.json")).json()["components"]["schemas"]
        row = (
            await client.get(
                f"{DEFAULT}/Employee/EP00000001", params={"$expand": "ContactInfo,EmployeeSettings"}
            )
        ).json()
        declared = (
            set(schemas["Employee"]["allOf"][1]["properties"])
            | set(schemas["Entity"]["properties"])
            | {"_links"}
        )
        assert set(row) <= declared
        contact = set(schemas["Contact"]["allOf"][1]["properties"])
        assert set(row["ContactInfo"]) - {"id", "rowNumber", "custom"} <= contact
