"""The model card and data sheet of the version that scored the published week (continuity.models.card).

For every authenticated role, sector bodies included: the card holds no one's data, and whoever reads a
figure should be able to read what it is for and where it stops being trustworthy (AI Act art. 13).
HTML by default, inside the web page's frame, so that every page can link to it; Markdown on request.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from continuity.access import Grant
from continuity.serving.auth import grant_requiring
from continuity.serving.deps import WeekDep
from continuity.serving.schemas import NOT_PUBLISHED, UNAUTHENTICATED
from continuity.serving.templating import render

CARD_PATH = "/models/champion/card"

router = APIRouter(tags=["model"], responses={**UNAUTHENTICATED, **NOT_PUBLISHED})


class CardFormat(str, Enum):
    html = "html"
    markdown = "markdown"


def _anyone(grant: Grant) -> None:
    """Every role may read the card."""


MemberDep = Annotated[Grant, Depends(grant_requiring(_anyone, worker=True))]  # a worker's /me links here too


@router.get(
    CARD_PATH,
    response_class=Response,
    summary="Model card and data sheet of the model that scored the published week",
    responses={200: {"content": {"text/html": {}, "text/markdown": {}},
                     "description": "The card: intended use, uses out of scope, data, metrics per horizon, "
                                    "fairness, intervals, drivers, limits and human oversight."}},
)
def champion_card(
    request: Request, _: MemberDep, week: WeekDep,
    format: Annotated[CardFormat, Query(description="html (a page) or markdown (the text).")] = CardFormat.html,
) -> Response:
    """The card published with the week, so it always belongs to the version whose figures are served."""
    texts = week.publication.table("model_card").set_index("format")["text"]
    if format is CardFormat.markdown:
        return Response(texts["markdown"], media_type="text/markdown; charset=utf-8")
    # The HTML was rendered from the card's Markdown with raw HTML switched off: text from an export is escaped.
    return render(request, "card.html", week=week, card=Markup(texts["html"]))
