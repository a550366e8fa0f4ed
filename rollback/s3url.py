"""An s3:// backend URL as Pulumi writes it (`s3://bucket[/prefix][?region=..&endpoint=..]`), opened with boto3."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class S3Location:
    """The bucket, the key prefix under it, and a client configured from the URL's query parameters."""

    url: str
    bucket: str
    prefix: str
    client: Any

    def key(self, relative: str) -> str:
        """The object key of a path relative to the backend root."""
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def relative(self, key: str) -> str:
        """The path relative to the backend root of an object key."""
        return key[len(self.prefix) + 1:] if self.prefix else key


def open_s3(url: str, config: dict[str, Any] | None = None) -> S3Location:
    """Parse bucket, prefix, region and endpoint (else $AWS_ENDPOINT_URL) the way Pulumi's s3 backend does;
    config: botocore's client configuration (its retries, timeouts), else botocore's defaults."""
    import boto3
    from botocore.config import Config

    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    client = boto3.client("s3", region_name=query.get("region"),
                          endpoint_url=query.get("endpoint") or os.environ.get("AWS_ENDPOINT_URL"),
                          config=Config(**config) if config else None)
    return S3Location(url, parts.netloc, parts.path.strip("/"), client)
