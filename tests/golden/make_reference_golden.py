#!/usr/bin/python3
"""Golden vectors for the reference executor, computed with numpy in float64.

Run from the repository root:  /usr/bin/python3 tests/golden/make_reference_golden.py
(Debian: apt-get install python3-numpy). Writes tests/golden/reference/<case>/*.npy and case.json.
The ops are written here independently of the C# code: convolution as an einsum over padded,
strided windows; pools over explicit window slices; ONNX semantics throughout.
"""
import json, os
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference")
rng = np.random.default_rng(20261123)

def save(name, attrs, arrays):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for k, v in arrays.items():
        np.save(os.path.join(d, k + ".npy"), v)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(attrs, f, indent=1, sort_keys=True)

def relu(t): return np.maximum(t, 0)

def conv(x, w, b, strides, pads, dils, group):
    sp = x.ndim - 2
    if sp == 1:  # as 2D with unit height
        y = conv(x[:, :, None, :], w[:, :, None, :], b, [1, strides[0]], [0, pads[0], 0, pads[1]], [1, dils[0]], group)
        return y[:, :, 0, :]
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (h + pads[0] + pads[2] - dils[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - dils[1] * (kw - 1) - 1) // strides[1] + 1
    y = np.zeros((n, m, oh, ow))
    mg = m // group
    for g in range(group):
        xs = xp[:, g * cg:(g + 1) * cg]
        ws = w[g * mg:(g + 1) * mg]
        for i in range(kh):
            for j in range(kw):
                win = xs[:, :, i * dils[0]: i * dils[0] + strides[0] * (oh - 1) + 1: strides[0],
                            j * dils[1]: j * dils[1] + strides[1] * (ow - 1) + 1: strides[1]]
                y[:, g * mg:(g + 1) * mg] += np.einsum("nchw,mc->nmhw", win, ws[:, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y

def out_dim(n, k, s, pb, pe, d, ceil):
    span = d * (k - 1) + 1
    if ceil:
        o = -(-(n + pb + pe - span) // s) + 1
        if (o - 1) * s >= n + pb:
            o -= 1
    else:
        o = (n + pb + pe - span) // s + 1
    return o

def pool(x, kind, k, s, pads, dils, ceil, include_pad):
    sp = x.ndim - 2
    if sp == 1:
        y = pool(x[:, :, None, :], kind, [1, k[0]], [1, s[0]], [0, pads[0], 0, pads[1]], [1, dils[0]], ceil, include_pad)
        return y[:, :, 0, :]
    n, c, h, w = x.shape
    oh = out_dim(h, k[0], s[0], pads[0], pads[2], dils[0], ceil)
    ow = out_dim(w, k[1], s[1], pads[1], pads[3], dils[1], ceil)
    y = np.zeros((n, c, oh, ow))
    for a in range(oh):
        for bb in range(ow):
            hs, ws = a * s[0] - pads[0], bb * s[1] - pads[1]
            rows = [hs + i * dils[0] for i in range(k[0]) if 0 <= hs + i * dils[0] < h]
            cols = [ws + j * dils[1] for j in range(k[1]) if 0 <= ws + j * dils[1] < w]
            win = x[:, :, rows][:, :, :, cols]
            if kind == "max":
                y[:, :, a, bb] = win.max(axis=(2, 3))
            else:
                if include_pad:
                    he = min(hs + (k[0] - 1) * dils[0] + 1, h + pads[2])
                    we = min(ws + (k[1] - 1) * dils[1] + 1, w + pads[3])
                    cnt = (he - hs) * (we - ws)
                else:
                    cnt = len(rows) * len(cols)
                y[:, :, a, bb] = win.sum(axis=(2, 3)) / cnt
    return y

def randn(*shape): return rng.standard_normal(shape)

# Dense (Gemm with transB = 1) + ReLU, and a rank-3 input.
x, w, b = randn(3, 7), randn(5, 7), randn(5)
save("dense_relu", {"op": "Dense", "activation": "Relu"}, {"x": x, "w": w, "b": b, "y": relu(x @ w.T + b)})
x, w = randn(2, 3, 6), randn(4, 6)
save("dense_rank3_nobias", {"op": "Dense", "activation": "Identity"}, {"x": x, "w": w, "y": x @ w.T})

convs = [
    ("conv2d_strided_padded_dilated", randn(2, 3, 7, 6), randn(4, 3, 3, 2), [2, 1], [1, 0, 2, 1], [1, 2], 1),
    ("conv2d_depthwise", randn(1, 3, 5, 5), randn(6, 1, 3, 3), [1, 1], [1, 1, 1, 1], [1, 1], 3),
    ("conv2d_nonsquare_1x3", randn(1, 2, 4, 9), randn(3, 2, 1, 3), [1, 2], [0, 1, 0, 1], [1, 1], 1),
    ("conv1d_grouped", randn(2, 4, 11), randn(6, 2, 3), [2], [2, 1], [2], 2),
]
for name, x, w, s, p, d, g in convs:
    b = randn(w.shape[0])
    save(name, {"op": "Conv", "strides": s, "pads": p, "dilations": d, "group": g, "activation": "Identity"},
         {"x": x, "w": w, "b": b, "y": conv(x, w, b, s, p, d, g)})

pools = [
    ("maxpool2d_ceil", "max", randn(1, 2, 7, 7), [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], True, False),
    ("maxpool2d_dilated", "max", randn(2, 1, 8, 6), [2, 2], [1, 2], [0, 0, 1, 0], [2, 1], False, False),
    ("avgpool2d_excl_pad_ceil", "avg", randn(1, 2, 6, 7), [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], True, False),
    ("avgpool2d_incl_pad_ceil", "avg", randn(1, 2, 6, 7), [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], True, True),
    ("avgpool1d_incl_pad", "avg", randn(2, 3, 10), [4], [3], [2, 1], [1], False, True),
]
for name, kind, x, k, s, p, d, ceil, inc in pools:
    save(name, {"op": "MaxPool" if kind == "max" else "AveragePool", "kernel": k, "strides": s, "pads": p,
                "dilations": d, "ceil_mode": int(ceil), "count_include_pad": int(inc)},
         {"x": x, "y": pool(x, kind, k, s, p, d, ceil, inc)})

x = randn(2, 3, 4, 5)
save("global_average_pool", {"op": "GlobalAveragePool"}, {"x": x, "y": x.mean(axis=(2, 3), keepdims=True)})
x = randn(2, 3, 4) * 30
e = np.exp(x - x.max(axis=1, keepdims=True))
save("softmax_axis1", {"op": "Softmax", "axis": 1}, {"x": x, "y": e / e.sum(axis=1, keepdims=True)})
a, bb = randn(2, 3, 4), randn(3, 1)
save("add_broadcast", {"op": "Add"}, {"x": a, "x2": bb, "y": a + bb})
a, bb = randn(2, 3, 4), randn(2, 5, 4)
save("concat_axis1", {"op": "Concat", "axis": 1}, {"x": a, "x2": bb, "y": np.concatenate([a, bb], axis=1)})
print("wrote", OUT)
