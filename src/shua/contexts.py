"""Import every context's models and tasks so tables and job handlers are registered."""

from __future__ import annotations


def load_all() -> None:
    import shua.accounts.models
    import shua.accounts.tasks
    import shua.commerce.models
    import shua.commerce.tasks
    import shua.core.audit
    import shua.core.idempotency
    import shua.core.jobs
    import shua.core.notify
    import shua.feed.models
    import shua.feed.tasks
    import shua.media.models
    import shua.media.tasks
    import shua.payments.intents
    import shua.payments.models
    import shua.payments.pin
    import shua.payments.tasks
    import shua.search.models
    import shua.search.tasks
    import shua.social.engagement_models
    import shua.social.engagement_tasks
    import shua.social.messaging_models
    import shua.social.messaging_tasks
    import shua.social.models
    import shua.social.moments_models
    import shua.social.tasks  # noqa: F401
