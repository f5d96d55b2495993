using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>
/// Seeded generator of valid random models, built through <see cref="GraphBuilder"/> so that every
/// output shape comes from shape inference. Each graph is a random mix of all ops (Dense on rank-2 and
/// higher inputs, Conv 1D/2D with random strides, pads, dilations and groups incl. depthwise, Max/Average
/// pools incl. ceil_mode and count_include_pad, GlobalAveragePool, broadcasting Add, Flatten, Reshape with
/// 0 and -1, Softmax, Concat, stand-alone activations), every activation with parameters, every precision
/// with a matching weight dtype, random plans, fp32/fp16/int8 tensors, symbolic batch inputs, metadata
/// with and without normalisation and labels, and non-ASCII names. The same seed always gives the same model.
/// </summary>
public static class RandomModels
{
    /// <summary>Ops the generator draws from, one entry each.</summary>
    public enum Step { Dense, Conv, MaxPool, AveragePool, GlobalAveragePool, Add, Flatten, Reshape, Softmax, Concat, Activation, LayerNorm, Transpose }

    /// <summary>A random valid model. <paramref name="steps"/> bounds the number of ops attempted.</summary>
    public static EmaModel Generate(int seed, int steps = 12) => new Gen(seed).Build(steps);

    /// <summary>A random activation with parameters that pass validation (Clip ordered, alpha finite).</summary>
    public static Activation RandomActivation(Random rng)
    {
        var kind = (ActivationKind)rng.Next(9);
        return kind switch
        {
            ActivationKind.LeakyRelu => Activation.LeakyRelu(rng.Next(4) == 0 ? 0f : (float)(rng.NextDouble() * 0.6 - 0.1)),
            ActivationKind.Clip => rng.Next(5) switch
            {
                0 => Activation.Relu6,
                1 => Activation.Clip(float.NegativeInfinity, (float)rng.NextDouble() * 4),
                2 => Activation.Clip(1.5f, 1.5f),
                _ => RandomClip(rng),
            },
            ActivationKind.LeakyReluClip => RandomClip(rng) with { Kind = kind, Alpha = (float)(rng.NextDouble() * 0.6 - 0.1) },
            _ => new Activation(kind),
        };

        static Activation RandomClip(Random rng)
        {
            float lo = (float)(rng.NextDouble() * 4 - 3);
            return Activation.Clip(lo, lo + (float)(rng.NextDouble() * 6));
        }
    }

    /// <summary>A random plan for the given precision (every estimator, tau incl. +inf and 0, input scales).</summary>
    public static LayerPlan RandomPlan(Random rng, Precision precision)
    {
        var est = (EstimatorKind)rng.Next(3);
        return new LayerPlan(
            Precision: precision,
            Tau: RandomTau(rng),
            Estimator: est,
            BlockSize: est == EstimatorKind.Blocked ? (rng.Next(3) == 0 ? 1 : rng.Next(1, 129)) : 0,
            TauNegative: RandomTau(rng),
            InputScale: rng.Next(3) == 0 ? 0f : (float)(rng.NextDouble() * 0.1) + 1e-6f);
    }

    private static float RandomTau(Random rng) => rng.Next(5) switch
    {
        0 => float.PositiveInfinity,
        1 => 0f,
        2 => float.Epsilon, // subnormal: must survive bit for bit
        _ => (float)(rng.NextDouble() * 8),
    };

    /// <summary>A random tensor of the given dtype: finite fp32/fp16 values (incl. -0 and subnormals),
    /// int8 in [-127, 127] with one non-negative scale per row.</summary>
    public static TensorData RandomTensor(Random rng, string name, TensorDType dtype, int[] shape)
    {
        long n = Shapes.Elements(shape, name);
        switch (dtype)
        {
            case TensorDType.Float32:
            {
                var v = new float[n];
                for (int i = 0; i < v.Length; i++)
                    v[i] = rng.Next(16) switch
                    {
                        0 => 0f,
                        1 => -0f,
                        2 => float.Epsilon * rng.Next(1, 1000) * (rng.Next(2) == 0 ? 1 : -1),
                        _ => (float)(rng.NextDouble() * 4 - 2),
                    };
                return TensorData.FromFloat32(name, shape, v);
            }
            case TensorDType.Float16:
            {
                var v = new Half[n];
                for (int i = 0; i < v.Length; i++)
                    v[i] = rng.Next(16) switch
                    {
                        0 => (Half)(-0f),
                        1 => Half.Epsilon,
                        _ => (Half)(rng.NextDouble() * 4 - 2),
                    };
                return TensorData.FromFloat16(name, shape, v);
            }
            case TensorDType.Int8:
            {
                var q = new sbyte[n];
                for (int i = 0; i < q.Length; i++) q[i] = (sbyte)rng.Next(-127, 128);
                var s = new float[TensorData.ScaleCount(shape)];
                for (int i = 0; i < s.Length; i++) s[i] = rng.Next(10) == 0 ? 0f : (float)(rng.NextDouble() * 0.05) + 1e-4f;
                return TensorData.FromInt8(name, shape, q, s);
            }
            default: throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }

    private static readonly string[] NameParts =
    [
        "x", "dense", "conv", "naïve", "ñandú", "中文", "тест", "Ωμέγα", "🙂", "e\u0301", "a b", "tab\tname",
        "quote\"'", "層/1", "𝔘𝔫𝔦", "",
    ];

    /// <summary>A unique name: a random, often non-ASCII, fragment plus a counter.</summary>
    public static string RandomName(Random rng, string prefix, int unique)
        => $"{prefix}{NameParts[rng.Next(NameParts.Length)]}{(rng.Next(3) == 0 ? NameParts[rng.Next(NameParts.Length)] : "")}#{unique}";

    private const long MaxItemElements = 4096;

    private sealed class Gen(int seed)
    {
        private readonly Random _rng = new(seed);
        private readonly GraphBuilder _b = new();
        private readonly List<int> _pool = [];
        private int _unique;

        private int[] S(int v) => _b.Graph.Values[v].Shape;
        private string Name(string prefix) => RandomName(_rng, prefix, _unique++);
        private T Pick<T>(IReadOnlyList<T> list) => list[_rng.Next(list.Count)];
        private bool Coin(int oneIn = 2) => _rng.Next(oneIn) == 0;

        public EmaModel Build(int steps)
        {
            int inputs = _rng.Next(1, 4);
            for (int i = 0; i < inputs; i++) _pool.Add(_b.Input(Name("in:"), RandomInputShape()));
            int last = _pool[^1];
            int count = _rng.Next(Math.Min(3, steps), steps + 1);
            for (int made = 0, attempts = 0; made < count && attempts < 20 * steps; attempts++)
            {
                var step = (Step)_rng.Next(Enum.GetValues<Step>().Length);
                // Prefer recent values so chains get deep, but reach back sometimes.
                int x = Coin(3) ? Pick(_pool) : _pool[^1];
                int? y = TryStep(step, x);
                if (y is null) continue;
                _pool.Add(y.Value);
                last = y.Value;
                made++;
            }
            _b.Output(last);
            foreach (int v in _pool.OrderBy(_ => _rng.Next()).Take(_rng.Next(3)))
                if (v != last) _b.Output(v);
            return new EmaModel(RandomMetadata(), _b.Graph);
        }

        private int[] RandomInputShape()
        {
            int batch = Coin() ? Shapes.Batch : _rng.Next(1, 4);
            return _rng.Next(4) switch
            {
                0 => [batch, _rng.Next(1, 9)],
                1 => [batch, _rng.Next(1, 5), _rng.Next(1, 9)],
                2 => [batch, _rng.Next(1, 7), _rng.Next(3, 13)],
                _ => [batch, _rng.Next(1, 7), _rng.Next(3, 11), _rng.Next(3, 11)],
            };
        }

        private static long PerItem(int[] s)
        {
            long n = 1;
            for (int i = 0; i < s.Length; i++) if (s[i] != Shapes.Batch) n *= s[i];
            return n;
        }

        private int? TryStep(Step step, int x) => step switch
        {
            Step.Dense => Dense(x),
            Step.Conv => Conv(x),
            Step.MaxPool => Pool(x, max: true),
            Step.AveragePool => Pool(x, max: false),
            Step.GlobalAveragePool => S(x).Length >= 3 ? _b.GlobalAveragePool(x, Name("gap:")) : null,
            Step.Add => Add(x),
            Step.Flatten => Flatten(x),
            Step.Reshape => Reshape(x),
            Step.Softmax => Softmax(x),
            Step.Concat => Concat(x),
            Step.Activation => _b.Act(x, RandomActivation(_rng), Name("act:")),
            Step.LayerNorm => LayerNorm(x),
            Step.Transpose => Transpose(x),
            _ => null,
        };

        private (LayerPlan Plan, TensorDType WeightType) RandomLayerPlan()
        {
            var precision = (Precision)_rng.Next(3);
            var dtype = precision switch
            {
                Precision.I8 => TensorDType.Int8,
                Precision.F16Acc => TensorDType.Float16,
                _ => (TensorDType)_rng.Next(1, 4),
            };
            return (RandomPlan(_rng, precision), dtype);
        }

        private TensorData? RandomBias(int m) => Coin() ? null : RandomTensor(_rng, Name("b:"), TensorDType.Float32, [m]);

        private int? Dense(int x)
        {
            var s = S(x);
            if (s.Length < 2 || s[^1] < 1) return null;
            int m = _rng.Next(1, 9);
            var (plan, wt) = RandomLayerPlan();
            var w = RandomTensor(_rng, Name("W:"), wt, [m, s[^1]]);
            return _b.Dense(x, w, RandomBias(m), RandomActivation(_rng), plan, Name("dense:"));
        }

        private int? Conv(int x)
        {
            var s = S(x);
            if (s.Length is not (3 or 4)) return null;
            int sp = s.Length - 2, c = s[1];
            var divisors = Enumerable.Range(1, c).Where(d => c % d == 0).ToList();
            int groups = _rng.Next(3) switch { 0 => 1, 1 => c, _ => Pick(divisors) }; // c: depthwise
            int m = groups * _rng.Next(1, 3);
            var kernel = new int[sp]; var strides = new int[sp]; var pads = new int[2 * sp]; var dil = new int[sp];
            bool defaults = Coin(4);
            for (int i = 0; i < sp; i++)
            {
                kernel[i] = _rng.Next(1, 4);
                if (!defaults)
                {
                    strides[i] = _rng.Next(1, 4); dil[i] = _rng.Next(1, 3);
                    pads[i] = _rng.Next(3); pads[i + sp] = _rng.Next(3);
                }
                else { strides[i] = 1; dil[i] = 1; }
                if (dil[i] * (kernel[i] - 1) + 1 > s[2 + i] + pads[i] + pads[i + sp]) { kernel[i] = 1; dil[i] = 1; }
            }
            var (plan, wt) = RandomLayerPlan();
            var w = RandomTensor(_rng, Name("K:"), wt, [m, c / groups, .. kernel]);
            return _b.Conv(x, w, RandomBias(m), defaults ? null : strides, defaults ? null : pads, defaults ? null : dil,
                groups, RandomActivation(_rng), plan, Name("conv:"));
        }

        private int? Pool(int x, bool max)
        {
            var s = S(x);
            if (s.Length is not (3 or 4)) return null;
            int sp = s.Length - 2;
            var kernel = new int[sp]; var strides = new int[sp]; var pads = new int[2 * sp]; var dil = new int[sp];
            bool defaultPads = Coin(4), defaultDil = !max || Coin(4);
            for (int i = 0; i < sp; i++)
            {
                kernel[i] = _rng.Next(1, 4); strides[i] = _rng.Next(1, 4); dil[i] = defaultDil ? 1 : _rng.Next(1, 3);
                if (!defaultPads) { pads[i] = _rng.Next(kernel[i]); pads[i + sp] = _rng.Next(kernel[i]); }
                if (dil[i] * (kernel[i] - 1) + 1 > s[2 + i] + pads[i] + pads[i + sp]) { kernel[i] = 1; dil[i] = 1; pads[i] = pads[i + sp] = 0; }
            }
            bool ceil = Coin();
            var st = Coin(4) ? null : strides;
            var pd = defaultPads ? null : pads;
            return max
                ? _b.MaxPool(x, kernel, st, pd, defaultDil ? null : dil, ceil, Name("maxpool:"))
                : _b.AveragePool(x, kernel, st, pd, countIncludePad: Coin(), ceilMode: ceil, name: Name("avgpool:"));
        }

        private int? Add(int x)
        {
            var s = S(x);
            switch (_rng.Next(3))
            {
                case 0:
                    return _b.Add(x, x, Name("add:"));
                case 1:
                    var same = _pool.Where(v => v != x && Shapes.SameAs(S(v), s)).ToList();
                    if (same.Count > 0) return Coin() ? _b.Add(x, Pick(same), Name("add:")) : _b.Add(Pick(same), x, Name("add:"));
                    goto default;
                default:
                    // A constant that broadcasts: drop some leading dims, set others to 1 (never a batch dim).
                    int drop = _rng.Next(s.Length + 1);
                    var cs = s.Skip(drop).Select(d => d == Shapes.Batch || Coin(3) ? 1 : d).ToArray();
                    int c = _b.Constant(RandomTensor(_rng, Name("bias:"), (TensorDType)_rng.Next(1, 4), cs));
                    return Coin() ? _b.Add(x, c, Name("add:")) : _b.Add(c, x, Name("add:"));
            }
        }

        private int? Flatten(int x)
        {
            var s = S(x);
            bool batch = s.Length > 0 && s[0] == Shapes.Batch;
            var axes = Enumerable.Range(0, s.Length + 1)
                .Where(a => !batch || (a >= 1 && s.AsSpan(1, a - 1).ToArray().All(d => d == 1)))
                .ToList();
            int axis = Pick(axes);
            if (axis < s.Length && Coin(3)) axis -= s.Length;
            return _b.Flatten(x, axis, Name("flatten:"));
        }

        private int? Reshape(int x)
        {
            var s = S(x);
            bool batch = s.Length > 0 && s[0] == Shapes.Batch;
            long total = PerItem(s);
            var factors = new List<int>();
            for (long n = total, p = 2; n > 1;)
            {
                if (p * p > n) { factors.Add((int)n); break; }
                if (n % p == 0) { factors.Add((int)p); n /= p; } else p++;
            }
            int rank = _rng.Next(1, 5);
            var dims = Enumerable.Repeat(1, rank).ToArray();
            foreach (int f in factors) dims[_rng.Next(rank)] *= f;
            int[] target;
            if (batch)
            {
                // [-1, d...] lets -1 absorb the batch; [0, d...] copies it (and may infer one d).
                if (Coin()) target = [-1, .. dims];
                else
                {
                    target = [0, .. dims];
                    if (Coin()) target[1 + _rng.Next(rank)] = -1;
                }
            }
            else
            {
                target = dims;
                for (int i = 0; i < target.Length && i < s.Length; i++)
                    if (target[i] == s[i] && Coin()) target[i] = 0;
                if (Coin()) target[_rng.Next(rank)] = -1;
            }
            return _b.Reshape(x, target, Name("reshape:"));
        }

        private int? LayerNorm(int x)
        {
            var s = S(x);
            if (s.Length < 2) return null;
            int axis = _rng.Next(1, s.Length);
            var norm = s[axis..];
            float eps = Coin() ? 1e-5f : (float)_rng.NextDouble() * 1e-3f;
            var scale = RandomTensor(_rng, Name("ln.scale:"), TensorDType.Float32, norm);
            var bias = Coin() ? RandomTensor(_rng, Name("ln.bias:"), TensorDType.Float32, norm) : null;
            return _b.LayerNorm(x, scale, bias, Coin() ? axis - s.Length : axis, eps, Name("layernorm:"));
        }

        private int? Transpose(int x)
        {
            var s = S(x);
            int keep = s.Length > 0 && s[0] == Shapes.Batch ? 1 : 0;
            if (s.Length - keep < 2) return null;
            var rest = Enumerable.Range(keep, s.Length - keep).OrderBy(_ => _rng.Next()).ToArray();
            return _b.Transpose(x, [.. Enumerable.Range(0, keep), .. rest], Name("transpose:"));
        }

        private int? Softmax(int x)
        {
            var s = S(x);
            var axes = Enumerable.Range(0, s.Length).Where(a => s[a] != Shapes.Batch).ToList();
            if (axes.Count == 0) return null;
            int axis = Pick(axes);
            if (Coin()) axis -= s.Length;
            return _b.Softmax(x, axis, Name("softmax:"));
        }

        private int? Concat(int x)
        {
            var s = S(x);
            var axes = Enumerable.Range(0, s.Length).Where(a => s[a] != Shapes.Batch).ToList();
            if (axes.Count == 0) return null;
            int axis = Pick(axes);
            bool Fits(int[] o) => o.Length == s.Length && Enumerable.Range(0, s.Length).All(i => i == axis || o[i] == s[i]);
            var parts = new List<int> { x };
            var others = _pool.Where(v => v != x && Fits(S(v))).ToList();
            for (int k = _rng.Next(3); k > 0; k--) parts.Add(others.Count > 0 && Coin() ? Pick(others) : x);
            if (s[0] != Shapes.Batch && Coin())
            {
                var cs = (int[])s.Clone();
                cs[axis] = _rng.Next(1, 4);
                parts.Add(_b.Constant(RandomTensor(_rng, Name("cat:"), (TensorDType)_rng.Next(1, 4), cs)));
            }
            parts = parts.OrderBy(_ => _rng.Next()).ToList();
            long along = parts.Sum(p => (long)S(p)[axis]);
            if (PerItem(s) / Math.Max(1, s[axis]) * along > MaxItemElements) return null;
            int ax = Coin() ? axis - s.Length : axis;
            return _b.Concat(ax, parts.ToArray(), Name("concat:"));
        }

        private ModelMetadata RandomMetadata()
        {
            var g = _b.Graph;
            var m = new ModelMetadata
            {
                ModelName = Name("model "),
                ConverterVersion = Coin() ? "" : $"ema-convert 0.{_rng.Next(10)}.{_rng.Next(10)} ✓",
            };
            if (Coin()) _rng.NextBytes(m.SourceSha256);
            if (Coin())
            {
                var first = g.Values[g.Inputs[0]].Shape;
                int n = Coin() ? 1 : first[1];
                var mean = Enumerable.Range(0, n).Select(_ => (float)(_rng.NextDouble() * 2 - 1)).ToArray();
                var std = Enumerable.Range(0, n).Select(_ => (float)_rng.NextDouble() + 0.01f).ToArray();
                m.Normalization = new InputNormalization(mean, std);
            }
            var outShape = g.Values[g.Outputs[0]].Shape;
            if (outShape.Length > 0 && outShape[^1] is > 0 and <= 64 && Coin())
                for (int i = 0; i < outShape[^1]; i++) m.Labels.Add(Name("class "));
            return m;
        }
    }
}
