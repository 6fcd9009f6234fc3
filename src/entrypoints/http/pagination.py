"""Links between the pages of a list: `links: {self, next, prev}` in the response body.

Links are origin-relative (path and query), so they hold behind any proxy or host name, and
keep every filter of the request; only `offset` and `limit` change.
"""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel


class PageLinks(BaseModel):
    self: str
    next: str | None
    prev: str | None


def page_links(request: Request, *, limit: int, offset: int, total: int) -> PageLinks:
    def at(page_offset: int) -> str:
        url = request.url.include_query_params(limit=limit, offset=page_offset)
        return f"{url.path}?{url.query}"

    return PageLinks(
        self=at(offset),
        next=at(offset + limit) if offset + limit < total else None,
        prev=at(max(offset - limit, 0)) if offset > 0 else None,
    )
