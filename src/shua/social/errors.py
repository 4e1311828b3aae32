from __future__ import annotations

from shua.core.errors import Conflict, Forbidden, InvalidRequest, NotFound


class CannotFollowSelf(InvalidRequest):
    code = "social.follow_self"
    title = "You cannot follow yourself"


class CannotBlockSelf(InvalidRequest):
    code = "social.block_self"
    title = "You cannot block yourself"


class YouBlockedThem(Conflict):
    code = "social.you_blocked"
    title = "You blocked this user; unblock them first"


class FollowRequestNotFound(NotFound):
    code = "social.request_not_found"
    title = "No such follow request"


class ListsPrivate(NotFound):
    # 404, like any list a viewer may not read: nothing about it is disclosed.
    code = "social.lists_private"
    title = "This user keeps their lists private"


class NotAllowed(Forbidden):
    code = "social.not_allowed"
    title = "This user does not allow that"
