using System.Numerics;
using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Reference;

/// <summary>
/// Naive implementations of every IR op, generic over fp64 and fp32: plain loops, no SIMD, the obvious
/// summation order (products added left to right from zero, bias last). They are the oracle the kernels
/// and the converter are tested against and the error baseline of the study, so clarity beats speed.
/// 1D ops run as 2D ops with a unit height.
/// </summary>
public static class ReferenceOps<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>y[r, i] = phi(sum_j W[i, j] x[r, j] + b[i]) for every leading index r.</summary>
    public static RefTensor<T> Dense(RefTensor<T> x, RefTensor<T> w, RefTensor<T>? b, Activation act, int[] outShape)
    {
        int m = w.Shape[0], k = w.Shape[1];
        int rows = k == 0 ? (int)Shapes.Elements(x.Shape[..^1], "dense input") : x.Data.Length / k;
        var y = new RefTensor<T>(outShape);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < m; i++)
            {
                T acc = T.Zero;
                for (int j = 0; j < k; j++) acc += w.Data[i * k + j] * x.Data[r * k + j];
                if (b is not null) acc += b.Data[i];
                y.Data[r * m + i] = Phi(act, acc);
            }
        return y;
    }

    /// <summary>ONNX Conv (cross-correlation) with pads, strides, dilations and groups, then phi.</summary>
    public static RefTensor<T> Conv(RefTensor<T> x, RefTensor<T> w, RefTensor<T>? b, ConvNode node, Activation act, int[] outShape)
    {
        var g = Geometry.Of(x.Shape, w.Shape[2..], node.Strides, node.Pads, node.Dilations, outShape);
        int m = w.Shape[0], groups = node.Groups, cg = g.C / groups, mg = m / groups;
        var y = new RefTensor<T>(outShape);
        for (int n = 0; n < g.N; n++)
            for (int oc = 0; oc < m; oc++)
            {
                int grp = oc / mg;
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        T acc = T.Zero;
                        for (int c = 0; c < cg; c++)
                            for (int kh = 0; kh < g.KH; kh++)
                            {
                                int ih = oh * g.SH - g.PH + kh * g.DH;
                                if ((uint)ih >= (uint)g.H) continue;
                                for (int kw = 0; kw < g.KW; kw++)
                                {
                                    int iw = ow * g.SW - g.PW + kw * g.DW;
                                    if ((uint)iw >= (uint)g.W) continue;
                                    int ic = grp * cg + c;
                                    acc += w.Data[((oc * cg + c) * g.KH + kh) * g.KW + kw] * x.Data[((n * g.C + ic) * g.H + ih) * g.W + iw];
                                }
                            }
                        if (b is not null) acc += b.Data[oc];
                        y.Data[((n * m + oc) * g.OH + oh) * g.OW + ow] = Phi(act, acc);
                    }
            }
        return y;
    }

    /// <summary>ONNX MaxPool / AveragePool. Padding never wins a max; AveragePool divides by the valid
    /// elements, or with count_include_pad by the window clipped to the padded input (as ONNX Runtime).</summary>
    public static RefTensor<T> Pool(RefTensor<T> x, PoolNode node, int[] outShape)
    {
        var g = Geometry.Of(x.Shape, node.Kernel, node.Strides, node.Pads, node.Dilations, outShape);
        var y = new RefTensor<T>(outShape);
        for (int nc = 0; nc < g.N * g.C; nc++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                {
                    T best = T.NegativeInfinity, sum = T.Zero;
                    int valid = 0;
                    bool nan = false;
                    for (int kh = 0; kh < g.KH; kh++)
                    {
                        int ih = oh * g.SH - g.PH + kh * g.DH;
                        if ((uint)ih >= (uint)g.H) continue;
                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            int iw = ow * g.SW - g.PW + kw * g.DW;
                            if ((uint)iw >= (uint)g.W) continue;
                            T v = x.Data[(nc * g.H + ih) * g.W + iw];
                            nan |= T.IsNaN(v);
                            if (v > best) best = v;
                            sum += v;
                            valid++;
                        }
                    }
                    T r;
                    if (node.IsMax) r = nan ? T.NaN : best;
                    else
                    {
                        int count = valid;
                        if (node.CountIncludePad)
                        {
                            int hs = oh * g.SH - g.PH, ws = ow * g.SW - g.PW;
                            int he = Math.Min(hs + (g.KH - 1) * g.DH + 1, g.H + g.PHEnd), we = Math.Min(ws + (g.KW - 1) * g.DW + 1, g.W + g.PWEnd);
                            count = (he - hs) * (we - ws);
                        }
                        r = count == 0 ? T.Zero : sum / T.CreateChecked(count);
                    }
                    y.Data[(nc * g.OH + oh) * g.OW + ow] = r;
                }
        return y;
    }

    public static RefTensor<T> GlobalAveragePool(RefTensor<T> x, int[] outShape)
    {
        int nc = x.Shape[0] * x.Shape[1];
        int spatial = nc == 0 ? 0 : x.Data.Length / nc;
        var y = new RefTensor<T>(outShape);
        for (int i = 0; i < nc; i++)
        {
            T sum = T.Zero;
            for (int j = 0; j < spatial; j++) sum += x.Data[i * spatial + j];
            y.Data[i] = spatial == 0 ? T.Zero : sum / T.CreateChecked(spatial);
        }
        return y;
    }

    /// <summary>Element-wise sum with numpy broadcasting.</summary>
    public static RefTensor<T> Add(RefTensor<T> a, RefTensor<T> b, int[] outShape)
    {
        var y = new RefTensor<T>(outShape);
        int r = outShape.Length;
        var sa = BroadcastStrides(a.Shape, r, outShape);
        var sb = BroadcastStrides(b.Shape, r, outShape);
        var idx = new int[r];
        for (int i = 0; i < y.Data.Length; i++)
        {
            int ia = 0, ib = 0, rem = i;
            for (int d = r - 1; d >= 0; d--)
            {
                idx[d] = rem % outShape[d];
                rem /= outShape[d];
                ia += idx[d] * sa[d];
                ib += idx[d] * sb[d];
            }
            y.Data[i] = a.Data[ia] + b.Data[ib];
        }
        return y;
    }

    private static int[] BroadcastStrides(int[] shape, int rank, int[] outShape)
    {
        var s = new int[rank];
        int stride = 1;
        for (int d = rank - 1; d >= 0; d--)
        {
            int k = d - (rank - shape.Length);
            int dim = k >= 0 ? shape[k] : 1;
            s[d] = dim == 1 && outShape[d] != 1 ? 0 : stride;
            stride *= dim;
        }
        return s;
    }

    /// <summary>Softmax along <paramref name="axis"/>: max subtracted first, so exp never overflows.</summary>
    public static RefTensor<T> Softmax(RefTensor<T> x, int axis)
    {
        if (axis < 0) axis += x.Shape.Length;
        int len = x.Shape[axis];
        int inner = (int)Shapes.Elements(x.Shape[(axis + 1)..], "softmax");
        int outer = len * inner == 0 ? 0 : x.Data.Length / (len * inner);
        var y = new RefTensor<T>((int[])x.Shape.Clone());
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int baseIdx = o * len * inner + i;
                T max = T.NegativeInfinity;
                for (int j = 0; j < len; j++) max = T.Max(max, x.Data[baseIdx + j * inner]);
                T sum = T.Zero;
                for (int j = 0; j < len; j++) sum += y.Data[baseIdx + j * inner] = T.Exp(x.Data[baseIdx + j * inner] - max);
                for (int j = 0; j < len; j++) y.Data[baseIdx + j * inner] /= sum;
            }
        return y;
    }

    public static RefTensor<T> Concat(IReadOnlyList<RefTensor<T>> xs, int axis, int[] outShape)
    {
        if (axis < 0) axis += outShape.Length;
        int inner = (int)Shapes.Elements(outShape[(axis + 1)..], "concat");
        int outer = (int)Shapes.Elements(outShape[..axis], "concat");
        var y = new RefTensor<T>(outShape);
        int pos = 0;
        for (int o = 0; o < outer; o++)
            foreach (var x in xs)
            {
                int chunk = x.Shape[axis] * inner;
                Array.Copy(x.Data, o * chunk, y.Data, pos, chunk);
                pos += chunk;
            }
        return y;
    }

    /// <summary>Layer normalisation over the dims from <paramref name="axis"/> on: mean, then the biased variance of
    /// the deviations (two passes, in T), y = (x - mean) / sqrt(var + eps) * scale + bias.</summary>
    public static RefTensor<T> LayerNorm(RefTensor<T> x, RefTensor<T> scale, RefTensor<T>? bias, int axis, float epsilon)
    {
        if (axis < 0) axis += x.Shape.Length;
        int n = (int)Shapes.Elements(x.Shape[axis..], "layernorm");
        int rows = n == 0 ? 0 : x.Data.Length / n;
        var y = new RefTensor<T>((int[])x.Shape.Clone());
        T len = T.CreateChecked(n), eps = T.CreateChecked(epsilon);
        for (int r = 0; r < rows; r++)
        {
            int o = r * n;
            T mean = T.Zero;
            for (int j = 0; j < n; j++) mean += x.Data[o + j];
            mean /= len;
            T var = T.Zero;
            for (int j = 0; j < n; j++) { T d = x.Data[o + j] - mean; var += d * d; }
            var /= len;
            T sd = T.Sqrt(var + eps);
            for (int j = 0; j < n; j++)
            {
                T v = (x.Data[o + j] - mean) / sd * scale.Data[j];
                y.Data[o + j] = bias is null ? v : v + bias.Data[j];
            }
        }
        return y;
    }

    /// <summary>y[i_0, ..., i_r-1] = x at the index whose dim perm[k] is i_k (ONNX Transpose).</summary>
    public static RefTensor<T> Transpose(RefTensor<T> x, int[] perm, int[] outShape)
    {
        int rank = x.Shape.Length;
        var inStride = new int[rank];
        for (int d = rank - 1, st = 1; d >= 0; st *= x.Shape[d], d--) inStride[d] = st;
        var y = new RefTensor<T>(outShape);
        var idx = new int[rank];
        for (int e = 0; e < y.Data.Length; e++)
        {
            int rem = e, src = 0;
            for (int k = rank - 1; k >= 0; k--) { idx[k] = rem % outShape[k]; rem /= outShape[k]; }
            for (int k = 0; k < rank; k++) src += idx[k] * inStride[perm[k]];
            y.Data[e] = x.Data[src];
        }
        return y;
    }

    public static RefTensor<T> Activate(RefTensor<T> x, Activation act)
    {
        var y = new RefTensor<T>((int[])x.Shape.Clone());
        for (int i = 0; i < y.Data.Length; i++) y.Data[i] = Phi(act, x.Data[i]);
        return y;
    }

    /// <summary>phi evaluated in fp64 and rounded once to T.</summary>
    public static T Phi(Activation act, T s) =>
        act.Kind == ActivationKind.Identity ? s : T.CreateChecked(ActivationMath.Phi(act, double.CreateChecked(s)));

    /// <summary>Spatial geometry with 1D ops seen as 2D of height 1.</summary>
    private readonly record struct Geometry(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,
        int PHEnd, int PWEnd, int DH, int DW, int OH, int OW)
    {
        public static Geometry Of(int[] x, int[] k, int[] s, int[] p, int[] d, int[] y)
        {
            if (x.Length == 3)
                return new(x[0], x[1], 1, x[2], 1, k[0], 1, s[0], 0, p[0], 0, p[1], 1, d[0], 1, y[2]);
            return new(x[0], x[1], x[2], x[3], k[0], k[1], s[0], s[1], p[0], p[1], p[2], p[3], d[0], d[1], y[2], y[3]);
        }
    }
}
