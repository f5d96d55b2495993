using System.Numerics;
using EdgeMixedAccum.Numerics;
using EdgeMixedAccum.Runtime.Kernels;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>
/// f16acc GEMV. Order under test (F16Gemv.cs): 8 fp16 lanes from +0; lane j%8 = fma16(w[j], x[j], lane);
/// y = ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)) in fp16; absDot the same in fp32. The oracle is
/// F16GemvReference (exact BigInteger rounding), which shares no code with the kernels.
/// </summary>
public class F16GemvTests
{
    private static Half H(ushort bits) => BitConverter.UInt16BitsToHalf(bits);
    private static ushort B(Half h) => BitConverter.HalfToUInt16Bits(h);

    [Fact]
    public void GoldenChecksumIsWhatTheExactReferenceComputes() =>
        Assert.Equal(F16GemvGolden.ExpectedChecksum, F16GemvGolden.Checksum(F16GemvReference.Gemv));

    /// <summary>Every variant this CPU runs (on x64: the scalar and Vector128 emulations).</summary>
    public static TheoryData<string> SupportedVariants()
    {
        var d = new TheoryData<string>();
        foreach (var v in F16Gemv.Variants)
            if (v.Supported) d.Add(v.Name);
        return d;
    }

    private static F16GemvFn Fn(string name) => F16Gemv.Variants.Single(v => v.Name == name).Fn;

    [Theory]
    [MemberData(nameof(SupportedVariants))]
    public void EmulationReproducesEveryGoldenBit(string variant)
    {
        var fn = Fn(variant);
        foreach (var c in F16GemvGolden.Cases)
        {
            var y = new Half[c.Rows];
            var a = c.WantAbs ? new float[c.Rows] : [];
            var yr = new Half[c.Rows];
            var ar = c.WantAbs ? new float[c.Rows] : [];
            fn(c.W, c.X, y, a, c.Rows, c.K);
            F16GemvReference.Gemv(c.W, c.X, yr, ar, c.Rows, c.K);
            for (int i = 0; i < c.Rows; i++)
                Assert.True(B(y[i]) == B(yr[i]), $"{c.Kind} k={c.K} row {i}: {B(y[i]):X4} vs exact {B(yr[i]):X4}");
            for (int i = 0; i < a.Length; i++)
                Assert.Equal(BitConverter.SingleToUInt32Bits(ar[i]), BitConverter.SingleToUInt32Bits(a[i]));
        }
        Assert.Equal(F16GemvGolden.ExpectedChecksum, F16GemvGolden.Checksum(fn));
    }

    [Fact]
    public void GoldenTableSpansTheCorners()
    {
        var cases = F16GemvGolden.Cases;
        Assert.Contains(cases, c => c.K == 0 && c.Rows > 0);
        Assert.Contains(cases, c => c.Rows == 0);
        Assert.True(Enumerable.Range(0, 6).All(r => cases.Any(c => c.Rows == r)));
        Assert.Contains(cases, c => c.K >= 1000);
        var outs = new List<ushort>();
        long ties0 = Interlocked.Read(ref F16GemvReference.Ties);
        foreach (var c in cases)
        {
            var y = new Half[c.Rows];
            F16GemvReference.Gemv(c.W, c.X, y, [], c.Rows, c.K);
            outs.AddRange(y.Select(B));
        }
        Assert.Contains((ushort)0x7C00, outs);                       // +inf
        Assert.Contains((ushort)0xFC00, outs);                       // -inf
        Assert.Contains(F16GemvReference.NaN, outs);                 // inf - inf
        Assert.Contains(outs, b => (b & 0x7C00) == 0 && (b & 0x3FF) != 0); // subnormal results
        Assert.Contains((ushort)0x0000, outs);
        Assert.True(F16GemvReference.Ties - ties0 > 100, "golden inputs should hit exact ties");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(4, 8)]
    [InlineData(5, 9)]
    [InlineData(2, 63)]
    [InlineData(3, 129)]
    [InlineData(1, 777)]
    public void RandomInputsBitExactVsReference(int rows, int k)
    {
        foreach (var v in F16Gemv.Variants.Where(v => v.Supported))
            RandomInputsBitExact(v.Fn, rows, k);
    }

    private static void RandomInputsBitExact(F16GemvFn fn, int rows, int k)
    {
        var rng = new Random(1000 * rows + k);
        for (int trial = 0; trial < 4; trial++)
        {
            var w = new Half[rows * k];
            var x = new Half[k];
            for (int i = 0; i < w.Length; i++) w[i] = RandomHalf(rng, trial);
            for (int j = 0; j < k; j++) x[j] = RandomHalf(rng, trial);
            var y = new Half[rows]; var a = new float[rows];
            var yr = new Half[rows]; var ar = new float[rows];
            fn(w, x, y, a, rows, k);
            F16GemvReference.Gemv(w, x, yr, ar, rows, k);
            Assert.Equal(yr.Select(B), y.Select(B));
            Assert.Equal(ar.Select(BitConverter.SingleToUInt32Bits), a.Select(BitConverter.SingleToUInt32Bits));
        }
    }

    /// <summary>trial 0: any finite bits; 1: moderate; 2: small (subnormal-range sums); 3: large (overflow).</summary>
    private static Half RandomHalf(Random rng, int trial)
    {
        ushort sign = (ushort)(rng.Next(2) << 15);
        int m = rng.Next(1024);
        return trial switch
        {
            0 => H((ushort)(rng.Next(0x7C00) | sign)),
            1 => H((ushort)(sign | (rng.Next(-3, 4) + 15) << 10 | m)),
            2 => H((ushort)(sign | rng.Next(0, 6) << 10 | m)),
            _ => H((ushort)(sign | (rng.Next(4, 9) + 15) << 10 | m)),
        };
    }

    [Fact]
    public void Fma16MatchesExactRoundingOnRandomTriples()
    {
        var rng = new Random(7);
        int inexactDoubleSums = 0;
        for (int n = 0; n < 200_000; n++)
        {
            // a big accumulator and tiny products (the exact sum then needs more than 53 bits), and the rest.
            ushort c = (ushort)(rng.Next(2) << 15 | (n % 2 == 0 ? rng.Next(0x6000, 0x7C00) : rng.Next(0x7C00)));
            ushort a = (ushort)(rng.Next(2) << 15 | (n % 2 == 0 ? rng.Next(0x0000, 0x1000) : rng.Next(0x7C00)));
            ushort b = (ushort)(rng.Next(2) << 15 | rng.Next(0x7C00));
            double p = (double)H(a) * (double)H(b), cd = (double)H(c), s = cd + p;
            if (double.IsFinite(s) && (cd - (s - (s - cd))) + (p - (s - cd)) != 0) inexactDoubleSums++;
            ushort got = B((Half)F16GemvEmulated.Fma16((double)H(a), (double)H(b), cd));
            Assert.Equal(F16GemvReference.Fma(a, b, c), got);
            if (double.IsFinite(s))   // Core's one-rounding RoundSum agrees (a third, independent route)
                Assert.Equal(got, FloatFormat.Fp16.EncodeUInt16(FloatFormat.Fp16.RoundSum(cd, p)));
        }
        Assert.True(inexactDoubleSums > 10_000, $"only {inexactDoubleSums} triples exercised the TwoSum fix-up");
    }

    /// <summary>
    /// The double-rounding trap. For fp16 operands the naive (Half)(a*b + c) in double is in fact always one
    /// correct rounding: a*b is exact; the double sum is inexact only when the exponents of c and a*b are
    /// more than ~31 apart; then the exact sum lies within 2^-31 (relative) of c, while the nearest fp16
    /// midpoints are 2^-12 away (or the sum exceeds 2^18 and is inf either way). So the trap needs a shorter
    /// intermediate: an fp32 fma (MathF.FusedMultiplyAdd, or float a*b+c) then a conversion to fp16 rounds
    /// 1 + 2^-11 + 2^-29 to the fp32 midpoint 1 + 2^-11, which then ties to even (1), while the exact fp16
    /// fma rounds up to 1 + 2^-10. A kernel that emulated FMLA .8H that way would miss the native bits.
    /// </summary>
    [Fact]
    public void DoubleRoundingTrap()
    {
        Half w = (Half)(1090.0 / 1024), x = (Half)Math.ScaleB(1924, -22), c = Half.One;
        Assert.Equal(1090.0 / 1024, (double)w);
        Assert.Equal(Math.ScaleB(1924, -22), (double)x);
        // exact: 1 + 1090*1924*2^-32 = 1 + 2^-11 + 2^-29, just above the midpoint of [1, 1 + 2^-10]
        Assert.Equal(BigInteger.Pow(2, 21) + 8, new BigInteger(1090 * 1924));
        ushort exact = F16GemvReference.Fma(B(w), B(x), B(c));
        Assert.Equal((ushort)0x3C01, exact);                                       // 1 + 2^-10
        Half naive32 = (Half)MathF.FusedMultiplyAdd((float)w, (float)x, (float)c);  // double rounding
        Assert.Equal((ushort)0x3C00, B(naive32));                                   // 1: wrong
        Assert.Equal(exact, B((Half)F16GemvEmulated.Fma16((double)w, (double)x, (double)c)));

        // The same through the kernel: lane 0 holds 1, then the trap product lands in lane 0 (j = 8).
        var wv = new Half[9]; var xv = new Half[9];
        wv[0] = Half.One; xv[0] = Half.One; wv[8] = w; xv[8] = x;
        var y = new Half[1];
        F16GemvEmulated.Gemv(wv, xv, y, [], 1, 9);
        Assert.Equal((ushort)0x3C01, B(y[0]));

        // A case where the double sum c + a*b is inexact (needs 54+ bits): the TwoSum fix-up runs, result exact.
        Half big = (Half)32768.0, tiny = H(0x0001), t2 = H(0x0003);   // 2^15 + 3*2^-48: 64 bits
        double p = (double)tiny * (double)t2, s = 32768.0 + p;
        Assert.NotEqual(0.0, (32768.0 - (s - (s - 32768.0))) + (p - (s - 32768.0)));
        Assert.Equal(F16GemvReference.Fma(B(tiny), B(t2), B(big)), B((Half)F16GemvEmulated.Fma16((double)tiny, (double)t2, 32768.0)));
    }

    /// <summary>The emulation relies on .NET's double-to-Half conversion being one RNE rounding.</summary>
    [Fact]
    public void DotNetDoubleToHalfIsCorrectlyRounded()
    {
        var rng = new Random(3);
        for (int n = 0; n < 100_000; n++)
        {
            // fp16 midpoints and their double neighbours, plus random doubles across the range.
            ushort h = (ushort)rng.Next(0x7C00);
            double lo = (double)H(h), hi = (double)H((ushort)(h + 1));
            double mid = (lo + hi) / 2;
            foreach (double d in new[] { mid, Math.BitIncrement(mid), Math.BitDecrement(mid), lo, rng.NextDouble() * 70000 - 35000, Math.ScaleB(rng.NextDouble(), -rng.Next(10, 30)) })
            {
                Assert.Equal(FloatFormat.Fp16.EncodeUInt16(d), B((Half)d));
                Assert.Equal(B((Half)d), B((Half)F16GemvEmulated.Round16(d)));   // the kernel's fast rounding
                Assert.Equal(F16GemvEmulated.Round16(d), (double)(Half)d);
            }
        }
        foreach (double d in new[] { 0.0, -0.0, -1e-30, 1e-30, 65504, 65519.99, 65520, -65520, 1e6, -1e300, double.PositiveInfinity, double.NegativeInfinity })
            Assert.Equal(BitConverter.DoubleToInt64Bits((double)(Half)d), BitConverter.DoubleToInt64Bits(F16GemvEmulated.Round16(d)));
        Assert.True(double.IsNaN(F16GemvEmulated.Round16(double.NaN)));
    }

    [Fact]
    public void FastHalfToDoubleIsExactForAllPatterns()
    {
        for (int b = 0; b < 65536; b++)
        {
            Half h = H((ushort)b);
            if (Half.IsNaN(h)) Assert.True(double.IsNaN(F16GemvEmulated.D(h)));
            else Assert.Equal(BitConverter.DoubleToInt64Bits((double)h), BitConverter.DoubleToInt64Bits(F16GemvEmulated.D(h)));
        }
    }

    /// <summary>
    /// The engine's bound: |y - w.x| &lt;= gamma_k(2^-11) * sum|w x|, with inputs whose products are multiples of
    /// 2^-24 (so subnormal rounding is exact and no underflow term is needed) and no overflow. The order's
    /// own depth (ceil(k/8) + 3 roundings per path) gives a tighter gamma, checked too.
    /// </summary>
    [Theory]
    [InlineData(8)]
    [InlineData(37)]
    [InlineData(256)]
    [InlineData(1000)]
    public void ErrorWithinGammaKBound(int k)
    {
        var rng = new Random(k);
        const double u = 1.0 / 2048;
        double Gamma(int n) => n * u / (1 - n * u);
        for (int trial = 0; trial < 20; trial++)
        {
            var w = new Half[k]; var x = new Half[k];
            for (int j = 0; j < k; j++)
            {
                w[j] = H((ushort)(rng.Next(2) << 15 | (rng.Next(-2, 3) + 15) << 10 | rng.Next(1024)));
                x[j] = H((ushort)(rng.Next(2) << 15 | (rng.Next(-2, 3) + 15) << 10 | rng.Next(1024)));
                if (trial % 2 == 1) x[j] = H((ushort)(B(x[j]) & 0x7FFF ^ (B(w[j]) & 0x8000))); // all products >= 0: tight case
            }
            var y = new Half[1]; var a = new float[1];
            F16GemvEmulated.Gemv(w, x, y, a, 1, k);
            double exact = (double)F16GemvReference.ExactDot48(w, x) * Math.ScaleB(1, -48);
            double absExact = 0;
            for (int j = 0; j < k; j++) absExact += Math.Abs((double)w[j] * (double)x[j]);
            Assert.True(Math.Abs(a[0] - absExact) <= absExact * 1e-5, $"absDot {a[0]} vs {absExact}");
            double err = Math.Abs((double)y[0] - exact);
            double absDot = a[0] * (1 + 1e-5);
            Assert.True(err <= Gamma(k) * absDot, $"k={k}: err {err} > gamma_k bound {Gamma(k) * absDot}");
            int depth = (k + 7) / 8 + 3;
            Assert.True(err <= Gamma(depth) * absDot, $"k={k}: err {err} > gamma_{depth} bound {Gamma(depth) * absDot}");
        }
    }

    [Fact]
    public void NoAllocationsPerCall()
    {
        const int rows = 5, k = 300;
        var w = new Half[rows * k]; var x = new Half[k]; var y = new Half[rows]; var a = new float[rows];
        for (int i = 0; i < w.Length; i++) w[i] = (Half)((i % 13) * 0.25 - 1);
        for (int j = 0; j < k; j++) x[j] = (Half)((j % 7) * 0.5 - 1.5);
        var fn = KernelSelect.Best(F16Gemv.Variants).Fn;
        fn(w, x, y, a, rows, k);
        fn(w, x, y, [], rows, k);
        var (allocated, _) = SteadyStateAllocation.Least(() =>
        {
            for (int n = 0; n < 20; n++)
            {
                fn(w, x, y, a, rows, k);
                fn(w, x, y, [], rows, k);
            }
        });
        Assert.Equal(0, allocated);
    }

    [Theory]
    [MemberData(nameof(SupportedVariants))]
    public void ExactlySizedSpansAndNothingOutsideTouched(string variant)
    {
        var fn = Fn(variant);
        const int rows = 3, k = 13;
        var rng = new Random(5);
        var wAll = new Half[rows * k + 2]; var xAll = new Half[k + 2];
        for (int i = 0; i < wAll.Length; i++) wAll[i] = (Half)(rng.Next(-8, 9) * 0.125);
        for (int i = 0; i < xAll.Length; i++) xAll[i] = (Half)(rng.Next(-8, 9) * 0.125);
        wAll[0] = wAll[^1] = Half.NaN; xAll[0] = xAll[^1] = Half.NaN;   // poison: read them and y is NaN
        var w = new ReadOnlySpan<Half>(wAll, 1, rows * k);
        var x = new ReadOnlySpan<Half>(xAll, 1, k);
        var yAll = Enumerable.Repeat((Half)7, rows + 2).ToArray();
        var aAll = Enumerable.Repeat(7f, rows + 2).ToArray();
        fn(w, x, yAll.AsSpan(1, rows), aAll.AsSpan(1, rows), rows, k);
        Assert.Equal((Half)7, yAll[0]); Assert.Equal((Half)7, yAll[^1]);
        Assert.Equal(7f, aAll[0]); Assert.Equal(7f, aAll[^1]);
        for (int i = 0; i < rows; i++)
        {
            Assert.False(Half.IsNaN(yAll[1 + i]));
            Assert.Equal(F16GemvReference.Row(w.Slice(i * k, k), x), B(yAll[1 + i]));
        }

        // empty absDot: skipped; too-short spans: rejected before any work.
        var y2 = new Half[rows];
        fn(w, x, y2, [], rows, k);
        Assert.Equal(yAll.AsSpan(1, rows).ToArray(), y2);
        Assert.Throws<ArgumentException>(() => fn(wAll.AsSpan(0, rows * k - 1), xAll, new Half[rows], [], rows, k));
        Assert.Throws<ArgumentException>(() => fn(wAll, xAll.AsSpan(0, k - 1), new Half[rows], [], rows, k));
        Assert.Throws<ArgumentException>(() => fn(wAll, xAll, new Half[rows - 1], [], rows, k));
        Assert.Throws<ArgumentException>(() => fn(wAll, xAll, new Half[rows], new float[rows - 1], rows, k));
    }

    [Fact]
    public void FamilyIsRegisteredAndSelfTestPasses()
    {
        var fam = Assert.Single(KernelFamilies.All, f => f.Name == "f16acc-gemv");
        Assert.Equal([Isa.Scalar, Isa.Vector128, Isa.Fp16Native], fam.Variants.Select(v => v.Isa));
        var results = fam.SelfTest().ToList();
        Assert.NotEmpty(results);
        Assert.All(results, r => Assert.True(r.Ok, $"{r.Variant}: {r.Detail}"));
        Assert.Equal("f16acc-gemv-8-emulated", fam.Selected(new KernelOptions { ForceGeneric = true }));
        if (!CpuFeatures.Has(Isa.Fp16Native))
        {
            Assert.Equal(CpuFeatures.Has(Isa.Vector128) ? "f16acc-gemv-8-emulated-v128" : "f16acc-gemv-8-emulated", fam.Selected(KernelOptions.Default));
            Assert.DoesNotContain(results, r => r.Isa == Isa.Fp16Native);   // never called where unsupported (x64 here)
        }
    }
}

/// <summary>
/// Writes the golden table with the exact reference's expected bits for runtime/native/check-f16acc.sh
/// (the native kernel under qemu). Layout, little-endian: "F16G", int32 cases, FNV checksum (u64); per case
/// int32 rows, k, wantAbs; w (u16 x rows*k), x (u16 x k), y (u16 x rows), absDot (f32 x rows if wantAbs).
/// Without EMA_F16ACC_DUMP set it writes to memory and checks the size.
/// </summary>
public class F16GemvGoldenDump
{
    [Fact]
    public void DumpGolden()
    {
        string? path = Environment.GetEnvironmentVariable("EMA_F16ACC_DUMP");
        using var ms = new MemoryStream();
        using (var bw = new BinaryWriter(ms, System.Text.Encoding.ASCII, leaveOpen: true))
        {
            bw.Write("F16G"u8);
            bw.Write(F16GemvGolden.Cases.Count);
            bw.Write(F16GemvGolden.ExpectedChecksum);
            foreach (var c in F16GemvGolden.Cases)
            {
                bw.Write(c.Rows); bw.Write(c.K); bw.Write(c.WantAbs ? 1 : 0);
                foreach (var v in c.W) bw.Write(BitConverter.HalfToUInt16Bits(v));
                foreach (var v in c.X) bw.Write(BitConverter.HalfToUInt16Bits(v));
                var y = new Half[c.Rows];
                var a = c.WantAbs ? new float[c.Rows] : [];
                F16GemvReference.Gemv(c.W, c.X, y, a, c.Rows, c.K);
                foreach (var v in y) bw.Write(BitConverter.HalfToUInt16Bits(v));
                foreach (var v in a) bw.Write(v);
            }
        }
        long expected = 16 + F16GemvGolden.Cases.Sum(c => 12L + 2 * (c.W.Length + c.X.Length + c.Rows) + (c.WantAbs ? 4 * c.Rows : 0));
        Assert.Equal(expected, ms.Length);
        if (path is not null) File.WriteAllBytes(path, ms.ToArray());
    }
}
