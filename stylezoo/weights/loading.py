"""State dicts → networks → a translator: strict, on the target device, built once.

Networks are built on the ``meta`` device (no memory, no random initialisation) and the
weights are assigned to them as they are, so a load costs one build and the read of the
safetensors files, and tensors go straight to their device.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PluginError, StylezooError, WeightsError
from ..family import Family, ModelSpec
from ..plugins import families, get_family

# torch is imported inside the functions: finding a model's files (and failing at once when
# they are not there, e.g. offline) does not wait for `import torch`.
if TYPE_CHECKING:
    import torch
    from torch import nn

    from ..translator import Translator
    from .directory import LocalModel

    StateDicts = Mapping[str, Mapping[str, torch.Tensor]]

#: Statistics that official files carry for InstanceNorm layers that keep none (PyTorch 0.3
#: saved them); they are never used, so every family's loads drop them.
UNUSED_NORM_STATS = ("running_mean", "running_var", "num_batches_tracked")


@dataclass
class Fitted:
    """Weights checked against the family's networks, ready to be assigned to them.

    Attributes:
        spec: the model's spec, its config completed with the family's defaults.
        family: the family that built the networks.
        networks: the networks, built on the meta device.
        state_dicts: the weights by role, without unused normalisation statistics.
    """

    spec: ModelSpec
    family: Family
    networks: dict[str, nn.Module]
    state_dicts: dict[str, dict[str, torch.Tensor]]


def fit(spec: ModelSpec, state_dicts: StateDicts) -> Fitted:
    """Build the family's networks on the meta device and check the weights fit exactly.

    Raises:
        WeightsError: missing, unexpected or mis-shaped keys (naming them, and the family the
            weights belong to when another installed family fits them).
    """
    family = get_family(spec.family)
    config = family.complete_config(spec.config)
    spec = replace(spec, config=config)
    label = spec.name or spec.family
    networks = build_on_meta(family, config)
    if set(networks) != set(state_dicts):
        raise WeightsError(
            f"{label}: weights for roles {sorted(state_dicts)} but the {spec.family} family "
            f"has roles {sorted(networks)}."
        )
    cleaned = {}
    try:
        for role, network in networks.items():
            state = drop_unused_norm_stats(network, state_dicts[role])
            check_keys(network, state, f"{label} {role}" if len(networks) > 1 else label)
            cleaned[role] = state
    except WeightsError as exc:
        other = guess_family(state_dicts, exclude=spec.family)
        if other is None:
            raise
        raise WeightsError(
            f"These weights belong to a {other!r} model, not {spec.family!r}: load or convert "
            f"them as {other!r} (e.g. `stylezoo convert {other} ...`). Details: {exc}"
        ) from exc
    return Fitted(spec, family, networks, cleaned)


def assemble(
    fitted: Fitted,
    *,
    device: torch.device | Mapping[str, torch.device],
    dtype: torch.dtype,
) -> Translator:
    """Assign the fitted weights (moved to ``device``, floats cast to ``dtype``) and wrap the
    networks into the family's translator. ``device`` is one device or a device per role."""
    label = fitted.spec.name or fitted.spec.family
    for role, network in fitted.networks.items():
        target = device[role] if isinstance(device, Mapping) else device
        cast = {
            key: value.to(device=target, dtype=dtype if value.is_floating_point() else None)
            for key, value in fitted.state_dicts[role].items()
        }
        network.load_state_dict(cast, strict=True, assign=True)
        _check_materialised(network, label)
    try:
        return fitted.family.translator(fitted.networks, fitted.spec)
    except StylezooError:
        raise
    except Exception as exc:
        raise _plugin_failed(fitted.family, "make its translator", exc) from exc


def build_on_meta(family: Family, config: Mapping[str, Any]) -> dict[str, nn.Module]:
    """The family's networks built on the meta device; a plugin that fails is a PluginError."""
    import torch

    try:
        with torch.device("meta"):
            return family.build_networks(config)
    except StylezooError:
        raise
    except Exception as exc:
        raise _plugin_failed(family, "build its networks", exc) from exc


def _plugin_failed(family: Family, what: str, exc: Exception) -> PluginError:
    return PluginError(
        f"The {family.name} family (plugin {family.plugin or '?'}) failed to {what}: "
        f"{type(exc).__name__}: {exc}. This is a bug in the plugin; report it to its authors "
        "(`stylezoo plugins` lists where each family comes from)."
    )


def load_files(
    model: LocalModel, *, device: Any = None, dtype: Any = None, device_map: Any = None
) -> Translator:
    """Read each role's safetensors straight onto its device and build the translator.

    ``device`` and ``device_map`` are described in :func:`stylezoo.load`.
    """
    from ..device_map import place_roles
    from ..devices import resolve_dtype

    family = get_family(model.spec.family)
    if family.own_layout:  # another library's layout: the family reads its files itself
        try:
            return family.load_model(model, device=device, dtype=dtype, device_map=device_map)
        except StylezooError:
            raise
        except Exception as exc:
            raise _plugin_failed(family, f"load {model.origin or model.directory}", exc) from exc
    placement = place_roles(model.files, device=device, device_map=device_map)
    cast = resolve_dtype(dtype, next(iter(placement.values()), None))
    fitted = model.fitted
    if fitted is None:
        state_dicts = {
            role: read_safetensors(path, placement[role]) for role, path in model.files.items()
        }
        fitted = fit(model.spec, state_dicts)
    return assemble(fitted, device=placement, dtype=cast)


def read_safetensors(path: Path, device: torch.device) -> dict[str, torch.Tensor]:
    """Read a safetensors file straight onto ``device``; corrupt files raise WeightsError."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=str(device))
    except Exception as exc:  # SafetensorError, OSError, …: any failure to read the file
        raise WeightsError(
            f"{str(path)!r} is not a readable safetensors file ({exc}). It may be truncated or "
            "in another format; delete it and save, convert or download the model again."
        ) from exc


def drop_unused_norm_stats(
    network: nn.Module, state: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """``state`` without the statistics of InstanceNorm layers that keep none.

    Only keys whose owner is such a layer are dropped; any other difference is left for
    :func:`check_keys` to report.
    """
    from torch import nn

    stateless = {
        name
        for name, module in network.named_modules()
        if isinstance(module, nn.modules.instancenorm._InstanceNorm)
        and not module.track_running_stats
    }
    kept = {}
    for key, value in state.items():
        owner, _, leaf = key.rpartition(".")
        if leaf in UNUSED_NORM_STATS and owner in stateless:
            continue
        kept[key] = value
    return kept


def check_keys(module: nn.Module, state: Mapping[str, torch.Tensor], label: str) -> None:
    """Raise :class:`WeightsError` naming missing, unexpected and mis-shaped keys."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [
        f"{k}: file {tuple(state[k].shape)} vs network {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    # Floats may come in another precision (they are cast); integers, booleans and complex
    # numbers where the network keeps floats (or the other way round) cannot be.
    wrong_dtype = [
        f"{k}: file {state[k].dtype} vs network {expected[k].dtype}"
        for k in expected
        if k in state
        and (
            state[k].is_floating_point() != expected[k].is_floating_point()
            or state[k].is_complex() != expected[k].is_complex()
        )
    ]
    if missing or unexpected or wrong_shape or wrong_dtype:
        parts = []
        if missing:
            parts.append(f"missing keys {_short(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_short(unexpected)}")
        if wrong_shape:
            parts.append(f"shape mismatches {_short(wrong_shape)}")
        if wrong_dtype:
            parts.append(f"dtype mismatches {_short(wrong_dtype)}")
        raise WeightsError(
            f"The weights do not fit the {label} network: {'; '.join(parts)}. They belong to "
            "another architecture or configuration (check the config, e.g. netG, ngf, norm, "
            "dropout), or the file is incomplete."
        )


def _short(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return f"[{shown}{f', … {len(items) - limit} more' if len(items) > limit else ''}]"


def _check_materialised(network: nn.Module, label: str) -> None:
    """Every tensor must come from the weights: non-persistent buffers would stay on meta."""
    leftovers = [
        name for name, t in (*network.named_parameters(), *network.named_buffers()) if t.is_meta
    ]
    if leftovers:
        raise WeightsError(
            f"{label}: tensors {leftovers} are not in the state dict, so loading cannot fill "
            "them. Register them as persistent buffers (the family's code needs a fix)."
        )


def guess_family(state_dicts: StateDicts, *, exclude: str = "") -> str | None:
    """The installed family whose default networks have exactly these keys, if any.

    Only used to explain a failed load, so its cost (building on the meta device) is paid on
    the error path alone.
    """
    for name, family in families().items():
        if name == exclude or set(family.roles) != set(state_dicts):
            continue
        try:
            networks = build_on_meta(family, family.complete_config({}))
            fits = all(
                set(networks[role].state_dict())
                == set(drop_unused_norm_stats(networks[role], state_dicts[role]))
                for role in networks
            )
        except Exception:  # a broken plugin must not hide the original error
            continue
        if fits:
            return name
    return None
