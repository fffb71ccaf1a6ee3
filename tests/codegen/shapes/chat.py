"""A chat message (same class name as `billing.Message`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Message(BaseModel):
    """A message in a conversation."""

    role: Literal["user", "assistant"]
    text: str
    """What was said."""
