"""A local image service on loopback that answers like Glance's v2 API, and its client.

Server: `GET /v2/images[?name=N]`, `GET /v2/images/{id}` (the image's metadata as Glance
returns it: status, disk_format, size, virtual_size, checksum, os_hash_algo/os_hash_value,
extra properties at top level) and `GET /v2/images/{id}/file` (the data, with Content-MD5).
Images live in workdir/images/<id>/{meta.json,file}.

Client: `show` and `download` the way nova's glance module uses glanceclient: the download is
streamed to the destination and verified against os_hash_value (else checksum) as it is read,
so a corrupted transfer raises ImageDownloadCorrupt ("Corrupt image download. Hash was ...").
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import stat
import struct
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import suppress
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

from nsim.hw import safefs
from nsim.hw.errors import HwError, UsageError
from nsim.hw.workdir import Workdir, validate_image_ref, validate_name, validate_uuid

CHUNK = 1 << 16


class ImageServiceError(HwError):
    """The image service could not be reached or answered something unexpected."""


class ImageNotFound(ImageServiceError):
    """nova.exception.ImageNotFound: the class nova's failure lines name."""

    qualname = "nova.exception.ImageNotFound"

    def __init__(self, image_id: str) -> None:
        super().__init__(f"Image {image_id} could not be found.")
        self.image_id = image_id


class ImageDownloadCorrupt(OSError):
    """glanceclient's integrity check failing (an IOError in glanceclient.common.utils)."""


def _qcow2_virtual_size(header: bytes) -> int | None:
    if len(header) >= 32 and header[:4] == b"QFI\xfb":
        return struct.unpack(">Q", header[24:32])[0]
    return None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ImageStore:
    """Images on disk: workdir/images/<id>/meta.json and file, opened without following links."""

    def __init__(self, workdir: Workdir) -> None:
        self.workdir = workdir
        self.root = workdir.images_dir

    def _dir(self, image_id: str) -> Path:
        return self.workdir.path("images", validate_uuid(image_id, "image id"))

    def add(self, image_id: str, name: str, source: Path, disk_format: str,
            container_format: str = "bare", properties: dict[str, Any] | None = None,
            min_disk: int = 0, min_ram: int = 0) -> dict[str, Any]:
        """Store a copy of `source` as image `image_id`; returns its metadata."""
        validate_name(name, "image name")
        validate_name(disk_format, "disk_format")
        d = self._dir(image_id)
        md5, sha512 = hashlib.md5(usedforsecurity=False), hashlib.sha512()
        size = 0
        with self.workdir.dir_fd("images", image_id, create=True) as dfd:
            tmp = f".file.{secrets.token_hex(6)}.tmp"
            fd = safefs.create_exclusive(dfd, tmp, d / tmp, 0o644)
            try:
                with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
                    for chunk in iter(lambda: src.read(CHUNK), b""):
                        md5.update(chunk)
                        sha512.update(chunk)
                        dst.write(chunk)
                        size += len(chunk)
                os.rename(tmp, "file", src_dir_fd=dfd, dst_dir_fd=dfd)
            except BaseException:
                with suppress(OSError):
                    os.unlink(tmp, dir_fd=dfd)
                raise
            virtual = None
            if disk_format == "qcow2":
                rfd = safefs.open_regular(dfd, "file", d / "file")
                with os.fdopen(rfd, "rb") as f:
                    virtual = _qcow2_virtual_size(f.read(32))
            else:
                virtual = size
            now = _now()
            meta: dict[str, Any] = {
                "id": image_id, "name": name, "status": "active", "visibility": "public",
                "protected": False, "os_hidden": False, "tags": [], "owner": None,
                "disk_format": disk_format, "container_format": container_format,
                "size": size, "virtual_size": virtual, "min_disk": min_disk, "min_ram": min_ram,
                "checksum": md5.hexdigest(), "os_hash_algo": "sha512",
                "os_hash_value": sha512.hexdigest(), "created_at": now, "updated_at": now,
                "self": f"/v2/images/{image_id}", "file": f"/v2/images/{image_id}/file",
                "schema": "/v2/schemas/image",
            }
            for key, value in (properties or {}).items():
                if key in meta:
                    raise UsageError(f"property {key!r} clashes with a core image attribute")
                meta[key] = value
            safefs.write_atomic(dfd, "meta.json", json.dumps(meta, indent=2).encode(),
                                d / "meta.json")
        return meta

    def get(self, image_id: str) -> dict[str, Any] | None:
        try:
            d = self._dir(image_id)
            with self.workdir.dir_fd("images", image_id) as dfd:
                meta = json.loads(safefs.read_bytes(dfd, "meta.json", d / "meta.json"))
        except (HwError, OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and meta.get("id") == image_id else None

    def data_path(self, image_id: str) -> Path:
        return self._dir(image_id) / "file"

    def open_data(self, image_id: str) -> BinaryIO:
        """The image's data, opened without following a symlink (UnsafePathError if it is)."""
        with self.workdir.dir_fd("images", image_id) as dfd:
            fd = safefs.open_regular(dfd, "file", self.data_path(image_id))
        return os.fdopen(fd, "rb")

    def list(self) -> list[dict[str, Any]]:
        out = []
        try:
            with self.workdir.dir_fd("images") as dfd:
                names = sorted(os.listdir(dfd))
        except FileNotFoundError:
            return out
        for name in names:
            meta = self.get(name)
            if meta is not None:
                out.append(meta)
        return out

    def delete(self, image_id: str) -> None:
        self._dir(image_id)
        with suppress(FileNotFoundError), self.workdir.dir_fd("images") as dfd:
            st = safefs.lstat_at(dfd, image_id)
            if st is not None and stat.S_ISDIR(st.st_mode):
                shutil.rmtree(image_id, dir_fd=dfd)
            elif st is not None:
                os.unlink(image_id, dir_fd=dfd)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
              ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _not_found(self, what: str) -> None:
        self._send(404, f"404 Not Found\n\n{what}\n\n   ".encode(), "text/plain; charset=UTF-8")

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        store = self.server.store
        self.server.requests[url.path] += 1
        if parts[:2] != ["v2", "images"] or len(parts) > 4:
            self._not_found("The resource could not be found.")
            return
        if len(parts) == 2:
            query = urllib.parse.parse_qs(url.query)
            images = store.list()
            if "name" in query:
                images = [i for i in images if i["name"] in query["name"]]
            self._json(200, {"images": images, "first": "/v2/images",
                             "schema": "/v2/schemas/images"})
            return
        image_id = parts[2]
        meta = store.get(image_id)
        if meta is None:
            self._not_found(f"No image found with ID {image_id}")
            return
        if len(parts) == 3:
            self._json(200, meta)
            return
        if parts[3] != "file":
            self._not_found("The resource could not be found.")
            return
        self._stream(image_id, meta)

    def _stream(self, image_id: str, meta: dict[str, Any]) -> None:
        try:
            f = self.server.store.open_data(image_id)
        except (HwError, OSError) as exc:
            # A symlinked (or vanished) image file is never served.
            self._send(500, f"500 Internal Server Error\n\n{exc}\n".encode(),
                       "text/plain; charset=UTF-8")
            return
        size = os.fstat(f.fileno()).st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("Content-MD5", meta["checksum"])
        self.end_headers()
        corrupt_at = size // 2 if image_id in self.server.corrupt_ids else -1
        sent = 0
        with f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                if sent <= corrupt_at < sent + len(chunk):
                    # A flipped byte in transit (fault injection): the client must notice.
                    i = corrupt_at - sent
                    chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1:]
                self.wfile.write(chunk)
                sent += len(chunk)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, store: ImageStore, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.store = store
        self.corrupt_ids: set[str] = set()
        self.requests: Counter[str] = Counter()


class ImageServer:
    """The image service, serving `store` on 127.0.0.1 from a background thread."""

    def __init__(self, store: ImageStore, port: int = 0) -> None:
        self._server = _Server(store, ("127.0.0.1", port))
        self._thread = threading.Thread(target=self._server.serve_forever, name="image-service",
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> Counter[str]:
        return self._server.requests

    def corrupt_transfers(self, image_id: str) -> None:
        self._server.corrupt_ids.add(image_id)

    def start(self) -> ImageServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ImageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ImageClient:
    """What nova.image.glance does with glanceclient, over plain HTTP."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _open(self, path: str) -> Any:
        try:
            return urllib.request.urlopen(self.base_url + path, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                exc.close()
                raise ImageNotFound(path.split("/")[3]) from None
            raise ImageServiceError(f"image service: {exc.code} {exc.reason} for {path}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ImageServiceError(f"image service at {self.base_url} unreachable: {exc}") from None

    def show(self, image_ref: str) -> dict[str, Any]:
        """Metadata of an image by id, or by name when `image_ref` is not a UUID."""
        validate_image_ref(image_ref)
        try:
            validate_uuid(image_ref)
        except UsageError:
            with self._open("/v2/images?" + urllib.parse.urlencode({"name": image_ref})) as resp:
                images = json.load(resp)["images"]
            if not images:
                raise ImageNotFound(image_ref) from None
            meta = images[0]
        else:
            with self._open(f"/v2/images/{image_ref}") as resp:
                meta = json.load(resp)
        validate_uuid(str(meta.get("id")), "image id from the image service")
        return meta

    def download(self, image_id: str, fd: int, meta: dict[str, Any]) -> int:
        """Stream the image data into `fd` (a file nsim created exclusively; closed here),
        verifying its hash."""
        validate_uuid(image_id, "image id")
        algo, expected = meta.get("os_hash_algo"), meta.get("os_hash_value")
        if not (algo and expected):
            algo, expected = "md5", meta.get("checksum")
        hasher = hashlib.new(algo or "md5")
        written = 0
        with os.fdopen(fd, "wb") as out, self._open(f"/v2/images/{image_id}/file") as resp:
            for chunk in iter(lambda: resp.read(CHUNK), b""):
                hasher.update(chunk)
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if expected and hasher.hexdigest() != expected:
            raise ImageDownloadCorrupt(
                errno.EPIPE,
                f"Corrupt image download. Hash was {hasher.hexdigest()} expected {expected}")
        return written
