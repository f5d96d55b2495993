using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Tests.Activations;

/// <summary>The float hot path against the double formulas, and the span loops against per-element calls.</summary>
public class ActivationSpanTests
{
    /// <summary>Float inputs: a dense grid, every power of two (normals and subnormals) with small offsets,
    /// random floats over all exponents, and the special values.</summary>
    private static float[] FloatInputs()
    {
        var list = new List<float> { 0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, -float.MaxValue,
            float.PositiveInfinity, float.NegativeInfinity, 6f, -1f, 1f, -2.5f, -0.5f };
        for (int k = -4000; k <= 4000; k++)
            list.Add(k * 0.01f);
        for (int e = -149; e <= 127; e++)
            foreach (float m in new[] { 1f, 1.37f, 1.9f })
            {
                float v = m * MathF.Pow(2f, e);
                list.Add(v);
                list.Add(-v);
            }
        var rng = new Random(12345);
        for (int i = 0; i < 4000; i++)
            list.Add(BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue)) is var f && float.IsFinite(f) ? f : 1f);
        return [.. list];
    }

    /// <summary>
    /// Phi(float) within 4 float ulps of the double phi rounded to float, for every kind. The piecewise-linear
    /// kinds are exact (0 ulps); tanh uses MathF.Tanh and sigmoid float exp; SiLU and GELU evaluate in double.
    /// </summary>
    [Theory]
    [MemberData(nameof(ActivationCases.Data), MemberType = typeof(ActivationCases))]
    public void Float_phi_is_within_a_few_ulps_of_double_phi(Activation a)
    {
        long worst = 0;
        float worstAt = 0;
        foreach (float t in FloatInputs())
        {
            float f = ActivationMath.Phi(a, t);
            float d = (float)ActivationMath.Phi(a, (double)t);
            long ulps = ActivationCases.UlpDistance(f, d);
            if (ulps > worst)
            {
                worst = ulps;
                worstAt = t;
            }
        }
        long allowed = ActivationCases.IsPiecewiseLinear(a) || a.Kind == ActivationKind.Identity ? 0 : 4;
        Assert.True(worst <= allowed, $"{a}: {worst} ulps at t = {worstAt:R}");
    }

    private static float[] RandomFloats(Random rng, int n)
    {
        var s = new float[n];
        for (int i = 0; i < n; i++)
            s[i] = (i % 11) switch
            {
                0 => float.NaN,
                1 => 0f,
                2 => float.NegativeInfinity,
                3 => (float)(rng.NextDouble() * 1e-3 - 5e-4),
                _ => (float)(rng.NextDouble() * 24 - 12),
            };
        rng.Shuffle(s);
        return s;
    }

    [Theory]
    [MemberData(nameof(ActivationCases.Data), MemberType = typeof(ActivationCases))]
    public void Span_loops_equal_per_element_calls_including_in_place(Activation a)
    {
        var rng = new Random(7);
        var kinks = ActivationCases.SingularPoints(a);
        for (int n = 0; n <= 37; n++)
        {
            float[] s = RandomFloats(rng, n);
            // Some elements exactly on a kink (a clamp bound, or its preimage on the leaky side), in vector blocks:
            // where a float compare can disagree with the element form's exact one.
            for (int i = 5; i < n && kinks.Length > 0; i += 7) s[i] = (float)kinks[i % kinks.Length];
            double[] sd = s.Select(v => (double)v * (1 + 1e-9)).ToArray();

            var y = new float[n + 3]; // longer destination: only the first n are written
            Array.Fill(y, 42f);
            ActivationMath.Apply(a, s, y);
            var k = new float[n];
            ActivationMath.Kappa(a, s, k);
            var yd = new double[n];
            ActivationMath.Apply(a, sd, yd);
            var kd = new double[n];
            ActivationMath.Kappa(a, sd, kd);
            for (int i = 0; i < n; i++)
            {
                // A vectorised span form (IActivationOp.PhiSpan/KappaSpan, e.g. tanh) may differ from the element
                // form by rounding: both stay within 1 ulp of the double value rounded to float.
                float phiRef = (float)ActivationMath.Phi(a, (double)s[i]);
                Assert.True(ActivationCases.UlpDistance(y[i], phiRef) <= 1 || y[i] == ActivationMath.Phi(a, s[i]),
                    $"{a.Kind} phi({s[i]:R}): span {y[i]:R}, element {ActivationMath.Phi(a, s[i]):R}, double {phiRef:R}");
                float kRef = (float)ActivationMath.Kappa(a, (double)s[i]);
                Assert.True(k[i] == kRef || ActivationCases.UlpDistance(k[i], kRef) <= 1, $"{a.Kind} kappa({s[i]:R}): span {k[i]:R}, double {kRef:R}");
                Assert.Equal(ActivationMath.Phi(a, sd[i]), yd[i]);
                Assert.Equal(ActivationMath.Kappa(a, sd[i]), kd[i]);
            }
            Assert.All(y[n..], v => Assert.Equal(42f, v));

            // In place: source and destination are the same span.
            float[] buf = (float[])s.Clone();
            ActivationMath.Apply(a, buf, buf);
            Assert.Equal(y[..n], buf);
            buf = (float[])s.Clone();
            ActivationMath.Kappa(a, buf, buf);
            Assert.Equal(k, buf);
            double[] bufd = (double[])sd.Clone();
            ActivationMath.Apply(a, bufd, bufd);
            Assert.Equal(yd, bufd);
            bufd = (double[])sd.Clone();
            ActivationMath.Kappa(a, bufd, bufd);
            Assert.Equal(kd, bufd);
        }
    }

    [Fact]
    public void Tanh_vector_span_handles_special_and_boundary_values()
    {
        // Long enough for the vector loop: NaN, ±inf, ±0, subnormal, either side of the series switch (2^-20),
        // the old scalar switch (0.5), saturation, float max.
        float[] s = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1e-40f, MathF.ScaleB(1, -20) * 0.999f,
            MathF.ScaleB(1, -20) * 1.001f, -0.4999f, 0.5001f, 3f, -9.1f, 20f, float.MaxValue, -float.MaxValue, 1e-3f];
        var y = new float[s.Length];
        var k = new float[s.Length];
        ActivationMath.Apply(Activation.Tanh, s, y);
        ActivationMath.Kappa(Activation.Tanh, s, k);
        for (int i = 0; i < s.Length; i++)
        {
            float phiRef = (float)Math.Tanh(s[i]);
            float kRef = (float)ActivationMath.Kappa(Activation.Tanh, (double)s[i]);
            Assert.True(ActivationCases.UlpDistance(y[i], phiRef) <= 1, $"tanh({s[i]:R}) = {y[i]:R}, want {phiRef:R}");
            Assert.True(ActivationCases.UlpDistance(k[i], kRef) <= 1, $"kappa({s[i]:R}) = {k[i]:R}, want {kRef:R}");
        }
        Assert.True(float.IsNegative(y[4]) && y[4] == 0, "tanh(-0) keeps its sign");
    }

    [Fact]
    public void Relu_vector_span_keeps_nan_and_signed_zero_rules()
    {
        float[] s = [float.NaN, -0f, 0f, -1f, 2f, float.NegativeInfinity, float.PositiveInfinity, -1e-45f, 3f];
        var y = new float[s.Length];
        var k = new float[s.Length];
        ActivationMath.Apply(Activation.Relu, s, y);
        ActivationMath.Kappa(Activation.Relu, s, k);
        for (int i = 0; i < s.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(MathF.Max(s[i], 0f)), BitConverter.SingleToInt32Bits(y[i]));
            Assert.Equal((float)ActivationMath.Kappa(Activation.Relu, (double)s[i]), k[i]);
        }
    }

    [Fact]
    public void Generic_loops_are_usable_directly()
    {
        float[] s = [-2f, -0.5f, 0f, 3f, 7f];
        var y = new float[5];
        ActivationMath.Apply<ClipOp>(s, y, ActivationParams.From(Activation.Relu6));
        Assert.Equal([0f, 0f, 0f, 3f, 6f], y);
        ActivationMath.Kappa<ClipOp>(s, y, ActivationParams.From(Activation.Relu6));
        Assert.Equal([0f, 0f, 1f, 1f, 0f], y);
        ActivationMath.Kappa<ReluOp>(s, y, default);
        Assert.Equal([0f, 0f, 1f, 1f, 1f], y);
        Assert.Equal(ActivationKind.Gelu, GeluOp.Kind);
    }

    [Fact]
    public void Span_entry_points_do_not_allocate()
    {
        var s = new float[64];
        var sd = new double[64];
        for (int i = 0; i < s.Length; i++)
            sd[i] = s[i] = (i - 32) * 0.37f;
        var y = new float[64];
        var yd = new double[64];
        void RunAll()
        {
            foreach (var a in ActivationCases.All)
            {
                ActivationMath.Apply(a, s, y);
                ActivationMath.Kappa(a, s, y);
                ActivationMath.Apply(a, sd, yd);
                ActivationMath.Kappa(a, sd, yd);
                ActivationMath.Apply(a, y, y);
                _ = ActivationMath.Phi(a, 0.5) + ActivationMath.Phi(a, 0.5f) + ActivationMath.Derivative(a, 0.5) + ActivationMath.Kappa(a, 0.5);
            }
        }
        RunAll(); // JIT and tiering out of the measurement
        Assert.Equal(0, SteadyStateAllocation.Least(RunAll).Bytes);
    }

    [Fact]
    public void Bad_spans_and_bad_parameters_are_rejected()
    {
        var s = new float[8];
        Assert.Throws<ArgumentException>(() => ActivationMath.Apply(Activation.Relu, s, new float[7]));
        Assert.Throws<ArgumentException>(() => ActivationMath.Kappa(Activation.Relu, s, new float[7]));
        Assert.Throws<ArgumentException>(() => ActivationMath.Apply(Activation.Relu, new double[3], new double[2]));
        // Partial overlap (shifted by one element) would read already-written outputs.
        Assert.Throws<ArgumentException>(() => ActivationMath.Apply(Activation.Tanh, s.AsSpan(0, 7), s.AsSpan(1, 7)));
        Assert.Throws<ArgumentException>(() => ActivationMath.Apply(Activation.Tanh, s.AsSpan(1, 7), s.AsSpan(0, 7)));
        ActivationMath.Apply(Activation.Tanh, s.AsSpan(0, 4), s.AsSpan(4, 4)); // disjoint halves are fine

        Assert.Throws<EmaException>(() => ActivationMath.Phi(Activation.Clip(2f, 1f), 0.0));
        Assert.Throws<EmaException>(() => ActivationMath.Phi(Activation.Clip(float.NaN, 1f), 0.0));
        Assert.Throws<EmaException>(() => ActivationMath.Kappa(Activation.LeakyRelu(float.NaN), 0.0));
        Assert.Throws<EmaException>(() => ActivationMath.Apply(Activation.LeakyRelu(float.PositiveInfinity), s, s));
        Assert.Throws<EmaException>(() => ActivationMath.Derivative(new Activation((ActivationKind)99), 0.0));
        Assert.Throws<EmaException>(() => ActivationMath.Apply(new Activation((ActivationKind)99), s, s));
        // Parameters a kind does not use are ignored.
        Assert.Equal(0.5, ActivationMath.Phi(new Activation(ActivationKind.Relu, float.NaN, 5f, 1f), 0.5));
    }

    /// <summary>The one-pass tanh and kappa (one exp per element, the engine's int8 Dense path) has the bits of the two
    /// separate passes on every input, length (every tail 0..15) and vector width, in place too; kinds that share no
    /// work say so and write nothing.</summary>
    [Fact]
    public void Tanh_and_kappa_in_one_pass_give_the_bits_of_two()
    {
        float[] x = [float.NaN, -float.NaN, .. FloatInputs()];
        var p = ActivationParams.From(Activation.Tanh);
        foreach (int len in new[] { 0, 1, 2, 3, 4, 5, 15, 16, 17, 31, x.Length, x.Length - 1, x.Length - 7, x.Length - 13 })
        {
            var s = x.AsSpan(0, len);
            var t1 = new float[len]; var k1 = new float[len];
            ActivationMath.Apply(Activation.Tanh, in p, s, t1);
            ActivationMath.Kappa(Activation.Tanh, in p, s, k1);
            foreach (bool wide in new[] { true, false })
            {
                var t2 = new float[len]; var k2 = new float[len];
                TanhVector.TanhAndKappa(s, t2, k2, wide);
                Assert.Equal(t1.Select(BitConverter.SingleToInt32Bits), t2.Select(BitConverter.SingleToInt32Bits));
                Assert.Equal(k1.Select(BitConverter.SingleToInt32Bits), k2.Select(BitConverter.SingleToInt32Bits));
            }
            var inPlace = s.ToArray(); var k3 = new float[len];
            Assert.True(ActivationMath.PhiAndKappa(Activation.Tanh, in p, inPlace, inPlace, k3));
            Assert.Equal(t1.Select(BitConverter.SingleToInt32Bits), inPlace.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(k1.Select(BitConverter.SingleToInt32Bits), k3.Select(BitConverter.SingleToInt32Bits));
        }
        var y = new float[8]; var k = new float[8];
        Assert.False(ActivationMath.PhiAndKappa(Activation.Relu, ActivationParams.From(Activation.Relu), x.AsSpan(0, 8), y, k));
        Assert.All(y.Concat(k), v => Assert.Equal(0f, v));
        var buf = new float[16];
        Assert.Throws<ArgumentException>(() => ActivationMath.PhiAndKappa(Activation.Tanh, in p, buf.AsSpan(0, 8), buf.AsSpan(8, 8), buf.AsSpan(0, 8)));
        Assert.Throws<ArgumentException>(() => ActivationMath.PhiAndKappa(Activation.Tanh, in p, buf.AsSpan(0, 8), buf.AsSpan(8, 8), buf.AsSpan(4, 8)));
        Assert.Throws<ArgumentException>(() => ActivationMath.PhiAndKappa(Activation.Tanh, in p, buf.AsSpan(0, 8), y, new float[7]));
    }

    /// <summary>tanh and its kappa in Vector512 double lanes (AVX-512) give the bits of the Vector128 lanes on every
    /// input, and no element depends on its position (lengths that leave every tail from 0 to 15). Passes trivially
    /// where Vector512 is not accelerated (both runs take the Vector128 loop).</summary>
    [Fact]
    public void Tanh_span_gives_the_same_bits_at_every_vector_width()
    {
        var x = FloatInputs();
        foreach (int len in new[] { x.Length, x.Length - 1, x.Length - 7, x.Length - 13, 15, 16, 17 })
        {
            var s = x.AsSpan(0, len);
            var wide = new float[len]; var narrow = new float[len];
            TanhVector.Tanh(s, wide, wide: true); TanhVector.Tanh(s, narrow, wide: false);
            Assert.Equal(narrow.Select(BitConverter.SingleToInt32Bits), wide.Select(BitConverter.SingleToInt32Bits));
            TanhVector.Kappa(s, wide, wide: true); TanhVector.Kappa(s, narrow, wide: false);
            Assert.Equal(narrow.Select(BitConverter.SingleToInt32Bits), wide.Select(BitConverter.SingleToInt32Bits));
        }
    }
}
