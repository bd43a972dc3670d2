"""Checks a detector graph must pass before TensorFlow ever sees it.

Detector graphs come from strangers. A GraphDef is a program: ops such as ReadFile,
WriteFile, Save/Restore, PyFunc or PrintV2 (which can write to a file) would run with the
user's rights. `verify_graph_bytes` therefore checks, in order: size limit, sha256 against
the manifest, that it parses as a GraphDef, and that every op, in the graph and in every
function of its library, is on an allowlist of pure tensor computation. Only the bytes that
passed are ever imported (`load_detector` imports the returned GraphDef), so nothing can
change between check and use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import DecodeError

from cnn_detector.errors import UntrustedGraphError

DEFAULT_MAX_GRAPH_BYTES = 64 * 1024 * 1024

# Pure computation found in genuine exports: the TF1 Object Detection API (SSD, Faster
# R-CNN: v1 while loops, TensorArrayV3, Assert, NMS, CropAndResize, ...) and TF2 Model
# Garden exports frozen by convert_variables_to_constants_v2, and the 3D convolutions and
# pooling of clip detectors. Nothing here reads or writes files, starts processes, talks to
# the network or calls back into Python.
ALLOWED_OPS = frozenset(
    """
    Abs Add AddN AddV2 All Any ArgMax ArgMin Assert AvgPool AvgPool3D BatchMatMul BatchMatMulV2
    BatchMatMulV3 BatchToSpaceND BiasAdd Bitcast BroadcastArgs BroadcastTo Cast Ceil
    CheckNumerics ClipByValue CombinedNonMaxSuppression Concat ConcatV2 Const Conv2D Conv3D
    Conv2DBackpropInput Cos CropAndResize Cumsum DepthToSpace DepthwiseConv2dNative
    Dequantize DivNoNan Div Einsum Elu Enter Equal Erf Exit Exp ExpandDims Fill Floor
    FloorDiv FloorMod FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3 Gather GatherNd
    GatherV2 Greater GreaterEqual Identity IdentityN If LeakyRelu Less LessEqual Log
    Log1p LogicalAnd LogicalNot LogicalOr LogSoftmax LoopCond MatMul Max Maximum MaxPool
    MaxPool3D MaxPoolV2 Mean Merge Min Minimum Mod Mul Neg NextIteration NoOp NonMaxSuppression
    NonMaxSuppressionV2 NonMaxSuppressionV3 NonMaxSuppressionV4 NonMaxSuppressionV5
    NotEqual OneHot OnesLike Pack Pad PadV2 Placeholder PlaceholderWithDefault Pow Prod
    Range Rank RealDiv Reciprocal Relu Relu6 Reshape ResizeArea ResizeBicubic
    ResizeBilinear ResizeNearestNeighbor ReverseV2 Round Rsqrt Select SelectV2 Selu Shape
    ShapeN Sigmoid Sign Sin Size Slice Softmax Softplus Softsign SpaceToBatchND
    SpaceToDepth Split SplitV Sqrt Square SquaredDifference Squeeze StatelessIf
    StatelessWhile StopGradient StridedSlice Sub Sum Switch Tanh TensorArrayConcatV3
    TensorArrayGatherV3 TensorArrayReadV3 TensorArrayScatterV3 TensorArraySizeV3
    TensorArraySplitV3 TensorArrayV3 TensorArrayWriteV3 TensorListFromTensor
    TensorListGetItem TensorListLength TensorListReserve TensorListSetItem TensorListStack
    Tile TopKV2 Transpose Unique Unpack Where While ZerosLike
    """.split()
)


@dataclass(frozen=True)
class VerifiedGraph:
    """A GraphDef that passed every check, with the facts checked."""

    graph_def: object  # tf.compat.v1.GraphDef; typed loosely to keep TF import lazy
    sha256: str
    size_bytes: int
    op_types: frozenset[str]


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def graph_op_types(graph_def) -> dict[str, str]:
    """Every op type used in the graph and its function library -> where it was first seen."""
    found: dict[str, str] = {}
    function_names = {fn.signature.name for fn in graph_def.library.function}
    for node in graph_def.node:
        found.setdefault(node.op, f"node {node.name!r}")
    for fn in graph_def.library.function:
        for node in fn.node_def:
            found.setdefault(node.op, f"node {node.name!r} of function {fn.signature.name!r}")
    # Calls to functions of the library are checked through the function bodies above.
    return {op: where for op, where in found.items() if op not in function_names}


def _attr_function_names(attr):
    """Every function named by an AttrValue, looking inside the attrs of named functions too."""
    if attr.HasField("func"):
        yield attr.func.name
        for inner in attr.func.attr.values():
            yield from _attr_function_names(inner)
    for func in attr.list.func:
        yield func.name
        for inner in func.attr.values():
            yield from _attr_function_names(inner)


def _function_references(graph_def):
    """(function name, where) for every func-valued attr: While bodies, If branches, calls."""
    nodes = [(node, f"node {node.name!r}") for node in graph_def.node]
    for fn in graph_def.library.function:
        nodes += [(node, f"node {node.name!r} of function {fn.signature.name!r}") for node in fn.node_def]
    for node, where in nodes:
        for attr in node.attr.values():
            for name in _attr_function_names(attr):
                yield name, where


def _function_valued_parameters(graph_def):
    """Functions whose signature takes a function as an attr: the body would run whatever op
    the caller names, which no check here could see. Genuine frozen exports have none."""
    for fn in graph_def.library.function:
        for attr in fn.signature.attr:
            if attr.type in ("func", "list(func)"):
                yield fn.signature.name, attr.name


def refused_ops(graph_def, allowed: frozenset[str] = ALLOWED_OPS) -> dict[str, str]:
    """Op types not on the allowlist -> where each was first seen.

    A func-valued attribute must name a function of the graph's own library: TensorFlow
    would otherwise instantiate a registered op of that name (say, ReadFile) as the body.
    """
    refused = {op: where for op, where in sorted(graph_op_types(graph_def).items()) if op not in allowed}
    library = {fn.signature.name for fn in graph_def.library.function}
    for name, where in _function_references(graph_def):
        if name not in library:
            refused.setdefault(name, f"{where} names it as a function, but the graph's library has no such function")
    for function, attr in _function_valued_parameters(graph_def):
        refused.setdefault(f"function-valued parameter {attr!r}", f"of function {function!r}")
    return refused


def verify_graph_bytes(
    data: bytes,
    path: Path | str,
    expected_sha256: str | None,
    max_bytes: int = DEFAULT_MAX_GRAPH_BYTES,
    allowed_ops: frozenset[str] = ALLOWED_OPS,
) -> VerifiedGraph:
    """Run every trust check on a serialized GraphDef; raise UntrustedGraphError naming the file.

    expected_sha256: the manifest's digest; None skips the digest check (only for graphs
    the caller built itself, never for a detector directory).
    """
    import tensorflow as tf

    path = Path(path)
    digest = check_size_and_digest(data, path, expected_sha256, max_bytes)
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except (DecodeError, RuntimeWarning, ValueError) as err:
        raise UntrustedGraphError(f"{path}: not a serialized GraphDef ({err})") from None
    if not graph_def.node:
        raise UntrustedGraphError(f"{path}: graph has no nodes")
    refused = refused_ops(graph_def, allowed_ops)
    if refused:
        listed = "; ".join(f"{op} ({where})" for op, where in refused.items())
        raise UntrustedGraphError(f"{path}: refused op(s) not on the allowlist: {listed}")
    return VerifiedGraph(graph_def, digest, len(data), frozenset(graph_op_types(graph_def)))


def read_and_verify_graph(
    path: Path | str,
    expected_sha256: str | None,
    max_bytes: int = DEFAULT_MAX_GRAPH_BYTES,
    allowed_ops: frozenset[str] = ALLOWED_OPS,
) -> VerifiedGraph:
    """Read a graph file (refusing oversized files before reading them) and verify it."""
    return verify_graph_bytes(read_limited(path, max_bytes), path, expected_sha256, max_bytes, allowed_ops)


def check_size_and_digest(data: bytes, path: Path, expected_sha256: str | None, max_bytes: int) -> str:
    """The first two checks of any detector model (frozen graph or TFLite): the size limit and
    the manifest's sha256 (None: a model the caller built itself). Returns the digest."""
    if len(data) > max_bytes:
        raise UntrustedGraphError(f"{path}: graph is {len(data)} bytes; the limit is {max_bytes}")
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise UntrustedGraphError(
            f"{path}: sha256 is {digest}, but detector.yaml says {expected_sha256}; "
            "the graph was changed or the manifest is stale"
        )
    return digest


def read_limited(path: Path | str, max_bytes: int = DEFAULT_MAX_GRAPH_BYTES) -> bytes:
    """A model file's bytes, refusing an oversized file before reading it."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UntrustedGraphError(f"{path}: graph is {size} bytes; the limit is {max_bytes}")
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise UntrustedGraphError(f"{path}: graph file not found") from None
    except OSError as err:
        raise UntrustedGraphError(f"{path}: cannot read graph: {err.strerror}") from None
    return data
