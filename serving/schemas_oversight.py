"""Response and request models of human oversight (reviews) and of the worker's own view (/me)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from continuity.access import Action
from continuity.serving.schemas import Driver

ACTION = ("acknowledged: the forecast was seen and discussed where due; disputed: the worker or their manager "
          "contests it or its drivers; data_corrected: data behind it was wrong and is corrected at the source.")


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action = Field(description=ACTION)
    note: str = Field(default="", max_length=2000, description="What was agreed or contested, in a few words. "
                      "The worker reads it at /me. No diagnoses or other health details.")


class Review(BaseModel):
    action: Action = Field(description=ACTION)
    note: str
    role: str = Field(description="Role of the token that recorded the review: hr or manager.")
    at: datetime = Field(description="When it was recorded (UTC).")
    week: date = Field(description="The score week whose forecast was reviewed.")
    model_version: str = Field(description="The model version that made that forecast.")


class ReviewRecord(Review):
    id: int
    worker_id: str
    token_id: str = Field(description="Id of the token that recorded it (never the token itself).")


class ReviewPage(BaseModel):
    total: int = Field(ge=0, description="Reviews matching the filters, over all pages.")
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
    items: list[ReviewRecord] = Field(description="Newest first.")


class HorizonFigure(BaseModel):
    horizon: int = Field(description="Weeks ahead: 13, 26 or 52.")
    probability: float | None = Field(ge=0, le=1, description="Probability of leaving voluntarily within the horizon; "
                                      "null when withheld.")
    low: float | None = Field(description="Lower end of its 90% interval; null when withheld or not published.")
    high: float | None = Field(description="Upper end of its 90% interval; null when withheld or not published.")


class RecordRead(BaseModel):
    at: datetime = Field(description="When (UTC).")
    role: str = Field(description="The reader's role: hr, manager or admin. Which colleague's token it was stays in "
                                  "the audit log, which the works council and the DPO can have checked.")
    endpoint: str = Field(description="What was read, e.g. 'GET /workers/{worker_id}' or 'GET /risk-list' (a list "
                                      "that included you).")


class ModelInput(BaseModel):
    feature: str
    label: str = Field(description="The input in plain words.")


class OwnRecord(BaseModel):
    worker_id: str
    week: date = Field(description="The published score week.")
    scored: bool = Field(description="Whether you were scored this week; when not, probabilities and drivers are empty.")
    model_name: str
    model_version: str
    probabilities: list[HorizonFigure]
    withheld: str | None = Field(description="Why your probabilities are withheld this week, when they are.")
    drivers: list[Driver] = Field(description="Every driver of your forecast shown to anyone, health drivers included.")
    data_used: list[ModelInput] = Field(description="The model's inputs this week.")
    data_sources: str = Field(description="Where those inputs come from, in words.")
    reads_total: int = Field(ge=0, description="How often your data was read by hr, a manager or an admin.")
    reads: list[RecordRead] = Field(description="The latest of those reads, newest first.")
    reviews: list[Review] = Field(description="Reviews of your forecasts, newest first.")
    card: str = Field(description="Where the model card is: what the model is for, how good it is, its limits.")
    notice: str = Field(description="What these figures are, and what they must not be used for.")
