"""Model cards (README.md) for saved models, with Hub-friendly YAML front matter."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .family import ModelSpec


def _yaml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid YAML scalar


def model_card(spec: ModelSpec, roles: Sequence[str]) -> str:
    """The README.md of a saved model: front matter, usage, configuration and provenance."""
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
    lines = [
        *front, "",
        f"# {title}", "",
        spec.description or f"A {spec.family} model saved by stylezoo.", "",
        "## Use", "",
        "```python",
        "import stylezoo",
        "translator = stylezoo.load(\"DIRECTORY_OR_REPO\")",
        "result = translator.translate(\"input.jpg\")  # PIL image, same size as the input",
        "```", "",
        "## Details", "",
        f"- family: `{spec.family}`",
        f"- weights: {', '.join(f'`{r}.safetensors`' for r in roles)}",
        f"- license: {spec.license or 'unknown'}",
    ]
    if spec.paper:
        lines.append(f"- paper: {spec.paper}")
    if spec.homepage:
        lines.append(f"- homepage: {spec.homepage}")
    lines += ["", "Configuration:", "", "```json", json.dumps(dict(spec.config), indent=2),
              "```", "", "Input/output: " + json.dumps(spec.io.to_dict()), ""]
    if spec.provenance:
        lines += ["## Provenance", "", "```json", json.dumps(dict(spec.provenance), indent=2),
                  "```", ""]
    return "\n".join(lines)
