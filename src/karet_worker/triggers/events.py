"""S3 event notifications as sent by AWS, MinIO and SeaweedFS, and the created keys in them.

    >>> body = {"Records": [{"eventName": "s3:ObjectCreated:Put",
    ...   "s3": {"bucket": {"name": "lake"}, "object": {"key": "pipelines/a/raw/Q1+2024.csv"}}}]}
    >>> created_keys(S3EventNotification.model_validate(body), bucket="lake")
    ['pipelines/a/raw/Q1 2024.csv']

Only the fields used here are modelled; the many others of a notification are accepted as is.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class S3Bucket(_Lenient):
    name: str | None = None


class S3Object(_Lenient):
    key: str | None = Field(
        default=None, description="The object key, URL-encoded as in every S3 notification"
    )


class S3Entity(_Lenient):
    bucket: S3Bucket | None = None
    object: S3Object | None = None


class S3EventRecord(_Lenient):
    eventName: str = Field(
        default="", description="e.g. `s3:ObjectCreated:Put` (MinIO) or `ObjectCreated:Put` (AWS)"
    )
    s3: S3Entity | None = None


class S3EventNotification(_Lenient):
    """Body of `POST /events/s3`: an S3 event notification."""

    Records: list[S3EventRecord] = Field(default_factory=list)


def created_keys(notification: S3EventNotification, *, bucket: str | None) -> list[str]:
    """The decoded keys of the object-created records, in order, without repeats.

    Records of other event kinds (deletes must not start runs), without a key, or from a
    bucket other than `bucket` (when given) are left out.
    """
    keys: dict[str, None] = {}
    for record in notification.Records:
        if not record.eventName.removeprefix("s3:").startswith("ObjectCreated:"):
            continue
        entity = record.s3
        if entity is None or entity.object is None or not entity.object.key:
            continue
        if bucket is not None and (entity.bucket is None or entity.bucket.name != bucket):
            continue
        # S3 encodes keys like form values: %XX escapes and '+' for a space.
        keys[unquote_plus(entity.object.key)] = None
    return list(keys)
