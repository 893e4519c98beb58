"""The record of processing activities as a page for the data protection officer and the
administrators, printable as the city's document."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from lotse.auth import Principal
from lotse.permissions import Access, Permission
from lotse.templating import render
from privacy import concept, record

router = APIRouter(include_in_schema=False, prefix="/privacy")

ReadsRecord = Annotated[Principal, Depends(Access.allowed(Permission.read_processing_record))]


@router.get("/record", name="privacy_record", response_class=HTMLResponse)
def processing_record(request: Request, principal: ReadsRecord) -> HTMLResponse:
    return render(
        request,
        "privacy/record_show.html",
        {
            "record": record.build(request.app.state.settings),
            "retention_text": record.retention_text,
            "period_text": record.period_text,
            "bounds_text": record.bounds_text,
            "action_labels": concept.ACTION_LABELS,
            "not_stored": concept.NOT_STORED,
            "measures": record.MEASURES,
            "transfers": record.TRANSFERS,
        },
    )
