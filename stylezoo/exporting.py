""":func:`export`: a translator as an ONNX graph or a TorchScript module, in one file.

The graph is what the raw call ``translator(batch, **options)`` computes, pre- and
post-processing included: NCHW float32 RGB in [0, 1] in, the same shape and range out (see
:mod:`stylezoo.exportable` and docs/export.md). The file is written to a temporary name
beside the target, checked (the ONNX checker; the reloaded file run against PyTorch) and
only then renamed into place.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ExportError, OutputError

if TYPE_CHECKING:
    import torch

    from .exportable import ExportGraph
    from .translator import ImageTranslator

logger = logging.getLogger(__name__)

FORMATS = ("onnx", "torchscript")
#: File suffixes that name a format when ``format`` is not given.
SUFFIXES = {
    ".onnx": "onnx",
    ".pt": "torchscript",
    ".ts": "torchscript",
    ".torchscript": "torchscript",
}
#: The example image's side when ``size`` is not given (raised to the model's minimum).
DEFAULT_SIZE = 256
#: The largest difference from PyTorch (values in [0, 1]) an exported file may show on the
#: check run: it catches a wrong graph (a size fixed while tracing, a missing step), not
#: float rounding, which stays far below it.
CHECK_TOLERANCE = 1e-3
ONNX_EXTRA = 'Exporting to ONNX needs onnx and onnxscript: pip install "stylezoo[onnx]".'


def export(
    model: Any,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    dynamic_size: bool = False,
    size: int | Sequence[int] | None = None,
    options: Mapping[str, Any] | None = None,
    opset: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Export a model to one ONNX or TorchScript file that needs no stylezoo to run.

    The exported graph takes ``image``, an NCHW float32 batch of RGB values in [0, 1]
    (channels as the model's io says: 3 for every official model), and returns ``output``
    of the same shape and range: exactly ``translator(image, **options)``. Models whose
    options are images or blends take them as further inputs: AdaIN and arbitrary a
    ``style`` image (1×3×H×W in [0, 1], any size), multistyle ``style_weights`` (one weight
    per style, normalised in the graph), unless a fixed style is given in ``options``.

    Args:
        model: a translator, or anything :func:`stylezoo.load` takes (a registry name, a
            directory, ``hf-hub:…``). It is exported on the CPU in float32; a translator
            elsewhere or in another dtype is copied, not moved.
        path: the file to write (its folder is created).
        format: ``"onnx"`` or ``"torchscript"``; default from the suffix (``.onnx``;
            ``.pt``, ``.ts``, ``.torchscript``).
        dynamic_size: the graph takes any height and width (at least the model's minimum);
            without it, only the ``size`` it was exported at (the batch size always varies).
        size: the image size to export at (and to check with): ``256`` or ``(height,
            width)``; default 256, or the model's minimum when larger.
        options: translate options fixed in the graph, e.g. ``{"strength": 0.5}``; for
            multistyle, ``{"style": 7}`` fixes the style instead of taking weights.
        opset: the ONNX opset (default: the exporter's).
        overwrite: replace an existing file.

    Returns:
        The written file.

    Raises:
        ExportError: an option or format the family cannot export, a missing exporter
            package (the message names the pip extra), or a file that does not reproduce
            the model on the check run.
        OutputError: ``path`` exists (without ``overwrite``) or cannot be written.

    Example:
        >>> stylezoo.export("multistyle/android-26", "multistyle.onnx", dynamic_size=True)
    """
    target = Path(path)
    kind = _format(format, target)
    _check_target(target, overwrite)
    translator = _cpu_float32(model)
    graph = _graph(translator, dict(options or {}))
    height, width = _size(size, translator)
    inputs = _example_inputs(translator, graph, height, width, seed=0)
    metadata = _metadata(translator, graph, kind, dynamic_size, (height, width))
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        if kind == "onnx":
            _write_onnx(graph, inputs, dynamic_size, opset, metadata, temporary)
        else:
            _write_torchscript(graph, inputs, metadata, temporary)
        _check_file(kind, temporary, translator, graph, inputs, dynamic_size)
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    logger.info("Exported %s to %s (%s)", metadata["model"], target, kind)
    return target


def _format(format: str | None, target: Path) -> str:
    if format is None:
        kind = SUFFIXES.get(target.suffix.lower())
        if kind is None:
            raise ExportError(
                f"Cannot tell the format of {str(target)!r} from its suffix; pass format="
                "'onnx' or 'torchscript' (--format), or name the file .onnx or .pt."
            )
        return kind
    if format not in FORMATS:
        raise ExportError(f"Unknown export format {format!r}; use 'onnx' or 'torchscript'.")
    return format


def _check_target(target: Path, overwrite: bool) -> None:
    if target.is_dir():
        raise OutputError(f"{str(target)!r} is a folder; export writes one file. Name a file.")
    if target.exists() and not overwrite:
        raise OutputError(
            f"{str(target)!r} exists; pass overwrite=True (--overwrite) to replace it, or "
            "choose another name."
        )
    from .weights.directory import output_problem

    problem = output_problem(target.parent)
    if problem is not None:
        raise OutputError(f"Cannot write {str(target)!r}: {problem}.")


def _cpu_float32(model: Any) -> ImageTranslator:
    import copy

    import torch

    from .translator import ImageTranslator

    if isinstance(model, (str, os.PathLike)):
        from .api import load

        model = load(model)
    if not isinstance(model, ImageTranslator):
        raise ExportError(
            f"Cannot export a {type(model).__name__}: export takes a translator built on "
            "stylezoo.ImageTranslator (what stylezoo.load returns) or a model name."
        )
    translator: ImageTranslator = model
    placements = {
        (p.device, p.dtype) for net in translator.networks.values() for p in net.parameters()
    }
    if placements - {(torch.device("cpu"), torch.float32)}:
        translator = copy.deepcopy(translator)
        for network in translator.networks.values():
            network.to("cpu", torch.float32)
    return translator


def _graph(translator: ImageTranslator, options: dict[str, Any]) -> ExportGraph:
    from .exportable import ExportGraph

    graph = translator.export_graph(options)
    if not isinstance(graph, ExportGraph):
        raise ExportError(
            f"The {translator.spec.family} family's export_graph returned a "
            f"{type(graph).__name__}, not an ExportGraph; the plugin needs a fix."
        )
    graph.module.eval()
    return graph


def _size(size: int | Sequence[int] | None, translator: ImageTranslator) -> tuple[int, int]:
    from .exportable import export_min_size

    smallest = export_min_size(translator)
    if size is None:
        side = max(DEFAULT_SIZE, smallest)
        return side, side
    values = [size] if isinstance(size, int) else list(size)
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise ExportError(f"size must be a side or (height, width) in pixels, got {size!r}.")
    height, width = values
    if min(height, width) < smallest:
        raise ExportError(
            f"size {height}×{width} is too small for this {translator.spec.family} model: "
            f"exported graphs take sides of at least {smallest} pixels."
        )
    return height, width


def _example_inputs(
    translator: ImageTranslator, graph: ExportGraph, height: int, width: int, seed: int
) -> tuple[torch.Tensor, ...]:
    import torch

    generator = torch.Generator().manual_seed(seed)
    channels = translator.spec.io.channels
    # A batch of 2: a batch of 1 would be taken for a fixed size by the exporter.
    image = torch.rand(2, channels, height, width, generator=generator)
    return (image, *(item.example for item in graph.inputs))


def _dynamic_axes(graph: ExportGraph, dynamic_size: bool) -> dict[str, dict[int, str]]:
    from .exportable import IMAGE_INPUT, OUTPUT

    image = {0: "batch", 2: "height", 3: "width"} if dynamic_size else {0: "batch"}
    axes = {IMAGE_INPUT: image, OUTPUT: dict(image)}
    for item in graph.inputs:
        if item.dynamic:
            axes[item.name] = dict(item.dynamic)
    return axes


def _metadata(
    translator: ImageTranslator,
    graph: ExportGraph,
    kind: str,
    dynamic_size: bool,
    size: tuple[int, int],
) -> dict[str, Any]:
    from ._version import __version__
    from .exportable import IMAGE_INPUT, OUTPUT, export_min_size

    channels = translator.spec.io.channels
    return {
        "stylezoo_version": __version__,
        "format": kind,
        "model": translator.spec.name or translator.spec.family,
        "family": translator.spec.family,
        "license": translator.spec.license,
        "inputs": {
            IMAGE_INPUT: f"N×{channels}×H×W float32 in [0, 1] (RGB)",
            **{item.name: item.help for item in graph.inputs},
        },
        OUTPUT: "N×3×H×W float32 in [0, 1] (RGB), the image's size",
        "size": "dynamic" if dynamic_size else list(size),
        "min_size": export_min_size(translator),
        "options": dict(graph.options),
    }


def _write_onnx(
    graph: ExportGraph,
    inputs: tuple[torch.Tensor, ...],
    dynamic_size: bool,
    opset: int | None,
    metadata: Mapping[str, Any],
    temporary: Path,
) -> None:
    try:
        import onnx
        import onnxscript  # noqa: F401  (the exporter needs it)
    except ImportError as exc:
        raise ExportError(f"{ONNX_EXTRA} ({exc})") from exc
    import torch

    from .exportable import IMAGE_INPUT, OUTPUT

    if tuple(int(part) for part in torch.__version__.split(".")[:2]) < (2, 5):
        raise ExportError(
            f"Exporting to ONNX needs torch 2.5 or later (its torch.export-based exporter); "
            f"this is torch {torch.__version__}. Upgrade torch, or export TorchScript."
        )
    names = [IMAGE_INPUT, *(item.name for item in graph.inputs)]
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # exporter chatter about its own internals
            program = torch.onnx.export(
                graph.module,
                inputs,
                dynamo=True,
                input_names=names,
                output_names=[OUTPUT],
                dynamic_axes=_dynamic_axes(graph, dynamic_size),
                opset_version=opset,
                verbose=False,
            )
    except Exception as exc:  # the exporter raises many kinds
        raise ExportError(
            f"torch.onnx could not export the {metadata['family']} graph "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''})."
        ) from exc
    assert program is not None  # dynamo=True always returns the program
    proto = program.model_proto
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key = f"stylezoo.{key}"
        entry.value = value if isinstance(value, str) else json.dumps(value)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:  # onnx.checker.ValidationError, shape inference errors
        raise ExportError(f"The exported ONNX graph fails the ONNX checker: {exc}") from exc
    onnx.save_model(proto, os.fspath(temporary))


def _write_torchscript(
    graph: ExportGraph,
    inputs: tuple[torch.Tensor, ...],
    metadata: Mapping[str, Any],
    temporary: Path,
) -> None:
    import torch

    try:
        with torch.no_grad(), warnings.catch_warnings():
            # torch.jit.trace is deprecated upstream (FutureWarning) but still the way to a
            # file that C++ and older runtimes load; the trace is checked below instead.
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(  # type: ignore[no-untyped-call]
                graph.module, inputs, check_trace=False
            )
    except Exception as exc:
        raise ExportError(
            f"torch.jit.trace could not trace the {metadata['family']} graph "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''})."
        ) from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # see above
        torch.jit.save(
            traced, os.fspath(temporary), _extra_files={"stylezoo.json": json.dumps(metadata)}
        )


def _check_file(
    kind: str,
    file: Path,
    translator: ImageTranslator,
    graph: ExportGraph,
    inputs: tuple[torch.Tensor, ...],
    dynamic_size: bool,
) -> None:
    """Run the written file and PyTorch on the example inputs (and, for a dynamic-size
    export, on a second, odd size) and refuse a file that does not reproduce the model."""
    runner = _runner(kind, file)
    if runner is None:
        return
    cases = [inputs]
    if dynamic_size:
        height, width = inputs[0].shape[-2:]
        cases.append(_example_inputs(translator, graph, height + 1, width + 3, seed=1))
    import torch

    for case in cases:
        with torch.no_grad():
            expected = graph.module(*case)
        got = runner(case)
        if got.shape != expected.shape:
            raise ExportError(
                f"The exported {kind} file returns shape {tuple(got.shape)} for an input of "
                f"{tuple(case[0].shape)}, PyTorch {tuple(expected.shape)}; the family's "
                "export_graph fixes a size while tracing (a bug: please report it)."
            )
        difference = float((got - expected).abs().max())
        logger.info("Exported %s file at %s: max difference %.2g", kind, case[0].shape, difference)
        if not difference <= CHECK_TOLERANCE:
            raise ExportError(
                f"The exported {kind} file differs from PyTorch by up to {difference:.3g} (over "
                f"{CHECK_TOLERANCE}) on a {tuple(case[0].shape)} input; the family's "
                "export_graph does not trace faithfully (a bug: please report it)."
            )


def _runner(kind: str, file: Path) -> Any:
    import torch

    if kind == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # see _write_torchscript
            loaded = torch.jit.load(  # type: ignore[no-untyped-call]
                os.fspath(file), map_location="cpu"
            )

        def run_torchscript(case: Sequence[torch.Tensor]) -> torch.Tensor:
            with torch.no_grad():
                result: torch.Tensor = loaded(*case)
            return result

        return run_torchscript
    try:
        import onnxruntime
    except ImportError:
        logger.info("onnxruntime is not installed: the exported graph is not run to check it")
        return None
    session = onnxruntime.InferenceSession(os.fspath(file), providers=["CPUExecutionProvider"])
    names = [entry.name for entry in session.get_inputs()]

    def run_onnx(case: Sequence[torch.Tensor]) -> torch.Tensor:
        feeds = {name: tensor.numpy() for name, tensor in zip(names, case, strict=True)}
        return torch.from_numpy(session.run(None, feeds)[0])

    return run_onnx
