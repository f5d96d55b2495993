using EdgeMixedAccum.Format;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Runtime.Tests.Reliability;

/// <summary>
/// Issue 8, numerical hostility, through Session.Run in every mode (f32, i8, f16acc, adaptive) on fixtures of every
/// plan (int8 MLP, fp16 MLP, fp32 MLP, int8 Conv1D): NaN/Inf inputs, inputs that overflow fp16, all-zero inputs and
/// denormals. The behaviour each test pins is the one docs/reliability.md ("Numerical hostility") states.
/// </summary>
public class NumericalHostilityTests
{
    public static readonly string[] Fixtures =
    [
        "tests/fixtures/fmnist-mlp-tanh.ema",      // int8 weights, i8 plans
        "tests/fixtures/baro-mlp.ema",             // fp16 weights, f16acc plans
        "tests/fixtures/gesture/gesture-mlp.ema",  // fp32 weights and plans
        "tests/fuzz/corpus/ema/conv1d-i8.ema",     // Conv1D + pools, int8
    ];

    public static readonly RunMode[] Modes = [RunMode.F32, RunMode.I8, RunMode.F16Acc, RunMode.Adaptive];

    public static IEnumerable<object[]> Cases() =>
        from f in Fixtures from m in Modes select new object[] { f, m };

    private static readonly Dictionary<string, EmaModel> Models = new();
    private static EmaModel Model(string f)
    {
        lock (Models)
        {
            if (!Models.TryGetValue(f, out var m)) Models[f] = m = EmaReader.Read(Path.Combine(TestPaths.Root, f));
            return m;
        }
    }

    /// <summary>Seeded inputs of a plausible scale: the model's own normalisation undone (mean + std * N(0,1)-ish).</summary>
    private static float[] Input(Session s, int seed, int batch = 1)
    {
        var rng = new Random(seed);
        var norm = s.Model.Metadata.Normalization;
        float mean = norm?.Mean[0] ?? 0, std = norm?.Std[0] ?? 1;
        var x = new float[batch * s.InputLength];
        for (int i = 0; i < x.Length; i++) x[i] = mean + std * (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    private static float[] Run(Session s, float[] x)
    {
        var y = new float[s.OutputLength * (x.Length / s.InputLength)];
        s.Run(x, y, x.Length / s.InputLength);
        return y;
    }

    private static long NonFinite(Session s) => s.LastReport.Layers.Sum(l => l.NonFinite);

    [Theory]
    [MemberData(nameof(Cases))]
    public void NonFiniteInput_IsRejectedByDefault_NamingTheElement_AndTheSessionStaysUsable(string fixture, RunMode mode)
    {
        using var s = new Session(Model(fixture), new SessionOptions { Mode = mode });
        var x = Input(s, 1);
        var good = Run(s, x);
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            int k = s.InputLength / 2 + 1;
            var xb = (float[])x.Clone();
            xb[k] = bad;
            var y = Enumerable.Repeat(-7f, s.OutputLength).ToArray();
            var e = Assert.Throws<EmaException>(() => s.Run(xb, y));
            Assert.Contains($"input element {k} (sample 0) is {bad}", e.Message);
            Assert.Contains("inputs must be finite", e.Message);
            Assert.All(y, v => Assert.Equal(-7f, v)); // nothing written
            Assert.Equal(good, Run(s, x));           // the next good run gives the same bits as before
        }
    }

    [Fact]
    public void NonFiniteInput_InABatch_NamesTheSample()
    {
        using var s = new Session(Model(Fixtures[0]), new SessionOptions { Mode = RunMode.Adaptive, MaxBatch = 4 });
        var x = Input(s, 2, batch: 4);
        x[2 * s.InputLength + 5] = float.NaN;
        var e = Assert.Throws<EmaException>(() => Run(s, x));
        Assert.Contains($"input element {2 * s.InputLength + 5} (sample 2) is NaN", e.Message);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void NaNInput_WhenAllowed_NeverVanishesSilently(string fixture, RunMode mode)
    {
        // RejectNonFiniteInput = false: a NaN must show in the outputs or in the report's non-finite count.
        using var s = new Session(Model(fixture), new SessionOptions { Mode = mode, RejectNonFiniteInput = false });
        var x = Input(s, 3);
        x[1] = float.NaN;
        var y = Run(s, x);
        bool visible = y.Any(float.IsNaN) || NonFinite(s) > 0;
        Assert.True(visible, $"{mode}: NaN input gave finite outputs {string.Join(", ", y)} and no non-finite count");
        if (mode is RunMode.F32) Assert.Contains(y, float.IsNaN); // IEEE propagation, nothing to recompute
        if (mode is RunMode.I8 or RunMode.F16Acc) Assert.True(s.LastReport.Layers[0].NonFinite > 0, "the first low layer counts its non-finite components");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void InputsThatOverflowFp16_AreFlaggedInF16Acc_AndRecoveredByAdaptive(string fixture, RunMode mode)
    {
        var model = Model(fixture);
        using var f32 = new Session(model, new SessionOptions { Mode = RunMode.F32 });
        using var s = new Session(model, new SessionOptions { Mode = mode });
        var x = Input(s, 4);
        for (int i = 0; i < x.Length; i++) x[i] = 1e6f * (1 + Math.Abs(x[i])); // every element beyond fp16's 65504
        var reference = Run(f32, x);
        var y = Run(s, x);
        Assert.DoesNotContain(reference, v => float.IsNaN(v)); // the inputs are finite: the fp32 path stays defined
        switch (mode)
        {
            case RunMode.F16Acc:
                Assert.True(s.LastReport.Layers[0].NonFinite > 0, "an fp16 overflow is counted as non-finite");
                break;
            case RunMode.Adaptive:
                // Every overflowed component is flagged and recomputed in fp32: the answer is the fp32 one.
                double scale = reference.Max(v => Math.Abs((double)v));
                for (int i = 0; i < y.Length; i++)
                    Assert.True(Math.Abs(y[i] - reference[i]) <= 1e-3 * scale + 1e-6, $"output {i}: {y[i]} vs fp32 {reference[i]}");
                Assert.True(s.LastReport.Layers.All(l => l.Flagged >= l.NonFinite));
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AllZeroInput_GivesFiniteOutputs_CloseToFp32(string fixture, RunMode mode)
    {
        var model = Model(fixture);
        using var f32 = new Session(model, new SessionOptions { Mode = RunMode.F32 });
        using var s = new Session(model, new SessionOptions { Mode = mode });
        var x = new float[s.InputLength];
        var reference = Run(f32, x);
        var y = Run(s, x);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(0, NonFinite(s));
        // Uniform low modes keep their low-precision error; adaptive is held to its tau (a few per mille).
        double scale = Math.Max(1, reference.Max(v => Math.Abs((double)v)));
        double tol = mode == RunMode.Adaptive || mode == RunMode.F32 ? 1e-2 : 5e-2;
        for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - reference[i]) <= tol * scale, $"output {i}: {y[i]} vs fp32 {reference[i]}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DenormalInputs_BehaveAsTheTinyValuesTheyAre(string fixture, RunMode mode)
    {
        using var s = new Session(Model(fixture), new SessionOptions { Mode = mode });
        var zero = Run(s, new float[s.InputLength]);
        foreach (var gen in new Func<int, float>[] { _ => 1e-40f, i => i % 2 == 0 ? 0 : -1e-42f, i => float.Epsilon * (i % 7) })
        {
            var x = Enumerable.Range(0, s.InputLength).Select(gen).ToArray();
            Assert.Contains(x, v => v != 0 && !float.IsNormal(v));
            var y = Run(s, x);
            Assert.Equal(0, NonFinite(s));
            // Inputs below 1e-38 move no output of these models by more than rounding: the zero input's answer.
            for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - zero[i]) <= 1e-5 * Math.Max(1, Math.Abs(zero[i])), $"output {i}: {y[i]} vs {zero[i]} for zero");
        }
    }

    [Fact]
    public void TinyInputs_DoNotFlagEveryInt8Component()
    {
        using var s = new Session(Model(Fixtures[0]), new SessionOptions { Mode = RunMode.Adaptive });
        var x = Enumerable.Range(0, s.InputLength).Select(i => i % 2 == 0 ? 0f : 1e-38f).ToArray();
        Run(s, x);
        Assert.True(s.LastReport.Layers[0].Flagged < s.LastReport.Layers[0].Components / 2);
    }
}
