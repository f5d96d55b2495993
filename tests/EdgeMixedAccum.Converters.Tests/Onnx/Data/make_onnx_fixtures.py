#!/usr/bin/python3
"""Writes small ONNX models serialized by the real `onnx` library (Debian python3-onnx), with inputs and
expected outputs computed here by numpy in fp64, so the C# importer is checked against files it did not
build itself (field numbers, raw_data vs float_data, Constant nodes, PyTorch-style patterns).

Run from anywhere:  /usr/bin/python3 tests/EdgeMixedAccum.Converters.Tests/Onnx/Data/make_onnx_fixtures.py
Deterministic: the same bytes every run (fixed seeds, no timestamps). Needs onnx and numpy only (no torch).

Models:
  mlp_flatten_opset{11,13,17}.onnx  x.view(x.size(0), -1) as PyTorch exports it (Shape, Gather, Unsqueeze,
                                    Concat, Reshape), Gemm+Relu, Gemm, Softmax; symbolic batch 'batch_size'.
  cnn_bn_gelu_opset13.onnx          Conv, BatchNormalization, erf GELU spelled out, MaxPool,
                                    GlobalAveragePool, Flatten, Gemm; symbolic batch 'N'.
  fixed_batch_silu_opset17.onnx     fixed batch 1 export: MatMul+Add, x*sigmoid(x), Clip(0, 6) with inputs.
"""
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def const(name, arr):
    arr = np.asarray(arr)
    return helper.make_node("Constant", [], [name], name=name.replace("_output_0", ""),
                            value=numpy_helper.from_array(arr, name))


def save(model, stem, x, y):
    onnx.checker.check_model(model)
    with open(os.path.join(HERE, stem + ".onnx"), "wb") as f:
        f.write(model.SerializeToString())
    np.save(os.path.join(HERE, stem + "_x.npy"), x.astype(np.float32))
    np.save(os.path.join(HERE, stem + "_y.npy"), y.astype(np.float32))


def softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def conv2d(x, w, b, pad):
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    y = np.zeros((n, m, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i:i + kh, j:j + kw]
            y[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return y + b[None, :, None, None]


def mlp_flatten(opset):
    rng = np.random.default_rng(100 + opset)
    w1 = rng.standard_normal((8, 16)).astype(np.float32) * 0.5
    b1 = rng.standard_normal(8).astype(np.float32) * 0.1
    w2 = rng.standard_normal((3, 8)).astype(np.float32) * 0.5
    b2 = rng.standard_normal(3).astype(np.float32) * 0.1
    nodes = [
        helper.make_node("Shape", ["input"], ["/Shape_output_0"], name="/Shape"),
        const("/Constant_output_0", np.array(0, dtype=np.int64)),
        helper.make_node("Gather", ["/Shape_output_0", "/Constant_output_0"], ["/Gather_output_0"], name="/Gather", axis=0),
    ]
    if opset < 13:
        nodes.append(helper.make_node("Unsqueeze", ["/Gather_output_0"], ["/Unsqueeze_output_0"], name="/Unsqueeze", axes=[0]))
    else:
        nodes.append(const("/Constant_1_output_0", np.array([0], dtype=np.int64)))
        nodes.append(helper.make_node("Unsqueeze", ["/Gather_output_0", "/Constant_1_output_0"], ["/Unsqueeze_output_0"], name="/Unsqueeze"))
    nodes += [
        const("/Constant_2_output_0", np.array([-1], dtype=np.int64)),
        helper.make_node("Concat", ["/Unsqueeze_output_0", "/Constant_2_output_0"], ["/Concat_output_0"], name="/Concat", axis=0),
        helper.make_node("Reshape", ["input", "/Concat_output_0"], ["/Reshape_output_0"], name="/Reshape"),
        helper.make_node("Gemm", ["/Reshape_output_0", "fc1.weight", "fc1.bias"], ["/fc1/Gemm_output_0"], name="/fc1/Gemm",
                         alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Relu", ["/fc1/Gemm_output_0"], ["/relu/Relu_output_0"], name="/relu/Relu"),
        helper.make_node("Gemm", ["/relu/Relu_output_0", "fc2.weight", "fc2.bias"], ["/fc2/Gemm_output_0"], name="/fc2/Gemm",
                         alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Softmax", ["/fc2/Gemm_output_0"], ["output"], name="/softmax/Softmax", axis=1 if opset < 13 else -1),
    ]
    inits = [numpy_helper.from_array(w1, "fc1.weight"), numpy_helper.from_array(b1, "fc1.bias"),
             numpy_helper.from_array(w2, "fc2.weight"),
             helper.make_tensor("fc2.bias", TensorProto.FLOAT, [3], b2.tolist())]  # float_data, not raw_data
    graph = helper.make_graph(nodes, "main_graph",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 1, 4, 4])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 3])], inits)
    model = helper.make_model(graph, producer_name="pytorch", producer_version="2.1.0",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 6 if opset < 13 else 7 if opset < 15 else 8
    x = rng.standard_normal((3, 1, 4, 4)).astype(np.float32)
    h = np.maximum(0, x.reshape(3, -1).astype(np.float64) @ w1.T.astype(np.float64) + b1)
    y = softmax(h @ w2.T.astype(np.float64) + b2, axis=1)
    save(model, f"mlp_flatten_opset{opset}", x, y)


def cnn_bn_gelu():
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((4, 2, 3, 3)) * 0.4).astype(np.float32)
    b = (rng.standard_normal(4) * 0.1).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, 4).astype(np.float32)
    beta = (rng.standard_normal(4) * 0.1).astype(np.float32)
    mean = (rng.standard_normal(4) * 0.1).astype(np.float32)
    var = rng.uniform(0.5, 2.0, 4).astype(np.float32)
    fw = (rng.standard_normal((3, 4)) * 0.5).astype(np.float32)
    fb = (rng.standard_normal(3) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
        helper.make_node("BatchNormalization", ["c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"], ["bn"],
                         name="/bn/BatchNormalization", epsilon=1e-5, momentum=0.9),
        const("/act/Constant_output_0", np.array(1.4142135381698608, dtype=np.float32)),
        helper.make_node("Div", ["bn", "/act/Constant_output_0"], ["d"], name="/act/Div"),
        helper.make_node("Erf", ["d"], ["e"], name="/act/Erf"),
        const("/act/Constant_1_output_0", np.array(1.0, dtype=np.float32)),
        helper.make_node("Add", ["e", "/act/Constant_1_output_0"], ["t"], name="/act/Add"),
        helper.make_node("Mul", ["bn", "t"], ["m"], name="/act/Mul"),
        const("/act/Constant_2_output_0", np.array(0.5, dtype=np.float32)),
        helper.make_node("Mul", ["m", "/act/Constant_2_output_0"], ["g"], name="/act/Mul_1"),
        helper.make_node("MaxPool", ["g"], ["p"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p"], ["gap"], name="/gap/GlobalAveragePool"),
        helper.make_node("Flatten", ["gap"], ["f"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm", transB=1),
    ]
    inits = [numpy_helper.from_array(a, n) for a, n in [
        (w, "conv.weight"), (b, "conv.bias"), (scale, "bn.weight"), (beta, "bn.bias"), (mean, "bn.running_mean"),
        (var, "bn.running_var"), (fw, "fc.weight"), (fb, "fc.bias")]]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6, 6])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])], inits)
    model = helper.make_model(graph, producer_name="pytorch", producer_version="2.1.0",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    c = conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), 1)
    bn = (c - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None].astype(np.float64) + 1e-5) \
        * scale[None, :, None, None] + beta[None, :, None, None]
    erf = np.vectorize(math.erf)
    gl = 0.5 * bn * (1 + erf(bn / math.sqrt(2)))
    p = gl.reshape(2, 4, 3, 2, 3, 2).max(axis=(3, 5))
    gap = p.mean(axis=(2, 3))
    y = gap @ fw.T.astype(np.float64) + fb
    save(model, "cnn_bn_gelu_opset13", x, y)


def fixed_batch_silu():
    rng = np.random.default_rng(3)
    w = (rng.standard_normal((6, 4)) * 0.5).astype(np.float32)
    b = (rng.standard_normal(4) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h0"], name="/lin/MatMul"),
        helper.make_node("Add", ["b", "h0"], ["h"], name="/lin/Add"),
        helper.make_node("Sigmoid", ["h"], ["s"], name="/act/Sigmoid"),
        helper.make_node("Mul", ["h", "s"], ["a"], name="/act/Mul"),
        const("lo", np.array(0.0, dtype=np.float32)),
        const("hi", np.array(6.0, dtype=np.float32)),
        helper.make_node("Clip", ["a", "lo", "hi"], ["y"], name="/clip/Clip"),
    ]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    graph = helper.make_graph(nodes, "fixed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    model = helper.make_model(graph, producer_name="tf2onnx", producer_version="1.16.1",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    x = (rng.standard_normal((1, 6)) * 3).astype(np.float32)
    h = x.astype(np.float64) @ w.astype(np.float64) + b
    y = np.clip(h / (1 + np.exp(-h)), 0, 6)
    save(model, "fixed_batch_silu_opset17", x, y)


if __name__ == "__main__":
    for o in (11, 13, 17):
        mlp_flatten(o)
    cnn_bn_gelu()
    fixed_batch_silu()
    print("wrote fixtures to", HERE)
