"""Why an upload was refused. Codes are API (never renamed); messages are for the creator."""

from __future__ import annotations

from shua.core.errors import InvalidRequest


class MediaInvalid(InvalidRequest):
    code = "media.invalid"
    title = "This file cannot be used as a video"


class EmptyFile(MediaInvalid):
    code = "media.empty"
    title = "The file is empty"


class NotAVideo(MediaInvalid):
    code = "media.not_a_video"
    title = "This file is not a video"


class NoVideoStream(MediaInvalid):
    code = "media.no_video_stream"
    title = "The file has no picture, only sound or data"


class UnsupportedContainer(MediaInvalid):
    code = "media.unsupported_container"
    title = "This video format is not supported; use MP4, MOV, WebM or MKV"


class UnsupportedCodec(MediaInvalid):
    code = "media.unsupported_codec"
    title = "This video codec is not supported; use H.264, HEVC, VP8, VP9 or AV1"


class BadDimensions(MediaInvalid):
    code = "media.bad_dimensions"
    title = "The picture size is not supported"


class BadFrameRate(MediaInvalid):
    code = "media.frame_rate"
    title = "The frame rate is not supported"


class TooLong(MediaInvalid):
    code = "media.too_long"
    title = "The video is too long"


class Truncated(MediaInvalid):
    code = "media.truncated"
    title = "The file is incomplete; upload it again"


class Corrupt(MediaInvalid):
    code = "media.corrupt"
    title = "The video is damaged and cannot be played"
