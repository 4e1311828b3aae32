from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shua.core.ids import ID
from shua.core.text import Line, Paragraph

HANDLE_RE = re.compile(r"^[a-z][a-z0-9_.]{2,23}$")


def normalise_handle(value: str) -> str:
    value = value.strip().lower()
    if not HANDLE_RE.match(value):
        raise ValueError("3–24 characters: letters, digits, '_' or '.', starting with a letter")
    return value


def normalise_phone(value: str) -> str:
    """Store phones as E.164. A bare 11-digit number starting with 1 is a mainland China mobile."""
    digits = re.sub(r"[\s\-()]", "", value)
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        return "+86" + digits
    if re.fullmatch(r"\+[1-9]\d{6,14}", digits):
        return digits
    raise ValueError("not a valid phone number (e.g. 13800138000 or +8613800138000)")


# The patterns document the canonical form (clients, and the API fuzzer, learn it from OpenAPI);
# input is validated by the normalisers, which also accept other case, spacing and punctuation.
Handle = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={"pattern": HANDLE_RE.pattern}),
                   AfterValidator(normalise_handle)]
Phone = Annotated[str, Field(min_length=1, max_length=32,
                             json_schema_extra={"pattern": r"^(1[3-9][0-9]{9}|\+[1-9][0-9]{6,14})$"}),
                  AfterValidator(normalise_phone)]
Password = Annotated[str, Field(min_length=1, max_length=128)]
Nickname = Line(30, min_length=1)
Bio = Paragraph(200)
Locale = Literal["zh-CN", "en"]
SessionKind = Literal["web", "api"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignupRequest(Strict):
    username: Handle | None = Field(None, description="Becomes your handle; give this or phone")
    phone: Phone | None = None
    password: Password
    nickname: Nickname | None = None  # type: ignore[valid-type]
    session_kind: SessionKind = Field("web", description="web: cookie; api: bearer token in body")

    @model_validator(mode="after")
    def _one_login(self) -> SignupRequest:
        if not self.username and not self.phone:
            raise ValueError("give a username or a phone number")
        return self


class LoginRequest(Strict):
    login: str = Field(min_length=1, max_length=64, description="Handle or phone number")
    password: Password
    session_kind: SessionKind = "web"


class ProfileUpdate(Strict):
    nickname: Nickname | None = None  # type: ignore[valid-type]
    handle: Handle | None = None
    bio: Bio | None = None  # type: ignore[valid-type]
    birthday: date | None = None
    locale: Locale | None = None
    clear_birthday: bool = False


class PasswordChange(Strict):
    current_password: Password
    new_password: Password


class DeletionRequest(Strict):
    password: Password


class RoleUpdate(Strict):
    role: Literal["user", "admin"]


class UserRead(BaseModel):
    """What anyone may see of a user."""

    id: ID
    handle: str
    nickname: str
    bio: str
    avatar_url: str | None
    created_at: datetime


class MeRead(UserRead):
    """What a user sees of themselves."""

    phone_masked: str | None
    birthday: date | None
    locale: str | None
    role: str


class SessionCreated(BaseModel):
    user: MeRead
    session_id: ID
    expires_at: datetime
    token: str | None = Field(None, description="Bearer token (api sessions only)")
    csrf_token: str | None = Field(None, description="Send as X-CSRF-Token (web sessions only)")


class SessionRead(BaseModel):
    id: ID
    kind: str
    user_agent: str
    ip: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


class AdminUserRead(MeRead):
    status: str
    deleted_at: datetime | None
