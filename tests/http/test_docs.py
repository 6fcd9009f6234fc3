"""The documentation page works offline: everything it loads comes from the app itself."""

from __future__ import annotations

import re

import httpx


async def test_the_docs_page_loads_nothing_from_outside_the_app(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert re.findall(r"https?://", page.text) == []
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        assert (await client.get(asset)).status_code == 200, asset
    assert "url: '/openapi.json'" in page.text


async def test_the_schema_documents_bearer_tokens_and_problem_details(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()

    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    transfer = schema["paths"]["/transfers"]["post"]
    assert transfer["security"] == [{"HTTPBearer": []}]
    assert set(transfer["responses"]) == {"201", "400", "401", "403", "404", "409", "422", "503"}
    assert list(transfer["responses"]["409"]["content"]) == ["application/problem+json"]
    assert "security" not in schema["paths"]["/users"]["post"]
