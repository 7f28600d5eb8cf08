"""A fake Hugging Face Hub on a loopback port that huggingface_hub 2.4 really talks to.

It answers what ``hf_hub_download``, ``get_hf_file_metadata``, ``model_info``,
``list_repo_refs``, ``create_repo``, ``create_branch`` and ``create_commit`` ask:
``resolve`` HEAD/GET with ``X-Repo-Commit`` and
``ETag``; LFS-like files (``*.safetensors``) through a cross-origin 302 to a "CDN" on
``localhost`` with ``X-Linked-Etag`` (their sha256); error codes for missing repositories,
revisions and files; private repositories that need the token. It never sends Xet headers,
so the client uses plain HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from loopback import LoopbackServer, send, send_file

_GITATTRIBUTES = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"


@dataclass
class _Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    private: bool = False


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _json(
    handler: BaseHTTPRequestHandler,
    status: int,
    value: Any,
    headers: Mapping[str, str] | None = None,
) -> None:
    send(
        handler,
        status,
        json.dumps(value).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


def _error(handler: BaseHTTPRequestHandler, status: int, code: str, commit: str = "") -> None:
    headers = {"X-Error-Code": code, "X-Error-Message": code}
    if commit:
        headers["X-Repo-Commit"] = commit
    _json(handler, status, {"error": code}, headers)


class LoopbackHub(LoopbackServer):
    """The fake Hub. Write repositories with :meth:`commit`; point stylezoo at :attr:`url`.

    Attributes:
        token: when set, private repositories answer only requests carrying it.
        lfs_suffixes: files served like LFS files (cross-origin redirect, sha256 etag).
    """

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.repos: dict[str, _Repo] = {}
        self.blobs: dict[str, bytes] = {}
        self.token = token
        self.lfs_suffixes: tuple[str, ...] = (".safetensors", ".pth", ".bin")
        self._counter = 0

    # -- writing repositories ---------------------------------------------------------------
    def commit(
        self,
        repo_id: str,
        files: Mapping[str, bytes],
        *,
        branch: str = "main",
        tag: str | None = None,
        private: bool = False,
    ) -> str:
        """Commit ``files`` (merged over the branch head) and return the 40-hex commit id."""
        repo = self._repo(repo_id, private)
        parent = repo.commits.get(repo.branches.get(branch, ""), {})
        return self._commit(repo_id, repo, {**parent, **files}, branch, tag)

    def commit_directory(self, repo_id: str, directory: str | Path, **options: Any) -> str:
        """Commit every file of a local directory (e.g. one saved by stylezoo)."""
        files = {p.name: p.read_bytes() for p in Path(directory).iterdir() if p.is_file()}
        return self.commit(repo_id, files, **options)

    def blob_path(self, data: bytes) -> str:
        """The CDN path an LFS file is served from (for :meth:`add_fault`)."""
        return f"/cdn/{hashlib.sha256(data).hexdigest()}"

    def _repo(self, repo_id: str, private: bool = False) -> _Repo:
        if repo_id not in self.repos:
            self.repos[repo_id] = _Repo(private=private)
            self._commit(
                repo_id, self.repos[repo_id], {".gitattributes": _GITATTRIBUTES}, "main", None
            )
        return self.repos[repo_id]

    def _commit(
        self, repo_id: str, repo: _Repo, files: dict[str, bytes], branch: str, tag: str | None
    ) -> str:
        self._counter += 1
        sha = hashlib.sha1(f"{repo_id}:{self._counter}".encode(), usedforsecurity=False).hexdigest()
        repo.commits[sha] = files
        repo.branches[branch] = sha
        if tag:
            repo.tags[tag] = sha
        for path, data in files.items():
            if path.endswith(self.lfs_suffixes):
                self.blobs[hashlib.sha256(data).hexdigest()] = data
        return sha

    def resolve(self, repo_id: str, revision: str) -> str | None:
        """The commit a branch, tag, full or short commit id names, or ``None``."""
        repo = self.repos[repo_id]
        if revision in repo.branches:
            return repo.branches[revision]
        if revision in repo.tags:
            return repo.tags[revision]
        matches = [sha for sha in repo.commits if len(revision) >= 7 and sha.startswith(revision)]
        return matches[0] if len(matches) == 1 else None

    # -- answering --------------------------------------------------------------------------
    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = [unquote(p) for p in handler.path.split("?", 1)[0].strip("/").split("/")]
        if parts[0] == "cdn" and len(parts) == 2 and parts[1] in self.blobs:
            send_file(self, handler, self.blobs[parts[1]])
        elif parts[:2] == ["api", "repos"] and parts[2:] == ["create"]:
            self._create_repo(handler)
        elif parts[:2] == ["api", "validate-yaml"]:
            _json(handler, 200, {"errors": [], "warnings": []})
        elif parts[:2] == ["api", "models"] and len(parts) >= 4:
            self._api(handler, f"{parts[2]}/{parts[3]}", parts[4:])
        elif len(parts) >= 5 and parts[2] == "resolve":
            self._resolve_file(handler, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
        else:
            _error(handler, 404, "EntryNotFound")

    def _allowed(self, handler: BaseHTTPRequestHandler, repo_id: str) -> bool:
        repo = self.repos.get(repo_id)
        if repo is None:
            return False
        return not repo.private or handler.headers.get("Authorization") == f"Bearer {self.token}"

    def _resolve_file(
        self, handler: BaseHTTPRequestHandler, repo_id: str, revision: str, filename: str
    ) -> None:
        if not self._allowed(handler, repo_id):
            _error(handler, 404, "RepoNotFound")
            return
        commit = self.resolve(repo_id, revision)
        if commit is None:
            _error(handler, 404, "RevisionNotFound")
            return
        data = self.repos[repo_id].commits[commit].get(filename)
        if data is None:
            _error(handler, 404, "EntryNotFound", commit)
            return
        headers = {"X-Repo-Commit": commit, "ETag": f'"{git_oid(data)}"'}
        if filename.endswith(self.lfs_suffixes):
            sha256 = hashlib.sha256(data).hexdigest()
            cdn = f"http://localhost:{self.port}/cdn/{sha256}"  # another origin, like the Hub
            send(
                handler,
                302,
                headers={
                    **headers,
                    "Location": cdn,
                    "X-Linked-Etag": f'"{sha256}"',
                    "X-Linked-Size": str(len(data)),
                },
            )
        else:
            send_file(self, handler, data, headers)

    def _api(self, handler: BaseHTTPRequestHandler, repo_id: str, rest: list[str]) -> None:
        if not self._allowed(handler, repo_id):
            _error(handler, 404 if repo_id not in self.repos else 401, "RepoNotFound")
            return
        repo = self.repos[repo_id]
        action = rest[0] if rest else "revision"
        revision = rest[1] if len(rest) > 1 else "main"
        if action == "refs":
            _json(handler, 200, self._refs(repo))
            return
        if action == "branch" and handler.command == "POST":
            self._create_branch(handler, repo, revision)
            return
        commit = self.resolve(repo_id, revision)
        if commit is None:
            _error(handler, 404, "RevisionNotFound")
        elif action == "revision":
            files = repo.commits[commit]
            _json(
                handler,
                200,
                {
                    "id": repo_id,
                    "modelId": repo_id,
                    "sha": commit,
                    "private": repo.private,
                    "tags": [],
                    "downloads": 0,
                    "likes": 0,
                    "siblings": [{"rfilename": p} for p in files],
                },
            )
        elif action == "tree":
            _json(handler, 200, self._tree(repo.commits[commit], "/".join(rest[2:])))
        elif action == "preupload":
            body = self._body(handler)
            _json(
                handler,
                200,
                {
                    "files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                        for f in body["files"]
                    ]
                },
            )
        elif action == "commit":
            self._create_commit(handler, repo_id, revision)
        else:
            _error(handler, 404, "EntryNotFound")

    def _tree(self, files: Mapping[str, bytes], prefix: str) -> list[dict[str, Any]]:
        entries = []
        for path, data in sorted(files.items()):
            if prefix and not path.startswith(prefix.rstrip("/") + "/"):
                continue
            entry: dict[str, Any] = {
                "type": "file",
                "oid": git_oid(data),
                "size": len(data),
                "path": path,
            }
            if path.endswith(self.lfs_suffixes):
                entry["lfs"] = {
                    "oid": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "pointerSize": 134,
                }
            entries.append(entry)
        return entries

    @staticmethod
    def _refs(repo: _Repo) -> dict[str, Any]:
        def refs(kind: str, table: Mapping[str, str]) -> list[dict[str, str]]:
            return [
                {"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": c} for n, c in table.items()
            ]

        return {
            "branches": refs("heads", repo.branches),
            "tags": refs("tags", repo.tags),
            "converts": [],
        }

    @staticmethod
    def _body(handler: BaseHTTPRequestHandler) -> Any:
        return json.loads(handler.body or b"{}")  # type: ignore[attr-defined]

    def _create_repo(self, handler: BaseHTTPRequestHandler) -> None:
        body = self._body(handler)
        repo_id = f"{body.get('organization') or 'user'}/{body['name']}"
        url = {"url": f"{self.url}/{repo_id}"}
        if repo_id in self.repos:
            _json(handler, 409, {**url, "error": "You already created this model repo"})
            return
        self._repo(
            repo_id, private=bool(body.get("private")) or body.get("visibility") == "private"
        )
        _json(handler, 200, url)

    def _create_branch(self, handler: BaseHTTPRequestHandler, repo: _Repo, branch: str) -> None:
        start = self._body(handler).get("startingPoint") or "main"
        if branch in repo.branches:
            _error(handler, 409, "BranchExists")
            return
        repo.branches[branch] = repo.branches.get(start) or repo.tags.get(start) or start
        _json(handler, 200, {})

    def _create_commit(self, handler: BaseHTTPRequestHandler, repo_id: str, branch: str) -> None:
        repo = self.repos[repo_id]
        if branch not in repo.branches:
            _error(handler, 404, "RevisionNotFound")
            return
        files = dict(repo.commits[repo.branches[branch]])
        for line in handler.body.splitlines():  # type: ignore[attr-defined]
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] in ("deletedFile", "deletedFolder"):
                files = {
                    p: d
                    for p, d in files.items()
                    if p != value["path"] and not p.startswith(value["path"] + "/")
                }
        commit = self._commit(repo_id, repo, files, branch, None)
        _json(
            handler,
            200,
            {
                "commitOid": commit,
                "success": True,
                "hookOutput": "",
                "commitUrl": f"{self.url}/{repo_id}/commit/{commit}",
                "pullRequestUrl": None,
            },
        )
