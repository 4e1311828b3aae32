from __future__ import annotations

from shua.core.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unauthenticated


class HandleTaken(Conflict):
    code = "accounts.handle_taken"
    title = "That handle is already taken"


class PhoneTaken(Conflict):
    code = "accounts.phone_taken"
    title = "That phone number is already registered"


class WeakPassword(InvalidRequest):
    code = "accounts.weak_password"
    title = "The password is too weak"


class InvalidCredentials(Unauthenticated):
    code = "auth.invalid_credentials"
    title = "Wrong login or password"


class SessionInvalid(Unauthenticated):
    code = "auth.session_invalid"
    title = "Your session has expired; log in again"


class CsrfFailed(Forbidden):
    code = "auth.csrf_failed"
    title = "Missing or wrong CSRF token; reload the page and try again"


class AdminRequired(Forbidden):
    code = "auth.admin_required"
    title = "Only an administrator can do this"


class UserNotFound(NotFound):
    code = "accounts.user_not_found"
    title = "No such user"


class SessionNotFound(NotFound):
    code = "accounts.session_not_found"
    title = "No such session"


class InvalidImage(InvalidRequest):
    code = "accounts.invalid_image"
    title = "The file is not a supported image (JPEG, PNG, WebP or GIF)"
