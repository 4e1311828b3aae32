"""Structured JSON logs; every line of a request carries its request id."""

from __future__ import annotations

import logging
import sys

import structlog


def _drop_color_message(_logger: object, _name: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    event.pop("color_message", None)  # uvicorn's ANSI duplicate of the message
    return event


def configure_logging(*, json: bool | None = None, level: str = "INFO") -> None:
    """JSON lines for machines; readable console lines when a person watches the terminal."""
    if json is None:
        json = not sys.stderr.isatty()
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer()
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=processors,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access",):  # our middleware logs each request once, with its id
        logging.getLogger(noisy).handlers[:] = []
        logging.getLogger(noisy).propagate = False
    # faiss says at info level, with a traceback each, which CPU builds it did not find (three
    # lines on every start of the feed); its warnings still come through.
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
    structlog.configure(
        processors=[*processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
