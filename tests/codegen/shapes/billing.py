"""A billing message (same class name as `chat.Message`)."""

from __future__ import annotations

from pydantic import BaseModel


class Message(BaseModel):
    """A line on an invoice."""

    amount_cents: int
    memo: str = ""
