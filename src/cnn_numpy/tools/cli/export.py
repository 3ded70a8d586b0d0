"""``cnn-numpy export MODEL.npz OUT.onnx``: a saved model as an ONNX file (onnxruntime, Netron)."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from ..onnx_export.to_onnx import export_onnx, require_onnx
from .common import CliError, UsageError, load_model, refuse_overwriting, writing


def shape_text(text: str) -> tuple[int, ...]:
    """An argparse type: ``"1,28,28"`` -> ``(1, 28, 28)``."""
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(
            f"must be positive sizes separated by commas, e.g. 1,28,28, got {text!r}"
        )
    return shape


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a saved model as an ONNX file (onnxruntime, Netron)",
        description="Export a saved model (model.npz or best.npz from a run folder) to ONNX, "
        "opset 17, with a dynamic batch axis and the model card as metadata. Run "
        "it with onnxruntime, or see the graph with the shape on every edge in "
        "Netron (`pip install netron`, then `netron OUT.onnx`, or "
        "https://netron.app). Needs the onnx package: pip install onnx (or, in the "
        'checkout, pip install -e ".[onnx]").',
    )
    p.add_argument("model", metavar="MODEL", help="a .npz saved by training or by cnn_numpy.save")
    p.add_argument("out", metavar="OUT", help="the .onnx file to write, e.g. model.onnx")
    p.add_argument(
        "--softmax",
        action="store_true",
        help="end with a Softmax: the output is probabilities instead of logits",
    )
    p.add_argument(
        "--input-shape",
        type=shape_text,
        default=None,
        metavar="C,H,W",
        help="one example's shape without the batch axis, e.g. 1,28,28 (default: "
        "the input_shape in the model's card)",
    )
    p.set_defaults(run=run)


#: how files that are surely not ONNX begin: a zip (a .npz model, a checkpoint), a .npy array
NOT_ONNX = {b"PK\x03\x04": "a zip file, such as a saved .npz model", b"\x93NUMPY": "a .npy array"}


def check_replaceable(out: str) -> None:
    """A ``CliError`` if ``out`` is an existing file that is not an ONNX file (its name does
    not end in .onnx, or it begins as a zip or .npy does): export never replaces a user's
    model or other file.  An existing .onnx may be replaced, as ``torch.onnx.export`` does."""
    path = Path(out)
    if not path.is_file():
        return
    with open(path, "rb") as file:
        head = file.read(8)
    kind = next((what for magic, what in NOT_ONNX.items() if head.startswith(magic)), None)
    if kind is None and path.suffix.lower() != ".onnx":
        kind = "its name does not end in .onnx"
    if kind is not None:
        raise CliError(
            f"{out} already exists and is not an ONNX file ({kind}); export does not "
            f"replace it. Choose another name ending in .onnx, e.g. {path.stem}.onnx, "
            "or delete the file first"
        )


def run(args: argparse.Namespace) -> int:
    try:
        require_onnx()
    except ImportError as err:
        raise CliError(str(err)) from None
    if not args.out.strip():
        raise UsageError(f"OUT is empty; give a file name, e.g. {Path(args.model).stem}.onnx")
    refuse_overwriting([args.out], [args.model], example=f"{Path(args.model).stem}.onnx")
    check_replaceable(args.out)
    model, card = load_model(args.model)
    card.pop("layers", None)  # the ONNX graph itself shows the layers
    input_shape = args.input_shape or card.get("input_shape")
    if input_shape is None:
        raise UsageError(
            f"{args.model}'s model card has no input_shape; pass it with "
            "--input-shape C,H,W, e.g. --input-shape 1,28,28"
        )
    folder = next((p for p in Path(args.out).parents if p.exists()), Path("."))
    if not folder.is_dir():  # export_onnx makes missing folders: mkdir said "File exists"
        raise CliError(f"cannot write {args.out}: {folder} is a file, not a folder")
    with warnings.catch_warnings(record=True) as caught, writing(f"write {args.out}"):
        warnings.simplefilter("always")
        path = export_onnx(model, args.out, input_shape, softmax=args.softmax, metadata=card)
    if args.input_shape and card.get("input_shape") not in (None, list(args.input_shape)):
        print(
            f"note: exported for input shape {args.input_shape}; the model was trained on "
            f"{tuple(card['input_shape'])}"
        )
    for warning in caught:
        print(f"note: {str(warning.message).removeprefix('export_onnx: ')}")
    output = "probabilities" if args.softmax else "logits"
    shape = ",".join(map(str, input_shape))
    print(
        f"Wrote {path} ({path.stat().st_size / 1e6:.2f} MB, opset 17): input (batch,{shape}) "
        f"float32 -> {output}"
    )
    print(f"See the graph: pip install netron && netron {path}  (or open it at https://netron.app)")
    return 0
