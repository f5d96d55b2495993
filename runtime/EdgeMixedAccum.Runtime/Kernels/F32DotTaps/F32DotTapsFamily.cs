using System.Runtime.CompilerServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// fp32 dot products of conv outputs from a channels-last input, for the sparse recompute of flagged
/// components: y[j] = sum over taps t with o_t = xOff[at[j]*taps + t] &gt;= 0 of sum_c w[t*len + c] * x[o_t + c],
/// c in [0, len), for j in [0, at.Length). w is one weight row in tap-major order (tap t = (kh, kw), then the
/// group's channels padded with zeros to len); x is the layer input in NHWC with the same padding, so each tap is
/// one contiguous run; row at[j] of xOff holds a position's tap offsets, &lt; 0 for a tap in the conv's zero
/// padding (skipped: its products are zeros). One call per weight row amortises the call and the checks.
/// Order, the same in every variant, so all are bit-identical to the scalar reference on every ISA (x64 and
/// ARM64 give the same bits): per output 4 x 16 fp32 accumulators from 0; element c of a tap goes to accumulator
/// (c / 16) % 4, lane c % 16, in one fused step, taps ascending, c ascending; then the accumulators are added
/// (a0 + a1) + (a2 + a3) lane by lane and the 16 lanes are summed as a tree: lane l + lane l + 8, then + 4,
/// + 2, + 1. Contract: len is a multiple of 16 (the padding makes it so; no tails), no alignment needed.
/// </summary>
public delegate void F32DotTapsFn(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int taps, int len,
    ReadOnlySpan<int> at, Span<float> y);

/// <summary>The one variant list of the family (baseline first), read by the dispatcher, `ema selftest` and the tests.</summary>
public sealed class F32DotTapsFamily : IKernelFamily
{
    public static IReadOnlyList<KernelVariant<F32DotTapsFn>> Variants { get; } =
    [
        new("f32-dot-taps-scalar", Isa.Scalar, F32DotTapsScalar.Run),
        new("f32-dot-taps-4x16-vector128", Isa.Vector128, F32DotTaps4x16Vector128.Run),
        new("f32-dot-taps-4x16-avx2", Isa.Avx2, F32DotTaps4x16Avx2.Run),
        new("f32-dot-taps-4x16-avx512f", Isa.Avx512BW, F32DotTaps4x16Avx512F.Run),
    ];

    public static F32DotTapsFamily Instance { get; } = new();

    public string Name => "f32-dot-taps";
    IReadOnlyList<(string Name, Isa Isa)> IKernelFamily.Variants { get; } = Variants.Select(v => (v.Name, v.Isa)).ToArray();
    public string Selected(KernelOptions options) => KernelSelect.Best(Variants, options).Name;

    public IEnumerable<SelfTestResult> SelfTest()
    {
        var pinned = F32DotTapsGolden.VerifyPin();
        foreach (var v in Variants)
        {
            if (!v.Supported) continue;
            if (pinned is not null) { yield return new(Name, v.Name, v.Isa, false, pinned); continue; }
            var failure = F32DotTapsGolden.Check(v.Fn);
            yield return new(Name, v.Name, v.Isa, failure is null, failure ?? $"{F32DotTapsGolden.Cases.Count} golden cases bit-exact to the 4x16-lane order, within gamma_k(2^-24)*sum|w||x|");
        }
    }

    /// <summary>Per-call check, before any unchecked load: after it, reads stay in w[0, taps*len) and in the rows
    /// of xOff that at names; <see cref="Offsets"/> then checks each position's taps against x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(ReadOnlySpan<float> w, ReadOnlySpan<int> xOff, int taps, int len, ReadOnlySpan<int> at, Span<float> y)
    {
        if (len < 0 || (len & 15) != 0 || taps < 0 || (long)taps * len > w.Length || y.Length < at.Length)
            throw new ArgumentException($"f32-dot-taps: len={len} (a multiple of 16) taps={taps} need w>={(long)taps * len} y>={at.Length}; got w={w.Length} y={y.Length}");
        foreach (int p in at)
            if (p < 0 || ((long)p + 1) * taps > xOff.Length)
                throw new ArgumentException($"f32-dot-taps: position {p} has no row of {taps} tap offsets in xOff ({xOff.Length})");
    }

    /// <summary>The per-call loop of the variants that take one output at a time: the checks, then each listed
    /// position's checked offsets through the variant's <see cref="IDotTapsOne.Dot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void RunEach<TD>(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int taps, int len, ReadOnlySpan<int> at, Span<float> y)
        where TD : IDotTapsOne
    {
        Check(w, xOff, taps, len, at, y);
        for (int j = 0; j < at.Length; j++) y[j] = TD.Dot(w, x, Offsets(xOff, at[j], taps, len, x.Length), len);
    }

    /// <summary>The per-call loop of the variants that take outputs in pairs: the checks, then the listed positions two
    /// at a time through <see cref="IDotTapsPair.Dot2"/>, an odd last one through Dot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void RunPairs<TD>(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int taps, int len, ReadOnlySpan<int> at, Span<float> y)
        where TD : IDotTapsPair
    {
        Check(w, xOff, taps, len, at, y);
        int j = 0;
        for (; j + 2 <= at.Length; j += 2)
            (y[j], y[j + 1]) = TD.Dot2(w, x, Offsets(xOff, at[j], taps, len, x.Length), Offsets(xOff, at[j + 1], taps, len, x.Length), len);
        if (j < at.Length) y[j] = TD.Dot(w, x, Offsets(xOff, at[j], taps, len, x.Length), len);
    }

    /// <summary>Position p's tap offsets, each checked: after it, reads stay in x[o, o + len) for every o &gt;= 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ReadOnlySpan<int> Offsets(ReadOnlySpan<int> xOff, int p, int taps, int len, int xLength)
    {
        var off = xOff.Slice(p * taps, taps);
        foreach (int o in off)
            if (o >= 0 && (long)o + len > xLength)
                throw new ArgumentException($"f32-dot-taps: tap offset {o} + len {len} is past x ({xLength})");
        return off;
    }
}

/// <summary>One output of f32-dot-taps in the family's order, on checked arguments (the variant's lanes).</summary>
internal interface IDotTapsOne
{
    static abstract float Dot(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int len);
}

/// <summary>Two outputs of one weight row at once, each in the family's order (each weight vector loaded once for
/// both), on checked arguments; a variant may serve only some lengths this way (its Run chooses).</summary>
internal interface IDotTapsPair : IDotTapsOne
{
    static abstract (float, float) Dot2(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> off1, ReadOnlySpan<int> off2, int len);
}
