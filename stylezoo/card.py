"""Model cards (README.md) for saved models, with Hub-friendly YAML front matter."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .family import ModelSpec


def _yaml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid YAML scalar


def model_card(spec: ModelSpec, roles: Sequence[str], *, repo_id: str = "") -> str:
    """The README.md of a saved model: front matter, usage, configuration and provenance.

    ``repo_id`` (``owner/name``) is set when the card is written for the Hub, so the usage
    example loads ``hf-hub:owner/name``.
    """
    title = spec.name or f"{spec.family} model"
    license_id = spec.license if spec.license and " " not in spec.license else "other"
    front = [
        "---",
        f"license: {_yaml_string(license_id)}",
        "library_name: stylezoo",
        "pipeline_tag: image-to-image",
        "tags:",
        "- stylezoo",
        f"- {spec.family}",
        "- image-to-image",
        "---",
    ]
    source = f"hf-hub:{repo_id}" if repo_id else "DIRECTORY_OR_REPO"
    lines = [
        *front,
        "",
        f"# {title}",
        "",
        spec.description or f"A {spec.family} model saved by stylezoo.",
        "",
        "## Use",
        "",
        "```python",
        "import stylezoo",
        f"translator = stylezoo.load({json.dumps(source)})",
        _usage_example(spec.family),
        "```",
        "",
        "## Details",
        "",
        f"- family: `{spec.family}`",
        f"- weights: {', '.join(f'`{r}.safetensors`' for r in roles)}",
        f"- license: {spec.license or 'unknown'}",
    ]
    if spec.paper:
        lines.append(f"- paper: {spec.paper}")
    if spec.homepage:
        lines.append(f"- homepage: {spec.homepage}")
    lines += [
        "",
        "Configuration:",
        "",
        "```json",
        json.dumps(dict(spec.config), indent=2),
        "```",
        "",
        "Input/output: " + json.dumps(spec.io.to_dict()),
        "",
    ]
    trained = spec.provenance.get("trained")
    if isinstance(trained, Mapping):
        lines += _training_lines(trained)
    if spec.provenance:
        lines += [
            "## Provenance",
            "",
            *_provenance_lines(spec.provenance),
            "",
            "```json",
            json.dumps(dict(spec.provenance), indent=2),
            "```",
            "",
        ]
    return "\n".join(lines)


def _usage_example(family: str) -> str:
    """The family's own example line, or the generic one for an unknown or broken family."""
    from .errors import StylezooError
    from .family import Family
    from .plugins import get_family

    try:
        return get_family(family).usage_example
    except StylezooError:  # an unknown family still gets a card
        return Family.usage_example


def _provenance_lines(provenance: Mapping[str, Any]) -> list[str]:
    """One sentence per weights file: converted from which upstream file, or how trained."""
    lines = []
    upstream = provenance.get("upstream", {})
    for role, source in dict(provenance.get("converted_from", {})).items():
        url = dict(upstream.get(role, {})).get("url", "")
        member = dict(upstream.get(role, {})).get("member", "")
        origin = f" ({url}" + (f", member `{member}`" if member else "") + ")" if url else ""
        lines.append(
            f"- `{role}` was converted from the official file `{source.get('file')}`"
            f"{origin} with sha256 `{source.get('sha256')}` by "
            f"{provenance.get('converter', 'stylezoo')}."
        )
    for key, value in provenance.items():
        if key not in ("converted_from", "upstream", "converter", "trained"):
            lines.append(f"- {key.replace('_', ' ')}: `{json.dumps(value)}`")
    return lines


def _training_lines(trained: Mapping[str, Any]) -> list[str]:
    """A "Training" section: data, length, hardware, time and final losses of a run."""
    lines = ["## Training", ""]
    data = trained.get("data", {})
    for key, value in dict(data).items():
        if isinstance(value, Mapping) and "folder" in value:
            skipped = f", {value['skipped']} unreadable skipped" if value.get("skipped") else ""
            lines.append(
                f"- data {key}: folder `{value['folder']}`, {value['images']} images{skipped}"
            )
        elif isinstance(value, Mapping):
            lines.append(f"- data {key}: {json.dumps(dict(value))}")
        else:
            lines.append(f"- data {key}: {value}")
    minutes = float(trained.get("wall_time_s", 0)) / 60
    batch = dict(trained.get("hparams", {})).get("batch_size", "?")
    lines += [
        f"- steps: {trained.get('steps')} (batch {batch}, "
        f"seed {trained.get('seed')}, precision {trained.get('precision')})",
        f"- hardware: {trained.get('hardware')} ({trained.get('processes', 1)} process(es), "
        f"device {trained.get('device')}), torch {trained.get('torch')}",
        f"- wall time: {minutes:.1f} min",
    ]
    losses = dict(trained.get("final_losses", {}))
    if losses:
        lines.append("- final losses: " + ", ".join(f"{k} {v:.4g}" for k, v in losses.items()))
    hparams = dict(trained.get("hparams", {}))
    if hparams:
        lines.append("- hyperparameters: " + ", ".join(f"{k}={v}" for k, v in hparams.items()))
    for key, value in trained.items():
        if key not in (
            "data",
            "steps",
            "hparams",
            "seed",
            "precision",
            "hardware",
            "processes",
            "device",
            "torch",
            "wall_time_s",
            "final_losses",
            "family",
        ):
            lines.append(f"- {key.replace('_', ' ')}: {value}")
    lines.append("")
    return lines
