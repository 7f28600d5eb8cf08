"""Publishing to the Hugging Face Hub: :func:`push_to_hub` for one model, and
:func:`publish_registry`, which is how the registry's Hub copies come to exist.

A pushed repository holds exactly what :func:`stylezoo.load` reads from ``hf-hub:``:
``config.json``, one ``<role>.safetensors`` per network and a generated ``README.md``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import PublishError

if TYPE_CHECKING:
    from .translator import Translator


@dataclass(frozen=True)
class PushResult:
    """What was pushed: paste ``hub_table()`` into a registry record to point at it.

    Attributes:
        repo_id: ``owner/name``.
        revision: the commit id the push created (pin records to it).
        url: the commit's URL.
        files: file name by role.
        sha256: sha256 of each role's file.
        name: the registry name it was published for, if any.
    """

    repo_id: str
    revision: str
    url: str
    files: Mapping[str, str] = field(default_factory=dict)
    sha256: Mapping[str, str] = field(default_factory=dict)
    name: str = ""

    def hub_table(self) -> str:
        """The record's ``hub = {...}`` line (TOML)."""
        files = ", ".join(f'{role} = "{name}"' for role, name in self.files.items())
        hashes = ", ".join(f'{role} = "{digest}"' for role, digest in self.sha256.items())
        return (
            f'hub = {{ repo = "{self.repo_id}", revision = "{self.revision}", '
            f"files = {{ {files} }}, sha256 = {{ {hashes} }} }}"
        )


def push_to_hub(
    model: Translator | str | os.PathLike[str],
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    token: str | bool | None = None,
    commit_message: str | None = None,
) -> PushResult:
    """Upload a model to the Hub repository ``repo_id`` (created if needed).

    Args:
        model: a translator, or a directory saved by stylezoo.
        repo_id: ``owner/name``.
        private: create the repository private (an existing one keeps its visibility).
        revision: the branch to commit to (created from ``main`` if missing); default ``main``.
        token: a Hugging Face token with write access; default: the logged-in user's.
        commit_message: default "Upload <name> with stylezoo".

    Returns:
        The commit id, URL and each file's sha256.

    Example:
        >>> stylezoo.push_to_hub("out/horse2zebra", "me/cyclegan-horse2zebra")
    """
    if not isinstance(model, (str, os.PathLike)):
        with tempfile.TemporaryDirectory(prefix="stylezoo-push-") as staging:
            directory = model.save_pretrained(Path(staging) / "model")
            return push_to_hub(
                directory,
                repo_id,
                private=private,
                revision=revision,
                token=token,
                commit_message=commit_message,
            )
    from .card import model_card
    from .weights.cache import is_offline
    from .weights.directory import CARD_NAME, CONFIG_NAME, local_model, weights_name
    from .weights.integrity import check_safetensors, sha256_file

    if is_offline():
        raise PublishError(
            "Pushing needs the network, but HF_HUB_OFFLINE=1 is set. Unset it and try again."
        )
    local = local_model(model)
    for path in local.files.values():
        issue = check_safetensors(path)
        if issue:
            raise PublishError(f"{path} {issue}; refusing to push it. Save the model again.")
    card = model_card(local.spec, list(local.files), repo_id=repo_id).encode("utf-8")
    uploads: dict[str, Any] = {CONFIG_NAME: str(local.directory / CONFIG_NAME), CARD_NAME: card}
    uploads |= {weights_name(role): str(path) for role, path in local.files.items()}
    message = commit_message or f"Upload {local.spec.name or local.spec.family} with stylezoo"
    commit = _commit(
        repo_id, uploads, private=private, revision=revision, token=token, message=message
    )
    return PushResult(
        repo_id=repo_id,
        revision=commit.oid,
        url=commit.commit_url,
        files={role: weights_name(role) for role in local.files},
        sha256={role: sha256_file(path) for role, path in local.files.items()},
        name=local.spec.name,
    )


def _commit(
    repo_id: str,
    uploads: Mapping[str, Any],
    *,
    private: bool,
    revision: str | None,
    token: str | bool | None,
    message: str,
) -> Any:
    from huggingface_hub import CommitOperationAdd, HfApi

    # huggingface_hub re-exports its HTTP client's base error without listing it in __all__.
    from huggingface_hub.errors import HTTPError  # type: ignore[attr-defined]

    from .weights.cache import hub_endpoint

    api = HfApi(endpoint=hub_endpoint(), token=token, library_name="stylezoo")
    try:
        # private=None keeps the namespace's default visibility for new repositories.
        api.create_repo(repo_id, private=private or None, exist_ok=True, repo_type="model")
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        operations = [
            CommitOperationAdd(path_in_repo=name, path_or_fileobj=content)
            for name, content in uploads.items()
        ]
        return api.create_commit(repo_id, operations, commit_message=message, revision=revision)
    except (HTTPError, OSError, ValueError) as exc:
        raise PublishError(
            f"Pushing to {repo_id!r} failed: {type(exc).__name__}: {exc}. Check that the token "
            "(token=, HF_TOKEN or `hf auth login`) can write to that namespace."
        ) from exc


def publish_registry(
    org: str, pattern: str | None = None, *, private: bool = False, token: str | bool | None = None
) -> list[PushResult]:
    """Convert every official upstream model and push each to ``ORG/<family>-<variant>``.

    The results' :meth:`PushResult.hub_table` lines are what the registry records need to
    prefer those Hub copies.

    Args:
        org: the Hub user or organisation to push to.
        pattern: only registry names matching this wildcard (see :func:`list_models`).
        private: create the repositories private.
        token: a token with write access to ``org``.
    """
    from .api import list_models
    from .plugins import get_record
    from .weights.hub import HubOptions
    from .weights.sources import convert_upstream

    results = []
    for name in list_models(pattern):
        record = get_record(name)
        if not record.upstream:
            continue
        local = convert_upstream(record, HubOptions(token=token))
        repo_id = f"{org}/{record.family}-{record.variant}"
        results.append(
            push_to_hub(
                local.directory,
                repo_id,
                private=private,
                token=token,
                commit_message=f"Publish {name} (converted from upstream)",
            )
        )
    return results
