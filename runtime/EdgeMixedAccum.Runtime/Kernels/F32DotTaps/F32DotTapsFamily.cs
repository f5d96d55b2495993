using System.Runtime.CompilerServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// fp32 dot products of conv outputs from a channels-last input, for the sparse recompute of flagged
/// components: y[j] = sum over taps t with o_t = off.Row(first + at[j])[t] &gt;= 0 of sum_c w[t*len + c] * x[o_t + c],
/// c in [0, len), len = off.Len, for j in [0, at.Length). w is one weight row in tap-major order (tap t = (kh, kw),
/// then the group's channels padded with zeros to len); x is the layer input in NHWC with the same padding, so each
/// tap is one contiguous run; a position's row of <see cref="TapOffsets"/> holds its tap offsets, &lt; 0 for a tap
/// in the conv's zero padding (skipped: its products are zeros). The offsets were checked when the table was built,
/// so a call checks x's length once and each position's index, not each tap. One call per weight row amortises the
/// call and the checks.
/// Order, the same in every variant, so all are bit-identical to the scalar reference on every ISA (x64 and
/// ARM64 give the same bits): per output 4 x 16 fp32 accumulators from 0; element c of a tap goes to accumulator
/// (c / 16) % 4, lane c % 16, in one fused step, taps ascending, c ascending; then the accumulators are added
/// (a0 + a1) + (a2 + a3) lane by lane and the 16 lanes are summed as a tree: lane l + lane l + 8, then + 4,
/// + 2, + 1. Contract: no alignment needed (len is a multiple of 16: the table's, so no tails).
/// </summary>
public delegate void F32DotTapsFn(ReadOnlySpan<float> w, ReadOnlySpan<float> x, TapOffsets off, int first,
    ReadOnlySpan<int> at, Span<float> y);

/// <summary>
/// The tap offsets of a conv's output positions into its NHWC input, checked once here so the kernels need not check
/// them per output: Positions rows of Taps offsets, each &lt; 0 (a padding tap) or with o + Len within XNeeded, the
/// least input length every offset stays inside. Immutable (a copy of the caller's offsets).
/// </summary>
public sealed class TapOffsets
{
    private readonly int[] _off;

    public int Taps { get; }
    /// <summary>Elements per tap (channels padded), a multiple of 16.</summary>
    public int Len { get; }
    public int Positions { get; }
    /// <summary>max(o + Len) over the offsets o &gt;= 0 (0 if every tap is padding): x must be at least this long.</summary>
    public long XNeeded { get; }

    public TapOffsets(int positions, int taps, int len, ReadOnlySpan<int> offsets)
    {
        if (positions < 0 || taps < 0 || len < 0 || (len & 15) != 0 || (long)positions * taps != offsets.Length)
            throw new ArgumentException($"f32-dot-taps offsets: {offsets.Length} offsets for {positions} positions of {taps} taps, len={len} (a multiple of 16)");
        long need = 0;
        foreach (int o in offsets)
            if (o >= 0) need = Math.Max(need, (long)o + len);
        _off = offsets.ToArray();
        Taps = taps; Len = len; XNeeded = need;
        Positions = positions;
    }

    /// <summary>Position p's offsets (checked index).</summary>
    public ReadOnlySpan<int> Row(int p) => _off.AsSpan(p * Taps, Taps);

    /// <summary>Position p's offsets for a p already checked against Positions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ReadOnlySpan<int> RowUnchecked(int p) =>
        System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(
            ref Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_off), (nint)p * Taps), Taps);
}

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

    /// <summary>Per-call check, before any unchecked load: after it, w holds the taps' weights, x every offset's run
    /// (the table's XNeeded) and each listed position first + at[j] is a row of the table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(ReadOnlySpan<float> w, ReadOnlySpan<float> x, TapOffsets off, int first, ReadOnlySpan<int> at, Span<float> y)
    {
        if ((long)off.Taps * off.Len > w.Length || off.XNeeded > x.Length || y.Length < at.Length || first < 0) Refuse(w, x, off, first, at, y);
        uint positions = (uint)off.Positions;
        foreach (int p in at)
            if ((uint)(first + p) >= positions) Refuse(w, x, off, first, at, y);
    }

    /// <summary>The message of a refused call, out of line (its string formatting would weigh on every call's frame).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Refuse(ReadOnlySpan<float> w, ReadOnlySpan<float> x, TapOffsets off, int first, ReadOnlySpan<int> at, Span<float> y)
    {
        foreach (int p in at)
            if (first < 0 || (uint)(first + p) >= (uint)off.Positions)
                throw new ArgumentException($"f32-dot-taps: position {first} + {p} is not a row of the {off.Positions} positions' tap offsets");
        throw new ArgumentException($"f32-dot-taps: taps={off.Taps} len={off.Len} need w>={(long)off.Taps * off.Len} x>={off.XNeeded} y>={at.Length}; got w={w.Length} x={x.Length} y={y.Length}");
    }

    /// <summary>The per-call loop of the variants that take one output at a time: the checks, then each listed
    /// position's offsets through the variant's <see cref="IDotTapsOne.Dot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void RunEach<TD>(ReadOnlySpan<float> w, ReadOnlySpan<float> x, TapOffsets off, int first, ReadOnlySpan<int> at, Span<float> y)
        where TD : IDotTapsOne
    {
        Check(w, x, off, first, at, y);
        int len = off.Len;
        for (int j = 0; j < at.Length; j++) y[j] = TD.Dot(w, x, off.RowUnchecked(first + at[j]), len);
    }

    /// <summary>The per-call loop of the variants that take outputs in pairs: the checks, then the listed positions two
    /// at a time through <see cref="IDotTapsPair.Dot2"/>, an odd last one through Dot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void RunPairs<TD>(ReadOnlySpan<float> w, ReadOnlySpan<float> x, TapOffsets off, int first, ReadOnlySpan<int> at, Span<float> y)
        where TD : IDotTapsPair
    {
        Check(w, x, off, first, at, y);
        int j = 0, len = off.Len;
        for (; j + 2 <= at.Length; j += 2)
            (y[j], y[j + 1]) = TD.Dot2(w, x, off.RowUnchecked(first + at[j]), off.RowUnchecked(first + at[j + 1]), len);
        if (j < at.Length) y[j] = TD.Dot(w, x, off.RowUnchecked(first + at[j]), len);
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
