"""``stylezoo train``: train a family on folders of images (also under ``torchrun``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_train_command(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a family on your own images",
        description=(
            "Train FAMILY on your images. Unpaired families (cyclegan, cut): --data DIR with "
            "trainA/ and trainB/, or --a DIR --b DIR. pix2pix: --data DIR of side-by-side AB "
            "images, or --a DIR --b DIR with matching names. Style families (adain, fast_style, "
            "multistyle): --data DIR of content photos and --style IMAGE. Several processes or "
            "machines: torchrun --nproc_per_node N -m stylezoo train ..."
        ),
    )
    p.add_argument("family", help="a family (cyclegan) or a model to start from (multistyle/NAME)")
    p.add_argument("--data", help="the data folder (see above)")
    p.add_argument("--a", help="domain A folder")
    p.add_argument("--b", help="domain B folder")
    p.add_argument("--style", action="append", default=[], help="a style image (repeatable)")
    p.add_argument("-o", "--output", help="the run folder (checkpoints, samples, model/)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="iterations to train")
    length.add_argument("--epochs", type=float, help="passes over the data")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a training option (hyper-parameter), e.g. lambda_identity=0",
    )
    p.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a build option of the networks, e.g. ngf=32",
    )
    p.add_argument("--from", dest="init", help="a model to start from (name or directory)")
    p.add_argument("--resume", action="store_true", help="continue the run in --output")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:0, mps")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile the networks")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument("--checkpoint-every", type=int, default=1000, metavar="STEPS")
    p.add_argument("--sample-every", type=int, default=500, metavar="STEPS")
    p.add_argument("--log-every", type=int, default=50, metavar="STEPS")
    p.add_argument("--tensorboard", action="store_true", help="log to OUTPUT/tensorboard")
    p.add_argument("--hparams", action="store_true", help="list the training options and exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)


def _data(args: argparse.Namespace) -> Any:
    if args.style:
        return {"content": args.data or args.a, "style": list(args.style)}
    if args.a or args.b:
        return {"A": args.a, "B": args.b}
    return args.data


def cmd_train(args: argparse.Namespace) -> int:
    from .api import trainer
    from .cli_common import _parse_settings
    from .errors import InvalidOptionError

    made: Any = trainer(
        args.family,
        config=_parse_settings(args.config, "--config"),
        hparams=_parse_settings(args.set),
        device=args.device,
        precision=args.precision,
        seed=args.seed,
        channels_last=args.channels_last,
        compile=args.compile,
        init=args.init,
    )
    if args.hparams:
        for name, value in made.hparams.items():
            print(f"{name} = {value!r}")
        return 0
    if args.output is None:
        raise InvalidOptionError("stylezoo train needs -o/--output (the run folder).")
    if args.steps is None and args.epochs is None:
        raise InvalidOptionError("stylezoo train needs --steps N or --epochs N.")
    data = _data(args)
    if data is None:
        raise InvalidOptionError(
            "stylezoo train needs data: --data DIR, or --a DIR --b DIR (see --help)."
        )
    result = made.fit(
        data,
        steps=args.steps,
        epochs=args.epochs,
        out=args.output,
        resume=args.resume,
        workers=args.workers,
        checkpoint_every=args.checkpoint_every,
        sample_every=args.sample_every,
        log_every=args.log_every,
        progress=not args.quiet and sys.stderr.isatty(),
        tensorboard=True if args.tensorboard else False,
    )
    if made.world.main:
        losses = ", ".join(f"{k} {v:.4g}" for k, v in result.losses.items())
        print(f"trained {result.steps} steps in {result.seconds / 60:.1f} min ({losses})")
        for path in result.models:
            print(f"model: {path}")
    return 0
