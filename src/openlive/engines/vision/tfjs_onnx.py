"""A small converter of TensorFlow.js graph models (``model.json`` + weight shards) to ONNX.

It reads the TFJS format directly — no TensorFlow — and maps the convolutional ops that
mobile detectors use to ONNX nodes with :mod:`onnx.helper`. The graph is cut at the outputs
asked for (a model's own post-processing, e.g. top-k decoding, is left out and done in NumPy
by the caller). Activations are kept NCHW inside the ONNX graph (one ``Transpose`` after the
NHWC input, one before each output), so onnxruntime runs its native convolution layout; the
graph's inputs and outputs keep TensorFlow's NHWC shapes.

Supported ops: ``Placeholder``, ``Const``, ``Identity``, ``Conv2D``, ``_FusedConv2D``,
``DepthwiseConv2dNative``, ``FusedDepthwiseConv2dNative`` (fused ``BiasAdd``,
``FusedBatchNorm``, ``Relu``, ``Relu6``, ``LeakyRelu``, ``Sigmoid``), ``Add``, ``AddV2``,
``Sub``, ``Mul``, ``RealDiv``, ``Maximum``, ``Minimum``, ``Relu``, ``Relu6``, ``Sigmoid``,
``Tanh``, ``Mean`` (``keep_dims``), ``ConcatV2``, ``ResizeBilinear``,
``ResizeNearestNeighbor``, ``MaxPool``, ``AvgPool``, each on 4-D NHWC activations. Anything
else raises :class:`UnsupportedOp` naming the op and node.

Weights: ``float32`` / ``int32`` stored plainly, or quantised as ``float16`` or as
``uint8``/``uint16`` with ``min`` and ``scale`` (dequantised to float32 here).

Used by :mod:`.objects_install` for CenterNet (``@vladmandic/human``); needs ``numpy`` and
``onnx`` (the ``vision`` extra).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CONVERTER_VERSION", "TfjsModel", "UnsupportedOp", "convert", "load_tfjs"]

CONVERTER_VERSION = 1  # bump when the produced graph changes (installs then reconvert)
OPSET = 17

_NP_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANT_DTYPES = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


class UnsupportedOp(ValueError):
    """The graph holds an op (or an attribute value) this converter does not map."""


class TfjsModel:
    """A parsed TFJS graph model: its nodes (by name, in file order) and its weights."""

    def __init__(self, meta: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        self.meta = meta
        topology = meta["modelTopology"]
        self.nodes: dict[str, dict[str, Any]] = {n["name"]: n for n in topology["node"]}
        self.weights = weights

    @property
    def signature(self) -> dict[str, Any]:
        return self.meta.get("signature", {})


def load_tfjs(model_json: str | Path, shards: dict[str, bytes] | None = None) -> TfjsModel:
    """Read ``model.json`` and its weight shards (by default the files its manifest names,
    beside it; or ``shards``: file name -> bytes)."""
    model_json = Path(model_json)
    meta = json.loads(model_json.read_text(encoding="utf-8"))
    if meta.get("format") not in (None, "graph-model"):
        raise UnsupportedOp(f"{model_json}: format {meta.get('format')!r} is not a graph model")
    weights: dict[str, np.ndarray] = {}
    for group in meta.get("weightsManifest", []):
        data = b"".join(shards[p] if shards is not None else
                        (model_json.parent / p).read_bytes() for p in group["paths"])
        weights.update(decode_weights(group["weights"], data))
    return TfjsModel(meta, weights)


def decode_weights(specs: Iterable[dict[str, Any]], data: bytes) -> dict[str, np.ndarray]:
    """The arrays of one weights group: ``specs`` (its manifest entries), ``data`` (the
    concatenated shards)."""
    out: dict[str, np.ndarray] = {}
    offset = 0
    for spec in specs:
        shape = [int(d) for d in spec["shape"]]
        count = int(np.prod(shape)) if shape else 1
        quant = spec.get("quantization")
        dtype = spec["dtype"]
        if dtype not in _NP_DTYPES:
            raise UnsupportedOp(f"weight {spec['name']!r} has dtype {dtype!r}")
        stored = np.dtype(_QUANT_DTYPES[quant["dtype"]] if quant else _NP_DTYPES[dtype])
        size = count * stored.itemsize
        if offset + size > len(data):
            raise ValueError(f"weight {spec['name']!r} runs past the end of its shards")
        raw = np.frombuffer(data, dtype=stored.newbyteorder("<"), count=count, offset=offset)
        offset += size
        if quant and quant["dtype"] in ("uint8", "uint16"):
            if "scale" not in quant:
                raise UnsupportedOp(f"weight {spec['name']!r}: quantisation without scale")
            value = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(
                quant["min"])
        else:
            value = raw
        out[spec["name"]] = np.asarray(value, dtype=_NP_DTYPES[dtype]).reshape(shape)
    if offset != len(data):
        raise ValueError(f"weight shards hold {len(data)} bytes, the manifest {offset}")
    return out


def _attr(node: dict[str, Any], key: str, default: Any = None) -> Any:
    value = node.get("attr", {}).get(key)
    if value is None:
        return default
    if "s" in value:
        s = value["s"]
        return base64.b64decode(s).decode() if isinstance(s, str) else s
    if "list" in value:
        lst = value["list"]
        if "s" in lst:
            return [base64.b64decode(s).decode() for s in lst["s"]]
        if "i" in lst:
            return [int(i) for i in lst["i"]]
        if "f" in lst:
            return [float(f) for f in lst["f"]]
        return []
    for kind, cast in (("i", int), ("f", float), ("b", bool)):
        if kind in value:
            return cast(value[kind])
    return value


def _split_input(name: str) -> tuple[str, int]:
    node, _, index = name.partition(":")
    return node, int(index or 0)


class _Builder:
    def __init__(self, model: TfjsModel, input_shapes: dict[str, Sequence[int]]) -> None:
        from onnx import helper

        self.h = helper
        self.model = model
        self.input_shapes = input_shapes
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.inputs: list[Any] = []
        self.values: dict[str, str | np.ndarray] = {}  # TF tensor -> ONNX name or constant
        self._n = 0

    # --- helpers ------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        self._n += 1
        return f"{base}__{self._n}"

    def const(self, value: np.ndarray, base: str) -> str:
        from onnx import numpy_helper

        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], base: str, **attrs: Any) -> str:
        out = self.fresh(base)
        self.nodes.append(self.h.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def tensor(self, name: str) -> str | np.ndarray:
        node_name, index = _split_input(name.lstrip("^"))
        key = f"{node_name}:{index}"
        if key not in self.values:
            self.visit(node_name)
        return self.values[key]

    def activation(self, name: str, at: str) -> str:
        value = self.tensor(name)
        if isinstance(value, np.ndarray):
            raise UnsupportedOp(f"{at}: a constant where an activation was expected ({name})")
        return value

    def constant(self, name: str, at: str) -> np.ndarray:
        value = self.tensor(name)
        if not isinstance(value, np.ndarray):
            raise UnsupportedOp(f"{at}: {name} is computed, a constant was expected")
        return value

    def broadcast_const(self, value: np.ndarray, base: str) -> str:
        """A constant operand of an NCHW activation, from its NHWC-broadcast shape."""
        value = np.asarray(value, dtype=np.float32)
        if value.size == 1:
            return self.const(value.reshape(()), base)
        if value.ndim == 1:
            return self.const(value.reshape(-1, 1, 1), base)
        if value.ndim == 4:
            return self.const(value.transpose(0, 3, 1, 2), base)
        raise UnsupportedOp(f"{base}: constant of shape {value.shape} broadcast to NHWC")

    # --- the graph ----------------------------------------------------------------------
    def visit(self, name: str) -> None:
        if f"{name}:0" in self.values:
            return
        node = self.model.nodes.get(name)
        if node is None:
            raise KeyError(f"the graph has no node {name!r}")
        op = node["op"]
        handler: Callable[[dict[str, Any]], str | np.ndarray] | None = getattr(
            self, f"op_{op.lstrip('_')}", None)
        if handler is None:
            raise UnsupportedOp(f"op {op!r} (node {name!r}) is not supported")
        self.values[f"{name}:0"] = handler(node)

    def op_Placeholder(self, node: dict[str, Any]) -> str:
        name = node["name"]
        shape = self.input_shapes.get(name)
        if shape is None:
            dims = _attr(node, "shape", {}).get("shape", {}).get("dim", [])
            shape = [int(d.get("size", -1)) for d in dims]
        if len(shape) != 4:
            raise UnsupportedOp(f"input {name!r} has shape {shape}, not NHWC")
        self.inputs.append(self.h.make_tensor_value_info(
            name, 1, [d if d > 0 else None for d in shape]))  # 1 = FLOAT
        return self.node("Transpose", [name], "to_nchw", perm=[0, 3, 1, 2])

    def op_Const(self, node: dict[str, Any]) -> np.ndarray:
        if node["name"] not in self.model.weights:
            raise UnsupportedOp(f"constant {node['name']!r} has no value in the weights")
        return self.model.weights[node["name"]]

    def op_Identity(self, node: dict[str, Any]) -> str | np.ndarray:
        return self.tensor(node["input"][0])

    # convolutions ------------------------------------------------------------------------
    def _conv(self, node: dict[str, Any], depthwise: bool) -> str:
        at = node["name"]
        if _attr(node, "data_format", "NHWC") != "NHWC":
            raise UnsupportedOp(f"{at}: data_format {_attr(node, 'data_format')}")
        inputs = [i for i in node["input"] if not i.startswith("^")]
        x = self.activation(inputs[0], at)
        w = self.constant(inputs[1], at).astype(np.float32)
        kh, kw, cin, mult = w.shape
        if depthwise:  # [kh, kw, C, M] -> [C*M, 1, kh, kw]
            onnx_w = w.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None]
            group = cin
        else:  # HWIO -> OIHW
            onnx_w = w.transpose(3, 2, 0, 1)
            group = 1
        strides = _attr(node, "strides", [1, 1, 1, 1])
        dilations = _attr(node, "dilations", [1, 1, 1, 1])
        padding = _attr(node, "padding", "VALID")
        attrs: dict[str, Any] = {"kernel_shape": [kh, kw], "strides": strides[1:3],
                                 "dilations": dilations[1:3], "group": group}
        if padding == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"  # TensorFlow puts the odd pixel after
        elif padding == "EXPLICIT":
            p = _attr(node, "explicit_paddings", [])
            attrs["pads"] = [p[2], p[4], p[3], p[5]]
        elif padding != "VALID":
            raise UnsupportedOp(f"{at}: padding {padding!r}")
        fused = _attr(node, "fused_ops", []) or []
        extra = [self.constant(i, at).astype(np.float32) for i in inputs[2:]]
        bias = None
        activation = None
        for i, f in enumerate(fused):
            if f == "BiasAdd" and i == 0:
                bias = extra[0]
            elif f == "FusedBatchNorm" and i == 0:
                scale, offset, mean, var = extra[:4]
                eps = float(_attr(node, "epsilon", 0.0) or 0.0)
                k = scale / np.sqrt(var + eps)
                onnx_w = onnx_w * k.reshape(-1, 1, 1, 1)
                bias = offset - mean * k
            elif f in ("Relu", "Relu6", "LeakyRelu", "Sigmoid", "Elu") and i == len(fused) - 1:
                activation = f
            else:
                raise UnsupportedOp(f"{at}: fused op {f!r} in {fused}")
        conv_in = [x, self.const(onnx_w.astype(np.float32), f"{at}/W")]
        if bias is not None:
            conv_in.append(self.const(bias.reshape(-1).astype(np.float32), f"{at}/B"))
        y = self.node("Conv", conv_in, at, **attrs)
        if activation == "Relu":
            return self.node("Relu", [y], at + "/relu")
        if activation == "Relu6":
            return self._relu6(y, at)
        if activation == "LeakyRelu":
            return self.node("LeakyRelu", [y], at + "/leaky",
                             alpha=float(_attr(node, "leakyrelu_alpha", 0.2)))
        if activation == "Sigmoid":
            return self.node("Sigmoid", [y], at + "/sigmoid")
        if activation == "Elu":
            return self.node("Elu", [y], at + "/elu")
        return y

    def op_FusedConv2D(self, node: dict[str, Any]) -> str:
        return self._conv(node, depthwise=False)

    op_Conv2D = op_FusedConv2D

    def op_DepthwiseConv2dNative(self, node: dict[str, Any]) -> str:
        return self._conv(node, depthwise=True)

    op_FusedDepthwiseConv2dNative = op_DepthwiseConv2dNative

    # element-wise ------------------------------------------------------------------------
    def _binary(self, node: dict[str, Any], onnx_op: str, fold: Callable[..., Any]) -> Any:
        at = node["name"]
        a, b = (self.tensor(i) for i in node["input"][:2])
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            return np.asarray(fold(a, b))
        ins = [v if isinstance(v, str) else self.broadcast_const(v, f"{at}/c") for v in (a, b)]
        return self.node(onnx_op, ins, at)

    def op_Add(self, node: dict[str, Any]) -> Any:
        return self._binary(node, "Add", np.add)

    op_AddV2 = op_Add

    def op_Sub(self, node: dict[str, Any]) -> Any:
        return self._binary(node, "Sub", np.subtract)

    def op_Mul(self, node: dict[str, Any]) -> Any:
        return self._binary(node, "Mul", np.multiply)

    def op_RealDiv(self, node: dict[str, Any]) -> Any:
        return self._binary(node, "Div", np.divide)

    def op_Maximum(self, node: dict[str, Any]) -> Any:
        return self._binary(node, "Max", np.maximum)

    def op_Minimum(self, node: dict[str, Any]) -> Any:
        return self._binary(node, "Min", np.minimum)

    def _relu6(self, x: str, at: str) -> str:
        lo = self.const(np.array(0.0, np.float32), at + "/min")
        hi = self.const(np.array(6.0, np.float32), at + "/max")
        return self.node("Clip", [x, lo, hi], at + "/relu6")

    def _unary(self, node: dict[str, Any], onnx_op: str) -> str:
        return self.node(onnx_op, [self.activation(node["input"][0], node["name"])],
                         node["name"])

    def op_Relu(self, node: dict[str, Any]) -> str:
        return self._unary(node, "Relu")

    def op_Relu6(self, node: dict[str, Any]) -> str:
        return self._relu6(self.activation(node["input"][0], node["name"]), node["name"])

    def op_Sigmoid(self, node: dict[str, Any]) -> str:
        return self._unary(node, "Sigmoid")

    def op_Tanh(self, node: dict[str, Any]) -> str:
        return self._unary(node, "Tanh")

    # shape-aware ops ---------------------------------------------------------------------
    def _axis(self, axis: int, at: str) -> int:
        axis = int(axis) % 4
        return _NHWC_TO_NCHW_AXIS[axis]

    def op_Mean(self, node: dict[str, Any]) -> str:
        at = node["name"]
        if not _attr(node, "keep_dims", False):
            raise UnsupportedOp(f"{at}: Mean without keep_dims changes the layout")
        x = self.activation(node["input"][0], at)
        axes = np.atleast_1d(self.constant(node["input"][1], at))
        return self.node("ReduceMean", [x], at, keepdims=1,
                         axes=sorted(self._axis(a, at) for a in axes))

    def op_ConcatV2(self, node: dict[str, Any]) -> str:
        at = node["name"]
        inputs = [i for i in node["input"] if not i.startswith("^")]
        axis = int(self.constant(inputs[-1], at))
        xs = [self.activation(i, at) for i in inputs[:-1]]
        return self.node("Concat", xs, at, axis=self._axis(axis, at))

    def _resize(self, node: dict[str, Any], mode: str) -> str:
        at = node["name"]
        x = self.activation(node["input"][0], at)
        size = self.constant(node["input"][1], at).astype(np.int64).reshape(2)
        if _attr(node, "align_corners", False):
            transform = "align_corners"
        elif _attr(node, "half_pixel_centers", False):
            transform = "half_pixel" if mode == "linear" else "tf_half_pixel_for_nn"
        else:
            transform = "asymmetric"
        shape = self.node("Shape", [x], at + "/shape")
        nc = self.node("Slice", [shape, self.const(np.array([0], np.int64), at + "/s0"),
                                 self.const(np.array([2], np.int64), at + "/s1")], at + "/nc")
        sizes = self.node("Concat", [nc, self.const(size, at + "/hw")], at + "/sizes", axis=0)
        attrs: dict[str, Any] = {"mode": mode, "coordinate_transformation_mode": transform}
        if mode == "nearest":
            attrs["nearest_mode"] = "round_prefer_ceil" if transform == "align_corners" \
                else "floor"
        return self.node("Resize", [x, "", "", sizes], at, **attrs)

    def op_ResizeBilinear(self, node: dict[str, Any]) -> str:
        return self._resize(node, "linear")

    def op_ResizeNearestNeighbor(self, node: dict[str, Any]) -> str:
        return self._resize(node, "nearest")

    def _pool(self, node: dict[str, Any], onnx_op: str) -> str:
        at = node["name"]
        x = self.activation(node["input"][0], at)
        ksize = _attr(node, "ksize", [1, 1, 1, 1])
        strides = _attr(node, "strides", [1, 1, 1, 1])
        padding = _attr(node, "padding", "VALID")
        attrs: dict[str, Any] = {"kernel_shape": ksize[1:3], "strides": strides[1:3]}
        if padding == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"
        elif padding != "VALID":
            raise UnsupportedOp(f"{at}: padding {padding!r}")
        if onnx_op == "AveragePool":
            attrs["count_include_pad"] = 0  # TensorFlow averages the real pixels only
        return self.node(onnx_op, [x], at, **attrs)

    def op_MaxPool(self, node: dict[str, Any]) -> str:
        return self._pool(node, "MaxPool")

    def op_AvgPool(self, node: dict[str, Any]) -> str:
        return self._pool(node, "AveragePool")


def _dependencies(model: TfjsModel, outputs: Sequence[str]) -> list[str]:
    """The nodes ``outputs`` depend on, each after its inputs (iterative depth-first)."""
    order: list[str] = []
    done: set[str] = set()
    open_: set[str] = set()  # expanded, inputs not all done: on the current path
    stack: list[tuple[str, bool]] = [(_split_input(o)[0], False) for o in reversed(outputs)]
    while stack:
        name, expanded = stack.pop()
        if expanded:
            open_.discard(name)
            done.add(name)
            order.append(name)
            continue
        if name in done:
            continue
        if name in open_:
            raise UnsupportedOp(f"the graph has a cycle through {name!r}")
        open_.add(name)
        node = model.nodes.get(name)
        if node is None:
            raise KeyError(f"the graph has no node {name!r}")
        stack.append((name, True))
        for inp in reversed(node.get("input", [])):
            dep = _split_input(inp.lstrip("^"))[0]
            if dep not in done:
                stack.append((dep, False))
    return order


def convert(model: TfjsModel, outputs: Sequence[str], *,
            input_shapes: dict[str, Sequence[int]] | None = None,
            name: str = "tfjs") -> Any:
    """An ``onnx.ModelProto`` computing ``outputs`` (TF node names, NHWC float32) of
    ``model``; only the nodes those outputs depend on are converted."""
    from onnx import checker, helper

    b = _Builder(model, input_shapes or {})
    for node_name in _dependencies(model, outputs):  # inputs first: no deep recursion
        b.visit(node_name)
    graph_outputs = []
    for out in outputs:
        value = b.tensor(out)
        if isinstance(value, np.ndarray):
            raise UnsupportedOp(f"output {out!r} is a constant")
        b.nodes.append(helper.make_node("Transpose", [value], [out], name=f"{out}/to_nhwc",
                                        perm=[0, 2, 3, 1]))
        graph_outputs.append(helper.make_tensor_value_info(out, 1, [None] * 4))
    graph = helper.make_graph(b.nodes, name, b.inputs, graph_outputs, initializer=b.inits)
    onnx_model = helper.make_model(
        graph, producer_name="openlive.tfjs_onnx", producer_version=str(CONVERTER_VERSION),
        opset_imports=[helper.make_opsetid("", OPSET)])
    onnx_model.ir_version = 8  # readable by onnxruntime >= 1.14
    checker.check_model(onnx_model)
    return onnx_model
