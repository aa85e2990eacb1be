"""The one storage seam: local paths / file:// (a mounted PVC) and s3:// URIs, all through pyarrow.fs.

Ray Tune writes to the same filesystem object (`storage_filesystem`), so stages, Ray and the
collector agree on where everything lives: `<root>/<experiment>/{tune,train,results}/`.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
from pyarrow import fs as pafs

from hpinit_k8s.errors import StorageError
from hpinit_k8s.spec import S3Spec, StorageSpec


def _s3_filesystem(settings: S3Spec, env: Mapping[str, str]) -> pafs.S3FileSystem:
    missing = [name for name in (settings.access_key_env, settings.secret_key_env) if not env.get(name)]
    if missing:
        raise StorageError(f"storage.s3: environment variable {missing[0]} is not set (it must hold the S3 credential)")
    options: dict[str, Any] = {
        "access_key": env[settings.access_key_env],
        "secret_key": env[settings.secret_key_env],
        "region": settings.region,
    }
    if settings.session_token_env:
        options["session_token"] = env.get(settings.session_token_env)
    if settings.endpoint:
        endpoint = urlparse(settings.endpoint)
        if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
            raise StorageError(f"storage.s3.endpoint: {settings.endpoint!r} is not an http(s) URL")
        # pyarrow ignores AWS_ENDPOINT_URL: the endpoint must be passed explicitly.
        options.update(endpoint_override=endpoint.netloc, scheme=endpoint.scheme)
    return pafs.S3FileSystem(**options)


@dataclass(frozen=True)
class Storage:
    """A storage root: a pyarrow filesystem plus the root's path inside it."""

    filesystem: pafs.FileSystem
    root: str
    """Path inside `filesystem` (no scheme): an absolute local path or `bucket/prefix`."""
    scheme: str
    """"file" or "s3"."""

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def uri(self, *parts: str) -> str:
        return self.uri_of_path(self.path(*parts))

    def uri_of_path(self, path: str) -> str:
        return f"s3://{path}" if self.scheme == "s3" else path

    def path_of(self, uri: str) -> str:
        """Filesystem path of a URI this storage wrote (the stages pass URIs, never bare paths)."""
        if self.scheme == "s3":
            if not uri.startswith("s3://"):
                raise StorageError(f"{uri} is not an s3:// URI, but the storage root is {self.uri()}")
            return uri[len("s3://") :]
        return uri.removeprefix("file://")

    def exists(self, path: str) -> bool:
        return self._call(path, lambda: self.filesystem.get_file_info(path).type != pafs.FileType.NotFound)

    def read_bytes(self, path: str) -> bytes:
        def read() -> bytes:
            with self.filesystem.open_input_stream(path) as stream:
                return stream.read()

        return self._call(path, read)

    def write_bytes(self, path: str, data: bytes) -> None:
        def write() -> None:
            if self.scheme == "file":  # S3 has no directories; pyarrow would write empty marker objects
                self.filesystem.create_dir(posixpath.dirname(path), recursive=True)
            with self.filesystem.open_output_stream(path) as stream:
                stream.write(data)

        self._call(path, write)

    def read_json(self, path: str) -> Any:
        try:
            return json.loads(self.read_bytes(path))
        except json.JSONDecodeError as error:
            raise StorageError(f"{path}: not valid JSON ({error})") from None

    def write_json(self, path: str, payload: Any) -> None:
        self.write_bytes(path, json.dumps(payload, indent=2, sort_keys=True).encode())

    def write_text(self, path: str, text: str) -> None:
        self.write_bytes(path, text.encode())

    def delete_dir(self, path: str) -> None:
        if self.exists(path):
            self._call(path, lambda: self.filesystem.delete_dir(path))

    def list_files(self, path: str) -> list[str]:
        selector = pafs.FileSelector(path, recursive=True, allow_not_found=True)
        infos = self._call(path, lambda: self.filesystem.get_file_info(selector))
        return sorted(info.path for info in infos if info.type == pafs.FileType.File)

    def _call(self, path: str, action: Any) -> Any:
        try:
            return action()
        except FileNotFoundError:
            raise StorageError(f"{self.uri_of_path(path)}: not found") from None
        except (OSError, pa.ArrowException) as error:
            raise StorageError(f"{self.uri_of_path(path)}: {str(error).splitlines()[0]}") from None


def open_storage(spec: StorageSpec, env: Mapping[str, str] | None = None) -> Storage:
    """Resolve the spec's storage root; S3 credentials come from the environment variables it names."""
    env = os.environ if env is None else env
    uri = spec.uri
    if uri.startswith("s3://"):
        root = uri[len("s3://") :].rstrip("/")
        return Storage(_s3_filesystem(spec.s3, env), root, "s3")
    local = Path(uri.removeprefix("file://")).expanduser().resolve()
    return Storage(pafs.LocalFileSystem(), str(local), "file")
