#!/usr/bin/env python3
"""Which selector can meet issue 4's ReLU-MLP target (<= 30% of multiply-adds recomputed, <= 1/5 of
uniform int8's mean relative logit error)? A numpy model of the int8 engine on the ReLU fixture:
int8 weights per row, dynamic per-tensor int8 activations, fp32 head, exact ("true") recompute.
The error is measured against the same quantised weights evaluated exactly, norm-wise per sample.

    /usr/bin/python3 docs/experiments/relu_mlp_selectors.py      (python3-numpy, python3-onnx; ~1 min)

Selectors at a recompute budget (the sign guard "bound > |s|" on negative components in all but the oracle):
  relative   the engine's test: bound / |s_hat| > tau on positive components (PAPER.md, Algorithm 1)
  normwise   bound > tau * max|s_hat| of the layer (not the paper's test)
  oracle     the components with the largest actual error after ReLU (an upper bound for any selector)
with bound = min(||w_i||_1, 2 ||w_i||_2) * e_max, e_max = step / 2, as the engine's probabilistic int8 flag.
"""
import numpy as np
import onnx
from onnx import numpy_helper

ROOT = __file__.rsplit('/docs/', 1)[0]
model = onnx.load(f'{ROOT}/tests/fixtures/fmnist-mlp-relu.onnx')
inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
Ws, bs = [], []
for n in model.graph.node:
    if n.op_type == 'Gemm':
        W = inits[n.input[1]]
        if not any(a.name == 'transB' and a.i == 1 for a in n.attribute):
            W = W.T
        s = np.abs(W).max(1, keepdims=True) / 127
        Ws.append(np.round(W / s) * s)
        bs.append(inits[n.input[2]].astype(np.float64))
X = ((np.load(f'{ROOT}/tests/fixtures/fmnist-x.npy').reshape(1000, -1) - 0.286) / 0.353).astype(np.float64)[:300]


def quantise(x):
    s = np.abs(x).max() / 127
    return (np.clip(np.round(x / s), -127, 127) * s if s > 0 else x * 0), s / 2


def run(x, select):
    f32 = macs = 0
    for l, (W, b) in enumerate(zip(Ws, bs)):
        exact = W @ x + b
        macs += W.size
        if l == len(Ws) - 1:
            return exact, (f32 + W.size) / macs
        xq, e = quantise(x)
        low = W @ xq + b
        bound = np.minimum(np.abs(W).sum(1), 2 * np.sqrt((W ** 2).sum(1))) * e
        mask = select(low, exact, bound)
        f32 += mask.sum() * W.shape[1]
        x = np.maximum(np.where(mask, exact, low), 0)


def reference(x):
    for l, (W, b) in enumerate(zip(Ws, bs)):
        x = W @ x + b if l == len(Ws) - 1 else np.maximum(W @ x + b, 0)
    return x


def evaluate(select):
    errs, fracs = [], []
    for x in X:
        y, f = run(x, select)
        r = reference(x)
        errs.append(np.linalg.norm(y - r) / np.linalg.norm(r))
        fracs.append(f)
    return np.mean(errs), np.mean(fracs)


guard = lambda low, bound: (low <= 0) & (bound > np.abs(low))
u, _ = evaluate(lambda low, exact, bound: np.zeros(low.shape, bool))
print(f'{"selector":<24} {"recomputed MACs":>16} {"mean rel. error":>16} {"vs uniform":>11}')
print(f'{"uniform int8":<24} {0:>16.1%} {u:>16.2e} {1:>11.2f}')
rows = [(f'relative tau={t}', lambda lo, ex, b, t=t: ((lo > 0) & (b > t * np.abs(lo))) | guard(lo, b)) for t in (0.01, 0.005, 0.003)]
rows += [(f'normwise tau={t}', lambda lo, ex, b, t=t: ((lo > 0) & (b > t * np.abs(lo).max())) | guard(lo, b)) for t in (0.0015, 0.001)]
rows += [(f'oracle top {1 - q:.0%}', lambda lo, ex, b, q=q: (d := np.abs(np.maximum(lo, 0) - np.maximum(ex, 0))) > np.quantile(d, q)) for q in (0.8, 0.7)]
for name, sel in rows:
    e, f = evaluate(sel)
    print(f'{name:<24} {f:>16.1%} {e:>16.2e} {u / e:>11.2f}')
