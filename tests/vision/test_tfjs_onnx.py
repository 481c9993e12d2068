"""The TFJS -> ONNX converter on a small hand-made graph: onnxruntime's output against a
NumPy reference of TensorFlow's semantics (NHWC, SAME padding with the odd pixel after,
legacy bilinear resize, float16- and uint8-quantised weights)."""

import base64
import json

import numpy as np
import onnxruntime as ort
import pytest

from openlive.engines.vision.tfjs_onnx import UnsupportedOp, convert, decode_weights, load_tfjs

RNG = np.random.default_rng(7)


# --- a NumPy reference of the TF ops ------------------------------------------------------
def same_pads(size: int, k: int, stride: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def conv(x, w, stride=1, padding="SAME", depthwise=False):
    """x: 1xHxWxC; w: kh x kw x C x M (depthwise) or kh x kw x C x O."""
    kh, kw = w.shape[:2]
    if padding == "SAME":
        (t, b), (left, r) = same_pads(x.shape[1], kh, stride), same_pads(x.shape[2], kw, stride)
        x = np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)))
    oh = (x.shape[1] - kh) // stride + 1
    ow = (x.shape[2] - kw) // stride + 1
    out = None
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :]
            if depthwise:
                term = (patch[..., :, None] * w[i, j]).reshape(*patch.shape[:3], -1)
            else:
                term = patch @ w[i, j]
            out = term if out is None else out + term
    return out


def resize_bilinear(x, h, w):
    """TF's ResizeBilinear with align_corners=False, half_pixel_centers=False."""
    ih, iw = x.shape[1:3]
    ys, xs = np.arange(h) * (ih / h), np.arange(w) * (iw / w)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, ih - 1), np.minimum(x0 + 1, iw - 1)
    fy, fx = (ys - y0)[None, :, None, None], (xs - x0)[None, None, :, None]
    top = x[:, y0][:, :, x0] * (1 - fx) + x[:, y0][:, :, x1] * fx
    bottom = x[:, y1][:, :, x0] * (1 - fx) + x[:, y1][:, :, x1] * fx
    return top * (1 - fy) + bottom * fy


def max_pool_same(x, k=3):
    t, b = same_pads(x.shape[1], k, 1)
    left, r = same_pads(x.shape[2], k, 1)
    p = np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)), constant_values=-np.inf)
    out = np.full_like(x, -np.inf)
    for i in range(k):
        for j in range(k):
            out = np.maximum(out, p[:, i:i + x.shape[1], j:j + x.shape[2]])
    return out


def relu6(x):
    return np.clip(x, 0, 6)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# --- building a TFJS graph model ----------------------------------------------------------
def s(text):
    return {"s": base64.b64encode(text.encode()).decode()}


def ints(*values):
    return {"list": {"i": [str(v) for v in values]}}


def node(name, op, inputs=(), **attr):
    return {"name": name, "op": op, "input": list(inputs), "attr": attr}


def conv_attrs(stride, padding="SAME", fused=("BiasAdd",)):
    return {"strides": ints(1, stride, stride, 1), "padding": s(padding),
            "data_format": s("NHWC"), "dilations": ints(1, 1, 1, 1),
            "fused_ops": {"list": {"s": [s(f)["s"] for f in fused]}},
            "num_args": {"i": "1"}}


class Weights:
    """Weights as TFJS stores them: float32, float16-quantised or uint8 (min, scale)."""

    def __init__(self):
        self.specs, self.chunks, self.values = [], [], {}

    def add(self, name, value, quant=None):
        value = np.asarray(value)
        spec = {"name": name, "shape": list(value.shape),
                "dtype": "int32" if value.dtype.kind == "i" else "float32"}
        if quant == "float16":
            stored = value.astype(np.float16)
            spec["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
            value = stored.astype(np.float32)
        elif quant == "uint8":
            lo, hi = float(value.min()), float(value.max())
            scale = (hi - lo) / 255
            stored = np.round((value - lo) / scale).astype(np.uint8)
            spec["quantization"] = {"dtype": "uint8", "min": lo, "scale": scale}
            value = stored.astype(np.float32) * np.float32(scale) + np.float32(lo)
        else:
            stored = value.astype(np.int32 if spec["dtype"] == "int32" else np.float32)
        self.specs.append(spec)
        self.chunks.append(stored.tobytes())
        self.values[name] = value
        return value


def tiny_model(tmp_path):
    """A few ops of each kind CenterNet uses, on an odd-sized input; returns the model's
    path and the NumPy reference as a function of the input."""
    wt = Weights()
    w1 = wt.add("w1", RNG.normal(0, 0.4, (3, 3, 3, 8)), "float16")
    b1 = wt.add("b1", RNG.normal(0, 0.1, (8,)), "float16")
    three = wt.add("three", np.array(3.0, np.float32))
    sixth = wt.add("sixth", np.array(1 / 6, np.float32))
    dw = wt.add("dw", RNG.normal(0, 0.4, (3, 3, 8, 1)), "uint8")
    db = wt.add("db", RNG.normal(0, 0.1, (8,)), "uint8")
    dw2 = wt.add("dw2", RNG.normal(0, 0.4, (3, 3, 8, 1)))
    wt.add("axes", np.array([1, 2], np.int32))
    se = wt.add("se", RNG.normal(0, 0.5, (1, 1, 8, 8)))
    gain = wt.add("gain", RNG.normal(1, 0.2, (8,)))
    wt.add("size", np.array([5, 6], np.int32))
    wt.add("axis", np.array(3, np.int32))
    wp = wt.add("wp", RNG.normal(0, 0.3, (1, 1, 16, 4)))
    bp = wt.add("bp", RNG.normal(0, 0.1, (4,)))
    nodes = [
        node("x", "Placeholder", shape={"shape": {"dim": [{"size": "1"}, {"size": "9"},
                                                          {"size": "11"}, {"size": "3"}]}}),
        *(node(n, "Const") for n in ("w1", "b1", "three", "sixth", "dw", "db", "dw2", "axes",
                                     "se", "gain", "size", "axis", "wp", "bp")),
        node("c1", "_FusedConv2D", ["x", "w1", "b1"], **conv_attrs(2)),
        # hard swish: x * relu6(x + 3) / 6
        node("hs/add", "AddV2", ["c1", "three"]),
        node("hs/relu6", "Relu6", ["hs/add"]),
        node("hs/mul", "Mul", ["sixth", "c1"]),
        node("hs", "Mul", ["hs/mul", "hs/relu6"]),
        node("d1", "FusedDepthwiseConv2dNative", ["hs", "dw", "db"],
             **conv_attrs(1, fused=("BiasAdd", "Relu"))),
        node("d2", "DepthwiseConv2dNative", ["d1", "dw2"],
             **{k: v for k, v in conv_attrs(2).items() if k not in ("fused_ops", "num_args")}),
        # squeeze and excite
        node("se/mean", "Mean", ["d2", "axes"], keep_dims={"b": True}),
        node("se/conv", "Conv2D", ["se/mean", "se"],
             **{k: v for k, v in conv_attrs(1).items() if k not in ("fused_ops", "num_args")}),
        node("se/sig", "Sigmoid", ["se/conv"]),
        node("se/out", "Mul", ["d2", "se/sig"]),
        node("scaled", "Mul", ["se/out", "gain"]),
        node("up", "ResizeBilinear", ["scaled", "size"], align_corners={"b": False},
             half_pixel_centers={"b": False}),
        node("cat", "ConcatV2", ["up", "d1_small", "axis"]),
        node("d1_small", "ResizeBilinear", ["d1", "size"]),
        node("relu", "Relu", ["cat"]),
        node("head", "_FusedConv2D", ["relu", "wp", "bp"], **conv_attrs(1, "VALID")),
        node("heat", "Sigmoid", ["head"]),
        node("out/heat", "Identity", ["heat"]),
        node("peaks", "MaxPool", ["heat"], ksize=ints(1, 3, 3, 1), strides=ints(1, 1, 1, 1),
             padding=s("SAME"), data_format=s("NHWC")),
        node("unused", "TopKV2", ["peaks"]),  # past the cut: never converted
    ]
    meta = {"format": "graph-model", "modelTopology": {"node": nodes},
            "weightsManifest": [{"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"],
                                 "weights": wt.specs}]}
    data = b"".join(wt.chunks)
    half = len(data) // 2
    (tmp_path / "model.json").write_text(json.dumps(meta))
    (tmp_path / "group1-shard1of2.bin").write_bytes(data[:half])
    (tmp_path / "group1-shard2of2.bin").write_bytes(data[half:])

    def reference(x):
        c1 = conv(x, w1, 2) + b1
        hs = c1 * sixth * relu6(c1 + three)
        d1 = np.maximum(conv(hs, dw, 1, depthwise=True) + db, 0)
        d2 = conv(d1, dw2, 2, depthwise=True)
        squeeze = sigmoid(conv(d2.mean(axis=(1, 2), keepdims=True), se, 1))
        scaled = d2 * squeeze * gain
        cat = np.concatenate([resize_bilinear(scaled, 5, 6), resize_bilinear(d1, 5, 6)], 3)
        heat = sigmoid(conv(np.maximum(cat, 0), wp, 1, "VALID") + bp)
        return {"out/heat": heat, "peaks": max_pool_same(heat)}

    return tmp_path / "model.json", reference


def test_tiny_graph_matches_numpy(tmp_path):
    path, reference = tiny_model(tmp_path)
    model = convert(load_tfjs(path), ["out/heat", "peaks"])
    ops = {n.op_type for n in model.graph.node}
    assert {"Conv", "Clip", "ReduceMean", "Resize", "Concat", "MaxPool"} <= ops
    assert "TopK" not in ops
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    for _ in range(3):
        x = RNG.uniform(0, 255, (1, 9, 11, 3)).astype(np.float32) / 64
        got = dict(zip(["out/heat", "peaks"], session.run(None, {"x": x}), strict=True))
        want = reference(x.astype(np.float64))
        for name in want:
            assert got[name].shape == want[name].shape == (1, 5, 6, 4)
            np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-5)


def test_quantised_weights_are_dequantised():
    values = np.array([[0.5, -1.25], [2.0, 3.5]], np.float32)
    lo, scale = -1.25, 0.02
    q = np.round((values - lo) / scale).astype(np.uint8)
    specs = [{"name": "h", "shape": [2, 2], "dtype": "float32",
              "quantization": {"dtype": "float16"}},
             {"name": "q", "shape": [2, 2], "dtype": "float32",
              "quantization": {"dtype": "uint8", "min": lo, "scale": scale}},
             {"name": "i", "shape": [3], "dtype": "int32"}]
    data = values.astype(np.float16).tobytes() + q.tobytes() + np.arange(3, dtype=np.int32
                                                                         ).tobytes()
    out = decode_weights(specs, data)
    np.testing.assert_array_equal(out["h"], values)
    np.testing.assert_allclose(out["q"], values, atol=scale / 2)
    assert out["i"].tolist() == [0, 1, 2] and out["i"].dtype == np.int32
    with pytest.raises(ValueError, match="manifest"):
        decode_weights(specs, data + b"\0")


def test_an_unsupported_op_is_named(tmp_path):
    path, _ = tiny_model(tmp_path)
    with pytest.raises(UnsupportedOp, match="TopKV2.*unused"):
        convert(load_tfjs(path), ["unused"])
