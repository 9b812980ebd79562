"""The JSON bodies of the HTTP API (pydantic models; FastAPI documents them at ``/docs``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .limits import MAX_K, MAX_TEXT_CHARS, MAX_VECTOR_DIM

__all__ = [
    "ErrorOut",
    "HealthOut",
    "HitOut",
    "ItemOut",
    "PathOut",
    "SearchOut",
    "SearchRequest",
    "StepOut",
]

QUERY_FIELDS = ("text", "image", "id", "vector")


class SearchRequest(BaseModel):
    """A query: exactly one of ``text``, ``image`` (base64), ``id`` or ``vector``."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description="A sentence, embedded with the index's text model.",
    )
    image: str | None = Field(
        None,
        min_length=1,
        description="An image file (PNG, JPEG...) in base64; a "
        "``data:image/...;base64,`` prefix is accepted.",
    )
    id: str | None = Field(
        None, min_length=1, max_length=1000, description="The id of an item of the index."
    )
    vector: list[float] | None = Field(
        None,
        min_length=1,
        max_length=MAX_VECTOR_DIM,
        description="A vector of the index's dimension.",
    )
    modify: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description="A modification sentence, with ``image`` or "
        "``id`` (composed retrieval; needs a compose run).",
    )
    k: int = Field(10, ge=1, le=MAX_K, description="Number of results per ranking.")
    metric: Literal["geodesic", "euclidean", "both"] = "both"
    paths: bool = Field(True, description="Return each geodesic result's vertex path.")

    @model_validator(mode="after")
    def _one_query(self) -> SearchRequest:
        given = [name for name in QUERY_FIELDS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of {', '.join(QUERY_FIELDS)} (got {', '.join(given) or 'none'})"
            )
        if self.modify is not None and given[0] not in ("image", "id"):
            raise ValueError("modify goes with an image or id query")
        return self


class StepOut(BaseModel):
    """One vertex of a geodesic path."""

    id: str
    kind: Literal["image", "text", "query"]
    caption: str | None
    image_url: str | None = Field(description="URL of the image (image vertices only).")
    angle: float | None = Field(
        None, description="Radians of the hop from the previous step; null on the first step."
    )


class HitOut(BaseModel):
    """One ranked result."""

    rank: int
    id: str
    geodesic: float | None = Field(description="Radians along the graph; null if unreachable.")
    euclidean: float = Field(description="Great-circle (angular) distance, radians.")
    reachable: bool
    caption: str | None
    image_url: str
    item_url: str
    path: list[StepOut] | None = Field(description="Query ... result (when asked).")


class SearchOut(BaseModel):
    """Both rankings of one query (a ranking not asked for is empty)."""

    query: dict
    k: int
    metric: str
    geodesic: list[HitOut]
    euclidean: list[HitOut]


class ItemOut(BaseModel):
    """An item of the index."""

    id: str
    kind: str
    text: str | None
    labels: list[str]
    image_url: str | None


class PathOut(BaseModel):
    """The geodesic path between two items (``steps`` is empty when none exists)."""

    model_config = ConfigDict(populate_by_name=True)

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    reachable: bool
    steps: list[StepOut]


class HealthOut(BaseModel):
    """The server is up and holds an index."""

    status: Literal["ok"]
    n_images: int
    n_texts: int
    dimension: int | None
    threshold: float | None
    queries: list[Literal["id", "vector", "text", "image", "modify"]] = Field(
        description="The query kinds this index answers (text and image need an encoder, "
        "modify a compose run)."
    )


class ErrorOut(BaseModel):
    """Every 4xx/5xx answer."""

    error: str
