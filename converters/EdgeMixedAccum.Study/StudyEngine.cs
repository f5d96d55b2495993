using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Numerics;
using EdgeMixedAccum.Reference;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Study;

/// <summary>
/// Algorithm 1 with emulated low precision, for the study: every Dense/Conv component is computed exactly
/// (fp64), in fp32 (sequential, as the runtime's recompute) and in the low format (every multiply-add
/// rounded to the format, inputs and weights rounded to it first; or int8 with per-tensor dynamic
/// activation scales). A method then picks the components taken from fp32; the rest keep the low value.
/// Random and oracle pick as many components per layer and sample as the mixed test flagged.
/// </summary>
public sealed class StudyEngine
{
    private readonly EmaModel _model;
    private readonly float[] _x;
    private readonly int _batch, _inLen;
    private readonly long[]? _labels;
    private readonly StudyOptions _o;
    private readonly Dictionary<LayerNode, LayerData> _layers = [];
    private readonly List<LayerNode> _order = [];
    private readonly HashSet<LayerNode> _heads;
    private double[][]? _y64;
    private int[]? _top32;

    public StudyEngine(EmaModel model, float[] x, int batch, long[]? labels, StudyOptions options)
    {
        _model = model; _x = x; _batch = batch; _labels = labels; _o = options;
        _inLen = batch == 0 ? 0 : x.Length / batch;
        var g = model.Graph;
        foreach (var l in g.Nodes.OfType<LayerNode>())
        {
            _order.Add(l);
            var w = g.Tensors[g.Values[l.Weight].Constant];
            var b = l.Bias >= 0 ? g.Tensors[g.Values[l.Bias].Constant].ToFloat32() : new float[w.Shape[0]];
            _layers[l] = new LayerData(w, b);
        }
        _heads = g.HeadLayers();
    }

    public IReadOnlyList<string> LayerNames => _order.Select(l => l.Name).ToArray();

    /// <summary>Runs every format, method and tau; reports progress as (runs done, runs total).</summary>
    public List<StudyRow> Run(IProgress<(int Done, int Total, string What)>? progress = null)
    {
        var runs = new List<(string Format, StudyMethod Method, double Tau, string Est)>();
        foreach (var f in _o.Formats)
        {
            runs.Add((f, StudyMethod.UniformLow, double.NaN, "fused"));
            foreach (var est in _o.Estimators)
                foreach (var t in _o.Taus)
                    foreach (var m in new[] { StudyMethod.Mixed, StudyMethod.Random, StudyMethod.Oracle }) runs.Add((f, m, t, est));
        }
        var rows = new List<StudyRow>();
        progress?.Report((0, runs.Count + 2, "fp64 reference"));
        EnsureBaselines();
        var high = Evaluate(_o.Formats.Count > 0 ? _o.Formats[0] : "fp16", StudyMethod.UniformHigh, double.NaN);
        progress?.Report((1, runs.Count + 1, "fp32"));
        for (int i = 0; i < runs.Count; i++)
        {
            var (f, m, t, est) = runs[i];
            progress?.Report((i + 1, runs.Count + 1, $"{f} {StudyRow.MethodName(m)} {(double.IsNaN(t) ? "" : $"tau {t:G3} ({est})")}"));
            var row = Evaluate(f, m, t, est);
            if (m == StudyMethod.UniformLow)
                foreach (var e in _o.Estimators) // each series gets its baselines
                {
                    rows.Add(high with { Format = StudyOptions.Resolve(f).Name, Cost = 1, Estimator = e });
                    rows.Add(row with { Estimator = e });
                }
            else rows.Add(row);
        }
        progress?.Report((runs.Count + 1, runs.Count + 1, "done"));
        return rows;
    }

    private void EnsureBaselines()
    {
        if (_y64 is not null) return;
        _y64 = new double[_batch][];
        var shape = Shapes.Resolve(_model.Graph.Values[_model.Graph.Inputs[0]].Shape, 1);
        Parallel.For(0, _batch, i => _y64[i] = ReferenceExecutor.Run<double>(_model, (_x.AsSpan(i * _inLen, _inLen).ToArray(), shape))[0].Data);
        _top32 = new int[_batch];
        var fp32 = Format("fp16");
        Parallel.For(0, _batch, i => _top32[i] = OutputMetrics.ArgMax<double>(Forward(i, fp32, StudyMethod.UniformHigh, double.NaN, true, new long[_order.Count], new long[_order.Count])));
    }

    /// <summary>One format, method and tau over the whole set.</summary>
    public StudyRow Evaluate(string format, StudyMethod method, double tau, string estimator = "fused")
    {
        bool fused = estimator switch { "fused" => true, "rownorm" => false, _ => throw new EmaException($"unknown estimator '{estimator}' (fused, rownorm)") };
        EnsureBaselines();
        var f = Format(format);
        int nl = _order.Count;
        var err = new double[_batch];
        var top = new int[_batch];
        var highMacs = new long[nl]; var macs = new long[nl];
        object gate = new();
        Parallel.For(0, _batch, () => (H: new long[nl], M: new long[nl]), (i, _, acc) =>
        {
            var y = Forward(i, f, method, tau, fused, acc.H, acc.M);
            err[i] = OutputMetrics.RelativeError<double, double>(y, _y64![i]);
            if (double.IsNaN(err[i])) err[i] = double.PositiveInfinity;
            top[i] = OutputMetrics.ArgMax<double>(y);
            return acc;
        }, acc => { lock (gate) for (int l = 0; l < nl; l++) { highMacs[l] += acc.H[l]; macs[l] += acc.M[l]; } });

        long totalMacs = macs.Sum(), totalHigh = highMacs.Sum();
        double cost = 0;
        for (int l = 0; l < nl; l++)
        {
            bool lowPass = method != StudyMethod.UniformHigh && !(IsHeadHigh(_order[l], method));
            // The fused estimator accumulates |w||x| next to every low-precision product (one more accumulation);
            // row norms cost O(m + n), and int8 bounds need no |W||x| at all (docs/study.md).
            bool estimates = method is not StudyMethod.UniformLow && fused && f.F is not null;
            if (lowPass) cost += macs[l] * CostModel.LowCost(f.Ratio, estimates);
            cost += highMacs[l];
        }
        int agree = 0, correct = 0;
        for (int i = 0; i < _batch; i++)
        {
            if (top[i] == _top32![i]) agree++;
            if (_labels is not null && _labels[i] == top[i]) correct++;
        }
        return new StudyRow(f.Name, method, tau, totalMacs == 0 ? 0 : (double)totalHigh / totalMacs, totalMacs == 0 ? 0 : cost / totalMacs,
            _labels is null || _batch == 0 ? double.NaN : (double)correct / _batch, _batch == 0 ? 1 : (double)agree / _batch,
            _batch == 0 ? 0 : err.Average(), _batch == 0 ? 0 : err.Max(),
            Enumerable.Range(0, nl).Select(l => macs[l] == 0 ? 0 : (double)highMacs[l] / macs[l]).ToArray()) { Estimator = estimator };
    }

    private bool IsHeadHigh(LayerNode l, StudyMethod m) => _o.HeadHigh && m is StudyMethod.Mixed or StudyMethod.Random or StudyMethod.Oracle && _heads.Contains(l);

    private sealed record Fmt(string Name, FloatFormat? F, double Ratio);

    private static Fmt Format(string name)
    {
        var (n, f, r) = StudyOptions.Resolve(name);
        return new Fmt(n, f, r);
    }

    /// <summary>One sample through the graph with the method's layers; returns the first output.</summary>
    private double[] Forward(int sample, Fmt f, StudyMethod method, double tau, bool fused, long[] highMacs, long[] macs)
    {
        var shape = Shapes.Resolve(_model.Graph.Values[_model.Graph.Inputs[0]].Shape, 1);
        var data = _x.AsSpan(sample * _inLen, _inLen).ToArray();
        _model.Metadata.Normalization?.Apply(data, shape);
        var input = RefTensor<double>.FromFloat(shape, data);
        var rng = new Random(HashCode.Combine(_o.Seed, sample, f.Name, tau));
        var outs = ReferenceExecutor.Run(_model.Graph, [input], null, (node, ins, outShape) =>
        {
            int li = _order.IndexOf(node);
            var y = Layer(node, _layers[node], ins[0], outShape, f, method, tau, fused, rng, out long taken, out long all);
            highMacs[li] += taken;
            macs[li] += all;
            return y;
        });
        return outs[0].Data;
    }

    private RefTensor<double> Layer(LayerNode node, LayerData w, RefTensor<double> x, int[] outShape, Fmt f, StudyMethod method,
        double tau, bool fused, Random rng, out long highMacs, out long macs)
    {
        int m = w.M, k = w.K;
        var xf = Array.ConvertAll(x.Data, v => (float)v);
        // Units: Dense rows, or Conv (group, position) with an im2col patch.
        int units, mg;
        ConvGeometry geo = default;
        if (node is ConvNode c)
        {
            geo = ConvGeometry.Of(c, x.Shape.AsSpan(1), outShape.AsSpan(1), w.Shape.AsSpan(2));
            mg = m / geo.Groups;
            units = geo.Groups * geo.Positions;
        }
        else { mg = m; units = k == 0 ? 0 : xf.Length / k; }
        int n = units * mg;
        var low = new double[n]; var high = new double[n]; var exact = new double[n]; var flag = new bool[n];
        var (xq, sx, emax) = f.F is null ? QuantizeI8(xf) : (null, 0f, 0.0);
        float maxAbs = 0; foreach (var v in xf) maxAbs = Math.Max(maxAbs, Math.Abs(v));
        var patch = new float[k]; var patchLow = new float[k]; var wl = f.F is null ? w.I8 : w.Rounded(f.F);
        bool headHigh = IsHeadHigh(node, method);
        double u = f.F?.UnitRoundoff ?? 0;
        for (int unit = 0; unit < units; unit++)
        {
            int g = 0, p = 0;
            if (node is ConvNode) { g = unit / geo.Positions; p = unit % geo.Positions; geo.Gather<float>(xf, patch, g, p / geo.OW, p % geo.OW); }
            else xf.AsSpan(unit * k, k).CopyTo(patch);
            if (f.F is null)
            {
                if (node is ConvNode) geo.Gather<float>(xq!, patchLow, g, p / geo.OW, p % geo.OW);
                else xq!.AsSpan(unit * k, k).CopyTo(patchLow);
            }
            else for (int j = 0; j < k; j++) patchLow[j] = (float)f.F.Round(patch[j]);
            for (int ii = 0; ii < mg; ii++)
            {
                int r = g * mg + ii;
                var wr = w.W32.AsSpan(r * k, k);
                double e = w.Bias[r], a = 0;
                float h = 0;
                for (int j = 0; j < k; j++) { e += (double)wr[j] * patch[j]; a += Math.Abs((double)wr[j] * patch[j]); h += wr[j] * patch[j]; }
                h += w.Bias[r];
                double lo, bound;
                var wlr = wl.AsSpan(r * k, k);
                if (method == StudyMethod.UniformHigh) { lo = h; bound = 0; } // no low pass to emulate
                else if (f.F is null)
                {
                    lo = w.Bias[r];
                    for (int j = 0; j < k; j++) lo += (double)wlr[j] * patchLow[j];
                    bound = Math.Min(w.L1[r], 2 * w.L2[r]) * emax;
                }
                else
                {
                    lo = EmulatedDot.DotFma(f.F, wlr, patchLow, w.Bias[r]);
                    double est = fused ? a : w.L1[r] * maxAbs;
                    bound = (Math.Sqrt(k + 1) + 2) * u * (est + Math.Abs(w.Bias[r]));
                }
                int o = node is ConvNode ? r * geo.Positions + p : unit * m + ii;
                low[o] = lo; high[o] = h; exact[o] = e;
                bool nonFinite = !double.IsFinite(lo) || (f.F is not null && Math.Abs(lo) >= f.F.MaxFinite);
                double kp = ActivationMath.Kappa(node.Activation, lo);
                bool fl = nonFinite || FlagTest.Flags(node.Activation, lo, kp, bound, tau, _o.TauNegative, out _);
                flag[o] = fl;
            }
        }
        // Selection.
        var take = new bool[n];
        int count = 0;
        foreach (var b in flag) if (b) count++;
        switch (method)
        {
            case StudyMethod.UniformHigh: Array.Fill(take, true); break;
            case StudyMethod.UniformLow: break;
            case StudyMethod.Mixed: Array.Copy(flag, take, n); break;
            case StudyMethod.Random:
            {
                var idx = Enumerable.Range(0, n).ToArray();
                rng.Shuffle(idx);
                for (int t = 0; t < count; t++) take[idx[t]] = true;
                break;
            }
            case StudyMethod.Oracle:
            {
                var act = node.Activation;
                var errs = new double[n];
                for (int i = 0; i < n; i++)
                {
                    double d = Math.Abs(ActivationMath.Phi(act, low[i]) - ActivationMath.Phi(act, exact[i]));
                    errs[i] = double.IsNaN(d) ? double.PositiveInfinity : d;
                }
                var idx = Enumerable.Range(0, n).ToArray();
                Array.Sort(errs.Select(v => -v).ToArray(), idx);
                for (int t = 0; t < count; t++) take[idx[t]] = true;
                break;
            }
        }
        if (headHigh) Array.Fill(take, true);
        var y = new RefTensor<double>(outShape);
        long taken = 0;
        for (int i = 0; i < n; i++)
        {
            double s = take[i] ? high[i] : low[i];
            if (take[i]) taken++;
            y.Data[i] = (float)ActivationMath.Phi(node.Activation, s);
        }
        highMacs = taken * k;
        macs = (long)n * k;
        return y;
    }

    private static (float[] Q, float Scale, double EMax) QuantizeI8(float[] x)
    {
        float max = 0; foreach (var v in x) max = Math.Max(max, Math.Abs(v));
        float s = max / 127f;
        var q = new float[x.Length];
        double e = 0;
        for (int j = 0; j < x.Length; j++)
        {
            q[j] = s == 0 ? 0 : Math.Clamp(MathF.Round(x[j] / s), -127, 127) * s;
            e = Math.Max(e, Math.Abs(x[j] - (double)q[j]));
        }
        return (q, s, e);
    }

    /// <summary>A layer's weights: fp32 (the stored values), int8 (stored, or quantised per row) and per-format rounded.</summary>
    private sealed class LayerData
    {
        public LayerData(TensorData w, float[] bias)
        {
            Shape = w.Shape; M = w.Shape[0]; K = M == 0 ? 0 : (int)(w.ElementCount / M);
            W32 = w.ToFloat32(); Bias = bias;
            I8 = new float[W32.Length]; L1 = new double[M]; L2 = new double[M];
            for (int i = 0; i < M; i++)
            {
                var row = W32.AsSpan(i * K, K);
                float max = 0; foreach (var v in row) max = Math.Max(max, Math.Abs(v));
                float s = max / 127f;
                for (int j = 0; j < K; j++)
                {
                    // Stored int8 rows are reproduced exactly (q * s with the same s); other formats are quantised here.
                    float q = w.DType == TensorDType.Int8 ? row[j] : s == 0 ? 0 : Math.Clamp(MathF.Round(row[j] / s), -127, 127) * s;
                    I8[i * K + j] = q;
                    L1[i] += Math.Abs((double)q); L2[i] += (double)q * q;
                }
                L2[i] = Math.Sqrt(L2[i]);
            }
        }

        public int[] Shape { get; }
        public int M { get; }
        public int K { get; }
        public float[] W32 { get; }
        public float[] Bias { get; }
        public float[] I8 { get; }
        public double[] L1 { get; }
        public double[] L2 { get; }
        private readonly Dictionary<string, float[]> _rounded = [];

        public float[] Rounded(FloatFormat f)
        {
            lock (_rounded)
            {
                if (_rounded.TryGetValue(f.Name, out var r)) return r;
                r = Array.ConvertAll(W32, v => (float)f.Round(v));
                _rounded[f.Name] = r;
                return r;
            }
        }
    }
}
