import hashlib

import pytest

from cnn_detector.errors import UntrustedGraphError
from cnn_detector.frozen_graph import LoadOptions, load_detector
from cnn_detector.graph_trust import ALLOWED_OPS, read_and_verify_graph, refused_ops, verify_graph_bytes
from cnn_detector.registry import discover_detectors
from tests.graphs import build_tf1_colour_graph

# Ops the Object Detection API's TF1 SSD and Faster R-CNN exports contain (DESIGN.md).
TF1_EXPORT_OPS = """Enter Exit Merge Switch NextIteration LoopCond TensorArrayV3 TensorArrayReadV3
TensorArrayWriteV3 TensorArrayGatherV3 TensorArrayScatterV3 TensorArraySizeV3 Assert NonMaxSuppressionV5
TopKV2 Where ResizeBilinear FusedBatchNormV3 DepthwiseConv2dNative CropAndResize""".split()
FORBIDDEN = "ReadFile WriteFile MatchingFiles SaveV2 RestoreV2 Save Restore PyFunc EagerPyFunc PrintV2".split()


def test_allowlist_admits_genuine_exports_and_refuses_io():
    assert set(TF1_EXPORT_OPS) <= ALLOWED_OPS
    assert not set(FORBIDDEN) & ALLOWED_OPS


def test_reference_graphs_pass(tf1_graph, tf2_graph):
    for data in (tf1_graph, tf2_graph):
        verified = verify_graph_bytes(data, "g.pb", hashlib.sha256(data).hexdigest())
        assert "NonMaxSuppressionV5" in verified.op_types
    assert {"Enter", "TensorArrayV3", "Assert"} <= verify_graph_bytes(tf1_graph, "g.pb", None).op_types


@pytest.mark.parametrize(
    "extra_op, refused",
    [("ReadFile", "ReadFile (node"), ("ReadFileInFunction", "ReadFile (node 'ReadFile' of function")],
)
def test_hidden_file_read_is_refused(extra_op, refused):
    data = build_tf1_colour_graph(extra_op=extra_op)
    with pytest.raises(UntrustedGraphError, match=r"evil\.pb: refused op\(s\)") as err:
        verify_graph_bytes(data, "evil.pb", None)
    assert refused in str(err.value)


def test_function_attr_naming_a_raw_op_is_refused(tf1_graph):
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(tf1_graph)
    node = graph_def.node.add(name="sneaky", op="Identity")
    node.attr["body"].func.name = "ReadFile"
    assert "ReadFile" in refused_ops(graph_def)


def test_write_file_graph_never_runs(tmp_path, make_detector):
    marker = tmp_path / "graph_ran.txt"
    make_detector("evil_writer", build_tf1_colour_graph(extra_op="WriteFile", extra_path=str(marker)))
    spec = discover_detectors([tmp_path / "detectors"], include_default=False).get("evil_writer")
    with pytest.raises(UntrustedGraphError, match="WriteFile"):
        load_detector(spec)
    assert not marker.exists()


def test_size_and_sha_and_garbage(tmp_path, tf1_graph):
    path = tmp_path / "g.pb"
    path.write_bytes(tf1_graph)
    with pytest.raises(UntrustedGraphError, match="limit is 100"):
        read_and_verify_graph(path, None, max_bytes=100)
    with pytest.raises(UntrustedGraphError, match="sha256 is .* but detector.yaml says"):
        read_and_verify_graph(path, "0" * 64)
    with pytest.raises(UntrustedGraphError, match="not found"):
        read_and_verify_graph(tmp_path / "none.pb", None)
    with pytest.raises(UntrustedGraphError, match="not a serialized GraphDef|no nodes"):
        verify_graph_bytes(b"\xff\xff\xff\xff garbage", "junk.pb", None)


def test_load_refuses_wrong_sha_from_manifest(tmp_path, make_detector, tf1_graph):
    make_detector("stale", tf1_graph, sha256="1" * 64)
    spec = discover_detectors([tmp_path / "detectors"], include_default=False).get("stale")
    with pytest.raises(UntrustedGraphError, match="stale"):
        load_detector(spec, LoadOptions())


def test_graph_without_contract_is_refused(tmp_path, make_detector):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="image_tensor")
        tf.identity(x, name="detection_boxes")
    make_detector("no_contract", graph.as_graph_def().SerializeToString())
    spec = discover_detectors([tmp_path / "detectors"], include_default=False).get("no_contract")
    with pytest.raises(UntrustedGraphError, match="image_tensor must be a uint8 Placeholder"):
        load_detector(spec)


def test_function_named_inside_a_function_attr_is_refused(tf1_graph):
    """A branch function whose own attrs name a raw op (say WriteFile) would run it."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(tf1_graph)
    fn = graph_def.library.function.add()
    fn.signature.name = "innocent"
    param = fn.signature.attr.add()
    param.name, param.type = "b", "func"
    inner = fn.node_def.add(name="call", op="If")
    inner.attr["then_branch"].placeholder = "b"
    node = graph_def.node.add(name="branch", op="StatelessIf")
    node.attr["then_branch"].func.name = "innocent"
    node.attr["then_branch"].func.attr["b"].func.name = "WriteFile"
    refused = refused_ops(graph_def)
    assert "WriteFile" in refused
    assert any("function-valued parameter" in key for key in refused)


def test_a_3d_convolution_clip_graph_passes():
    """Clip detectors (3D CNNs over face clips) freeze to Conv3D and 3D pooling: pure math."""
    import tensorflow as tf

    from cnn_detector.export import clip_tensor_specs, freeze_detection_function, name_outputs

    kernel = tf.constant(0.01, shape=[3, 3, 3, 3, 4])

    def serve(clips):
        x = tf.nn.conv3d(tf.cast(clips, tf.float32), kernel, [1, 1, 2, 2, 1], "SAME")
        x = tf.nn.max_pool3d(x, 2, 2, "SAME") + tf.nn.avg_pool3d(x, 2, 2, "SAME")
        score = tf.sigmoid(tf.reduce_mean(x, axis=[1, 2, 3, 4]))
        n = tf.shape(clips)[0]
        boxes = tf.tile(tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), [n, 1, 1])
        return name_outputs(boxes, score[:, None], tf.ones([n, 1]), tf.ones([n]))

    data = freeze_detection_function(tf.function(serve), clip_tensor_specs())
    verified = verify_graph_bytes(data, "clip.pb", hashlib.sha256(data).hexdigest())
    assert {"Conv3D", "MaxPool3D", "AvgPool3D"} <= {n.op for n in verified.graph_def.node}
