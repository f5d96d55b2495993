using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Numerics;
using EdgeMixedAccum.Reference;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Study;

/// <summary>
/// Algorithm 1 with emulated low precision, for the study: every Dense/Conv component is computed exactly
/// (fp64) and in the ladder's lowest format (every multiply-add rounded to the format, weights and, unless told
/// otherwise, inputs rounded to it first; or int8 with per-tensor dynamic activation scales). A method then puts
/// each component on a level of the ladder; components above the lowest are recomputed there (fp32 sequentially,
/// as the runtime's recompute, or another emulated format). Random and oracle put as many components per layer,
/// sample and level as the mixed test did.
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
    private StudyRow? _fp32;

    public StudyEngine(EmaModel model, float[] x, int batch, long[]? labels, StudyOptions options)
    {
        if (options.BlockSize < 1) throw new EmaException($"block size {options.BlockSize}: must be >= 1 (1 is recursive summation)");
        foreach (var c in options.Criteria) StudyCriterion.Parse(c);
        if (options.WeightsFormat is not null)
            model = RoundWeights(model, StudyOptions.Resolve(options.WeightsFormat).Format
                ?? throw new EmaException("--weights-format: i8 is not a rounding format (use a float format, e.g. fp8-e4m3)"));
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

    /// <summary>The fp32 reference: every component in fp32 (the uniform_high row of every ladder topped by fp32).</summary>
    public StudyRow Fp32
    {
        get
        {
            EnsureBaselines();
            return _fp32 ??= Evaluate(StudyLadder.Fp32, StudyMethod.UniformHigh, double.NaN) with { Ladder = "fp32" };
        }
    }

    /// <summary>Runs every ladder, estimator, criterion, method and tau; reports progress as (runs done, runs total).
    /// The rows end with the fp32 reference (ladder "fp32").</summary>
    public List<StudyRow> Run(IProgress<(int Done, int Total, string What)>? progress = null)
    {
        var ladders = _o.AllLadders();
        // The authors' criterion has no unit roundoff, so it cannot tell which of three levels suffices: three-level
        // ladders get the other criteria only (and a run asking for nothing else is refused).
        foreach (var l in ladders)
            if (l.Levels.Count > 2 && _o.Criteria.All(c => c == StudyCriterion.Authors))
                throw new EmaException($"ladder '{l.Name}': the authors' criterion cannot choose between three levels; add full or full+sign");
        var runs = new List<(StudyLadder L, StudyMethod Method, double Tau, string Est, string Crit)>();
        foreach (var l in ladders)
        {
            runs.Add((l, StudyMethod.UniformLow, double.NaN, "fused", ""));
            if (l.Levels[^1] != "fp32") runs.Add((l, StudyMethod.UniformHigh, double.NaN, "fused", ""));
            foreach (var est in _o.Estimators)
                foreach (var c in _o.Criteria.Where(c => c != StudyCriterion.Authors || (est == _o.Estimators[0] && l.Levels.Count == 2))) // authors' test uses no estimate
                    foreach (var t in _o.Taus)
                        foreach (var m in new[] { StudyMethod.Mixed, StudyMethod.Random, StudyMethod.Oracle }) runs.Add((l, m, t, est, c));
        }
        var rows = new List<StudyRow>();
        int total = runs.Count + 2;
        progress?.Report((0, total, "fp64 reference"));
        var fp32 = Fp32;
        progress?.Report((1, total, "fp32"));
        StudyRow? low = null, high = null;
        for (int i = 0; i < runs.Count; i++)
        {
            var (l, m, t, est, c) = runs[i];
            progress?.Report((i + 1, total, $"{l.Name} {StudyRow.MethodName(m)} {(double.IsNaN(t) ? "" : $"{c} tau {t:G3} ({est})")}"));
            var row = Evaluate(l, m, t, est, c);
            if (m == StudyMethod.UniformLow) { low = row; high = l.Levels[^1] == "fp32" ? fp32 with { Ladder = l.Name, Format = l.Levels[0] } : null; }
            else if (m == StudyMethod.UniformHigh) high = row;
            else rows.Add(row);
            if (m == StudyMethod.UniformLow && high is null) continue;
            if (m is StudyMethod.UniformLow or StudyMethod.UniformHigh)
                foreach (var e in _o.Estimators) // each series gets its baselines
                {
                    rows.Add(high! with { Estimator = e });
                    rows.Add(low! with { Estimator = e });
                }
        }
        rows.Add(fp32);
        progress?.Report((total, total, "done"));
        return rows;
    }

    private void EnsureBaselines()
    {
        if (_y64 is not null) return;
        var y64 = new double[_batch][];
        var shape = Shapes.Resolve(_model.Graph.Values[_model.Graph.Inputs[0]].Shape, 1);
        Parallel.For(0, _batch, i => y64[i] = ReferenceExecutor.Run<double>(_model, (_x.AsSpan(i * _inLen, _inLen).ToArray(), shape))[0].Data);
        var top32 = new int[_batch];
        var fp32 = Resolve(StudyLadder.Fp32);
        Parallel.For(0, _batch, i => top32[i] = OutputMetrics.ArgMax<double>(Forward(i, fp32, StudyMethod.UniformHigh, double.NaN, Est.Fused, "", new Tally(_order.Count, 1))));
        _top32 = top32;
        _y64 = y64;
    }

    /// <summary>One ladder ("f" meaning "f:fp32"), method and tau over the whole set.</summary>
    public StudyRow Evaluate(string ladder, StudyMethod method, double tau, string estimator = "fused", string criterion = StudyCriterion.FullSign)
        => Evaluate(StudyLadder.Parse(ladder), method, tau, estimator, criterion);

    /// <summary>One ladder, method and tau over the whole set.</summary>
    public StudyRow Evaluate(StudyLadder ladder, StudyMethod method, double tau, string estimator = "fused", string criterion = StudyCriterion.FullSign)
    {
        var est = ParseEstimator(estimator);
        bool selective = method is StudyMethod.Mixed or StudyMethod.Random or StudyMethod.Oracle;
        criterion = selective ? StudyCriterion.Parse(criterion) : "";
        if (selective && criterion == StudyCriterion.Authors && ladder.Levels.Count > 2)
            throw new EmaException($"ladder '{ladder.Name}': the authors' criterion cannot choose between three levels; use full or full+sign");
        EnsureBaselines();
        var lad = Resolve(ladder);
        int nl = _order.Count, nv = lad.Levels.Length;
        var err = new double[_batch];
        var top = new int[_batch];
        var sum = new Tally(nl, nv);
        object gate = new();
        Parallel.For(0, _batch, () => new Tally(nl, nv), (i, _, acc) =>
        {
            var y = Forward(i, lad, method, tau, est, criterion, acc);
            err[i] = OutputMetrics.RelativeError<double, double>(y, _y64![i]);
            if (double.IsNaN(err[i])) err[i] = double.PositiveInfinity;
            top[i] = OutputMetrics.ArgMax<double>(y);
            return acc;
        }, acc => { lock (gate) sum.Add(acc); });

        long totalMacs = sum.Macs.Sum(), totalUp = 0, mid = 0;
        double cost = 0;
        for (int l = 0; l < nl; l++)
        {
            bool lowPass = method != StudyMethod.UniformHigh && !IsHeadHigh(_order[l], method);
            // The fused and running estimators accumulate one more sum next to every low-precision product;
            // row norms cost O(m + n). An int8 bound needs no |W||x|, unless a float level above it is tested; the
            // authors' criterion needs no bound at all.
            bool estimates = selective && est != Est.RowNorm && criterion != StudyCriterion.Authors && (lad.Levels[0].F is not null || nv > 2);
            if (lowPass) cost += sum.Macs[l] * (estimates ? 2 : 1) * lad.Levels[0].Cost;
            for (int p = 0; p < nv; p++) cost += sum.LevelMacs[l * nv + p] * lad.Levels[p].Cost;
            totalUp += sum.UpMacs(l);
            for (int p = 1; p < nv - 1; p++) mid += sum.LevelMacs[l * nv + p];
        }
        int agree = 0, correct = 0;
        for (int i = 0; i < _batch; i++)
        {
            if (top[i] == _top32![i]) agree++;
            if (_labels is not null && _labels[i] == top[i]) correct++;
        }
        double Share(long a, long b) => b == 0 ? 0 : (double)a / b;
        return new StudyRow(ladder.Levels[0], method, tau, Share(totalUp, totalMacs), totalMacs == 0 ? 0 : cost / totalMacs,
            _labels is null || _batch == 0 ? double.NaN : (double)correct / _batch, _batch == 0 ? 1 : (double)agree / _batch,
            _batch == 0 ? 0 : err.Average(), _batch == 0 ? 0 : err.Max(),
            Enumerable.Range(0, nl).Select(l => Share(sum.UpMacs(l), sum.Macs[l])).ToArray())
        {
            Estimator = estimator, Ladder = ladder.Name, Criterion = criterion,
            ComponentFraction = Share(sum.UpComponents, sum.Components), MidFraction = Share(mid, totalMacs),
        };
    }

    private bool IsHeadHigh(LayerNode l, StudyMethod m) => _o.HeadHigh && m is StudyMethod.Mixed or StudyMethod.Random or StudyMethod.Oracle && _heads.Contains(l);

    /// <summary>A level of a ladder: its name, emulated format (null for int8; fp32 is computed natively) and cost per multiply-add (fp32 = 1).</summary>
    private sealed record Level(string Name, FloatFormat? F, double Cost)
    {
        public bool IsFp32 => Name == "fp32";
    }

    private sealed record Lad(string Name, Level[] Levels);

    private static Lad Resolve(StudyLadder l) => new(l.Name, l.Levels.Select(n =>
    {
        var (name, f, ratio) = StudyOptions.Resolve(n);
        return new Level(name, f, 1 / ratio);
    }).ToArray());

    /// <summary>Per-layer counts of one run: multiply-adds, multiply-adds per level (above the low pass, or every
    /// level for a uniform run), and components.</summary>
    private sealed class Tally(int layers, int levels)
    {
        public readonly long[] Macs = new long[layers];
        public readonly long[] LevelMacs = new long[layers * levels];
        public long Components, UpComponents;
        private readonly int _levels = levels;

        /// <summary>Multiply-adds of layer l recomputed above the low pass (for a one-level ladder: all its level's).</summary>
        public long UpMacs(int l)
        {
            long s = 0;
            for (int p = _levels == 1 ? 0 : 1; p < _levels; p++) s += LevelMacs[l * _levels + p];
            return s;
        }

        public void Add(Tally o)
        {
            for (int i = 0; i < Macs.Length; i++) Macs[i] += o.Macs[i];
            for (int i = 0; i < LevelMacs.Length; i++) LevelMacs[i] += o.LevelMacs[i];
            Components += o.Components; UpComponents += o.UpComponents;
        }
    }

    /// <summary>One sample through the graph with the method's layers; returns the first output.</summary>
    private double[] Forward(int sample, Lad lad, StudyMethod method, double tau, Est est, string criterion, Tally tally)
    {
        var shape = Shapes.Resolve(_model.Graph.Values[_model.Graph.Inputs[0]].Shape, 1);
        var data = _x.AsSpan(sample * _inLen, _inLen).ToArray();
        _model.Metadata.Normalization?.Apply(data, shape);
        var input = RefTensor<double>.FromFloat(shape, data);
        // Deterministic across processes (string.GetHashCode is randomised per process).
        var rng = new Random(StableSeed(_o.Seed, sample, lad.Name, criterion, tau));
        var outs = ReferenceExecutor.Run(_model.Graph, [input], null, (node, ins, outShape) =>
            Layer(_order.IndexOf(node), node, _layers[node], ins[0], outShape, lad, method, tau, est, criterion, rng, tally));
        return outs[0].Data;
    }

    private static int StableSeed(int seed, int sample, string ladder, string criterion, double tau)
    {
        ulong h = 14695981039346656037UL;
        void Mix(ulong v) { h ^= v; h *= 1099511628211UL; }
        Mix((ulong)seed); Mix((ulong)sample); Mix((ulong)BitConverter.DoubleToInt64Bits(tau));
        foreach (var ch in ladder) Mix(ch);
        Mix(0xff);
        foreach (var ch in criterion) Mix(ch);
        return (int)(h ^ (h >> 32));
    }

    private bool Rejects(string criterion, in Activation act, double s, double kappa, double bound, double tau, double scale) =>
        StudyCriterion.Rejects(criterion, act, s, kappa, bound, tau, _o.TauNegative, scale);

    private RefTensor<double> Layer(int li, LayerNode node, LayerData w, RefTensor<double> x, int[] outShape, Lad lad, StudyMethod method,
        double tau, Est est, string criterion, Random rng, Tally tally)
    {
        int m = w.M, k = w.K, nv = lad.Levels.Length, topLevel = nv - 1;
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
        var low = new double[n]; var high = new double[n]; var exact = new double[n]; var chosen = new byte[n];
        var scaleA = new double[n]; var i8Bound = new double[n];
        var l0 = lad.Levels[0];
        var (xq, _, emax) = l0.F is null ? QuantizeI8(xf) : (null, 0f, 0.0);
        float maxAbs = 0; foreach (var v in xf) maxAbs = Math.Max(maxAbs, Math.Abs(v));
        var patch = new float[k]; var patchLow = new float[k];
        bool headHigh = IsHeadHigh(node, method);
        var act = node.Activation;
        for (int unit = 0; unit < units; unit++)
        {
            int g = Gather(node, geo, xf, patch, unit, k);
            if (l0.F is null) Gather(node, geo, xq!, patchLow, unit, k);
            else if (!l0.IsFp32) RoundInput(l0, patch, patchLow);
            for (int ii = 0; ii < mg; ii++)
            {
                int r = g * mg + ii;
                var wr = w.W32.AsSpan(r * k, k);
                double e = w.Bias[r], a = 0;
                float h = 0;
                for (int j = 0; j < k; j++) { e += (double)wr[j] * patch[j]; a += Math.Abs((double)wr[j] * patch[j]); h += wr[j] * patch[j]; }
                h += w.Bias[r];
                int o = Index(node, geo, mg, m, unit, ii, r);
                exact[o] = e; high[o] = h;
                if (l0.IsFp32 || method == StudyMethod.UniformHigh) { low[o] = h; continue; } // no low pass to emulate
                double running = 0;
                double lo = l0.F is null ? DotI8(w.I8.AsSpan(r * k, k), patchLow, w.Bias[r], est == Est.Running ? new RunningStat() : null, out running)
                    : est == Est.Running ? RunningDot(l0, w, r, patchLow, out running) : LowDot(l0, w, r, patchLow);
                low[o] = lo;
                if (!(method is StudyMethod.Mixed or StudyMethod.Random or StudyMethod.Oracle)) continue;
                // A float level's bound is u times this: (sqrt(n + 1) + 2)(|W||x| + |b|)_i, or the running estimate.
                scaleA[o] = est switch
                {
                    Est.Running => running,
                    Est.Fused => (Math.Sqrt(k + 1) + 2) * (a + Math.Abs(w.Bias[r])),
                    _ => (Math.Sqrt(k + 1) + 2) * (w.L1[r] * maxAbs + Math.Abs(w.Bias[r])),
                };
                i8Bound[o] = l0.F is null ? Math.Min(w.L1[r], 2 * w.L2[r]) * emax : 0;
            }
        }
        if (method is StudyMethod.Mixed or StudyMethod.Random or StudyMethod.Oracle && !l0.IsFp32)
        {
            double scale = 0;
            if (criterion == StudyCriterion.Normwise)
            {
                int finite = 0;
                foreach (var v in low) { double q = ActivationMath.Phi(act, v); if (double.IsFinite(q)) { scale += q * q; finite++; } }
                scale = finite == 0 ? 0 : Math.Sqrt(scale / finite);
            }
            for (int o = 0; o < n; o++)
            {
                double lo = low[o];
                if (!double.IsFinite(lo) || (l0.F is not null && Math.Abs(lo) >= l0.F.MaxFinite)) { chosen[o] = 1; continue; }
                double kp = ActivationMath.Kappa(act, lo);
                byte level = (byte)topLevel;
                for (int p = 0; p < topLevel; p++)
                {
                    var lv = lad.Levels[p];
                    double bound = lv.F is null ? i8Bound[o] : lv.F.UnitRoundoff * scaleA[o];
                    if (!Rejects(criterion, act, lo, kp, bound, tau, scale)) { level = (byte)p; break; }
                }
                chosen[o] = level;
            }
        }
        // Selection: the level each component is computed in.
        var take = new byte[n];
        switch (method)
        {
            case StudyMethod.UniformHigh: Array.Fill(take, (byte)topLevel); break;
            case StudyMethod.UniformLow: break;
            case StudyMethod.Mixed: Array.Copy(chosen, take, n); break;
            case StudyMethod.Random:
            case StudyMethod.Oracle:
            {
                var counts = new int[nv];
                foreach (var b in chosen) counts[b]++;
                var idx = Enumerable.Range(0, n).ToArray();
                if (method == StudyMethod.Random) rng.Shuffle(idx);
                else
                {
                    var errs = new double[n];
                    for (int i = 0; i < n; i++)
                    {
                        double d = Math.Abs(ActivationMath.Phi(act, low[i]) - ActivationMath.Phi(act, exact[i]));
                        errs[i] = double.IsNaN(d) ? double.NegativeInfinity : -d;
                    }
                    Array.Sort(errs, idx); // largest error first
                }
                // The most precise level takes the first of the order, the next level the following ones, and so on.
                int at = 0;
                for (int p = topLevel; p >= 1; p--)
                    for (int t = 0; t < counts[p]; t++) take[idx[at++]] = (byte)p;
                break;
            }
        }
        if (headHigh) Array.Fill(take, (byte)topLevel);
        // Recompute above the low pass, escalating a result that overflows its level.
        var value = new double[n];
        long up = 0;
        var level0Macs = 0L;
        for (int unit = 0; unit < units; unit++)
        {
            bool gathered = false;
            int g = node is ConvNode ? unit / geo.Positions : 0;
            for (int ii = 0; ii < mg; ii++)
            {
                int r = g * mg + ii, o = Index(node, geo, mg, m, unit, ii, r);
                int p = take[o];
                if (p == 0 && topLevel > 0) { value[o] = low[o]; continue; }
                if (topLevel == 0) { value[o] = high[o]; level0Macs += k; up++; continue; }
                up++;
                if (!gathered) { Gather(node, geo, xf, patch, unit, k); gathered = true; }
                while (true)
                {
                    var lv = lad.Levels[p];
                    double v;
                    if (lv.IsFp32) v = high[o];
                    else { RoundInput(lv, patch, patchLow); v = LowDot(lv, w, r, patchLow); }
                    tally.LevelMacs[li * nv + p] += k;
                    if (p < topLevel && (!double.IsFinite(v) || Math.Abs(v) >= lv.F!.MaxFinite)) { p++; continue; }
                    value[o] = v;
                    break;
                }
            }
        }
        if (topLevel == 0) tally.LevelMacs[li] += level0Macs;
        var y = new RefTensor<double>(outShape);
        for (int i = 0; i < n; i++) y.Data[i] = (float)ActivationMath.Phi(act, value[i]);
        tally.Macs[li] += (long)n * k;
        tally.Components += n;
        tally.UpComponents += up;
        return y;
    }

    /// <summary>Output index of component (unit, row ii): Conv outputs are [m, positions], Dense [units, m].</summary>
    private static int Index(LayerNode node, in ConvGeometry geo, int mg, int m, int unit, int ii, int r) =>
        node is ConvNode ? r * geo.Positions + unit % geo.Positions : unit * m + ii;

    /// <summary>Copies unit's input (a Dense row of x, or a Conv im2col patch) into patch; returns the Conv group.</summary>
    private static int Gather(LayerNode node, in ConvGeometry geo, float[] x, float[] patch, int unit, int k)
    {
        if (node is not ConvNode) { x.AsSpan(unit * k, k).CopyTo(patch); return 0; }
        int g = unit / geo.Positions, p = unit % geo.Positions;
        geo.Gather<float>(x, patch, g, p / geo.OW, p % geo.OW);
        return g;
    }

    private void RoundInput(Level lv, float[] patch, float[] into)
    {
        if (!_o.RoundInputs) { patch.CopyTo(into, 0); return; }
        for (int j = 0; j < patch.Length; j++) into[j] = (float)lv.F!.Round(patch[j]);
    }

    /// <summary>Row r of the layer in an emulated float format: weights rounded to it, every multiply-add rounded, recursive or blocked.</summary>
    private double LowDot(Level lv, LayerData w, int r, float[] x)
    {
        var wr = w.Rounded(lv.F!).AsSpan(r * w.K, w.K);
        return _o.BlockSize <= 1
            ? EmulatedDot.DotFma(lv.F!, wr, x, w.Bias[r])
            : EmulatedDot.DotFma(lv.F!, wr, x, w.Bias[r], Summation.Blocked, _o.BlockSize);
    }

    /// <summary>
    /// <see cref="LowDot"/> in recursive order, also returning the running error estimate (Higham's running error
    /// analysis, in its probabilistic form): each step's rounding error is at most u |s_j| for the partial sum s_j,
    /// so with independent errors the total is about u sqrt(sum s_j^2); rounding the products' operands adds about
    /// u sqrt(2 sum p_j^2). Returns sqrt(sum s_j^2) + sqrt(2 sum p_j^2) (to be multiplied by u).
    /// </summary>
    private double RunningDot(Level lv, LayerData w, int r, float[] x, out double running)
    {
        var f = lv.F!;
        var wr = w.Rounded(f).AsSpan(r * w.K, w.K);
        var stat = new RunningStat();
        double acc = f.Round(w.Bias[r]);
        int block = Math.Max(1, _o.BlockSize);
        for (int start = 0; start < wr.Length; start += block)
        {
            // Blocked: each block is summed from zero, then added; the running statistic sees both kinds of partial sum.
            double part = block == 1 ? acc : 0;
            for (int j = start; j < Math.Min(start + block, wr.Length); j++)
            {
                double p = (double)wr[j] * x[j];
                part = f.RoundSum(part, p);
                stat.Add(part, p);
            }
            if (block == 1) acc = part;
            else { acc = f.RoundSum(acc, part); stat.Add(acc, 0); }
        }
        running = stat.Value;
        return acc;
    }

    private struct RunningStat
    {
        private double _s2, _p2;
        public void Add(double partial, double product) { _s2 += partial * partial; _p2 += product * product; }
        public readonly double Value => Math.Sqrt(_s2) + Math.Sqrt(2 * _p2);
    }

    private static double DotI8(ReadOnlySpan<float> w, ReadOnlySpan<float> x, double bias, RunningStat? running, out double estimate)
    {
        double s = bias;
        var stat = running ?? default;
        for (int j = 0; j < w.Length; j++)
        {
            double p = (double)w[j] * x[j];
            s += p;
            if (running is not null) stat.Add(s, p);
        }
        estimate = running is null ? 0 : stat.Value;
        return s;
    }

    private enum Est { Fused, RowNorm, Running }

    private static Est ParseEstimator(string name) => name switch
    {
        "fused" => Est.Fused,
        "rownorm" => Est.RowNorm,
        "running" => Est.Running,
        _ => throw new EmaException($"unknown estimator '{name}' (fused, rownorm, running)"),
    };

    /// <summary>A copy of the model whose Dense/Conv weights and biases are rounded to f (the other tensors are shared).</summary>
    private static EmaModel RoundWeights(EmaModel m, FloatFormat f)
    {
        var g = m.Graph;
        var r = new ModelGraph();
        r.Values.AddRange(g.Values); r.Nodes.AddRange(g.Nodes); r.Inputs.AddRange(g.Inputs); r.Outputs.AddRange(g.Outputs);
        var layerTensors = new HashSet<int>();
        foreach (var l in g.Nodes.OfType<LayerNode>())
        {
            layerTensors.Add(g.Values[l.Weight].Constant);
            if (l.Bias >= 0) layerTensors.Add(g.Values[l.Bias].Constant);
        }
        for (int t = 0; t < g.Tensors.Count; t++)
        {
            var td = g.Tensors[t];
            r.Tensors.Add(layerTensors.Contains(t) ? TensorData.FromFloat32(td.Name, td.Shape, Array.ConvertAll(td.ToFloat32(), v => (float)f.Round(v))) : td);
        }
        return new EmaModel(m.Metadata, r);
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
