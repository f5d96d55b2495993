using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-dot-taps on Vector512 (16 floats): one zmm accumulator per 16-lane block of the order, four
/// independent FMA chains per tap when it is 64 channels or longer; outputs in pairs that share each weight load.
/// Bit-identical to the scalar reference.
/// Contract: no alignment needed; F32DotTapsFamily.Check runs first (len a multiple of 16, offsets in range: TapOffsets).
/// </summary>
internal readonly struct F32DotTaps4x16Avx512F : IDotTapsPair
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, TapOffsets off, int first, ReadOnlySpan<int> at, Span<float> y)
    {
        F32DotTapsFamily.RunPairs<F32DotTaps4x16Avx512F>(w, x, off, first, at, y);
    }

    /// <summary>Two outputs of the same weight row at once: each weight vector loaded once for both, two sets of
    /// independent chains, the two reductions interleaved. Each output keeps the family's order.</summary>
    public static (float, float) Dot2(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> off1, ReadOnlySpan<int> off2, int len)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        for (int t = 0; t < off1.Length; t++)
        {
            int o1 = off1[t], o2 = off2[t];
            ref float wt = ref Unsafe.Add(ref w0, (nint)t * len);
            if (o1 >= 0 && o2 >= 0)
            {
                ref float xa = ref Unsafe.Add(ref x0, o1);
                ref float xb = ref Unsafe.Add(ref x0, o2);
                int c = 0;
                for (; c + 64 <= len; c += 64)
                {
                    var w_ = Vector512.LoadUnsafe(ref wt, (nuint)c);
                    a0 = G(w_, ref xa, c, a0); b0 = G(w_, ref xb, c, b0);
                    w_ = Vector512.LoadUnsafe(ref wt, (nuint)(c + 16));
                    a1 = G(w_, ref xa, c + 16, a1); b1 = G(w_, ref xb, c + 16, b1);
                    w_ = Vector512.LoadUnsafe(ref wt, (nuint)(c + 32));
                    a2 = G(w_, ref xa, c + 32, a2); b2 = G(w_, ref xb, c + 32, b2);
                    w_ = Vector512.LoadUnsafe(ref wt, (nuint)(c + 48));
                    a3 = G(w_, ref xa, c + 48, a3); b3 = G(w_, ref xb, c + 48, b3);
                }
                if (c < len) { var w_ = Vector512.LoadUnsafe(ref wt, (nuint)c); a0 = G(w_, ref xa, c, a0); b0 = G(w_, ref xb, c, b0); c += 16; }
                if (c < len) { var w_ = Vector512.LoadUnsafe(ref wt, (nuint)c); a1 = G(w_, ref xa, c, a1); b1 = G(w_, ref xb, c, b1); c += 16; }
                if (c < len) { var w_ = Vector512.LoadUnsafe(ref wt, (nuint)c); a2 = G(w_, ref xa, c, a2); b2 = G(w_, ref xb, c, b2); }
            }
            else if (o1 >= 0) Tap(ref wt, ref Unsafe.Add(ref x0, o1), len, ref a0, ref a1, ref a2, ref a3);
            else if (o2 >= 0) Tap(ref wt, ref Unsafe.Add(ref x0, o2), len, ref b0, ref b1, ref b2, ref b3);
        }
        return (Sum(a0, a1, a2, a3), Sum(b0, b1, b2, b3));
    }

    /// <summary>One tap of one output into its four accumulators (a tap in the padding of the other output).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tap(ref float wt, ref float xt, int len, ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3)
    {
        int c = 0;
        for (; c + 64 <= len; c += 64)
        {
            a0 = F(ref wt, ref xt, c, a0); a1 = F(ref wt, ref xt, c + 16, a1);
            a2 = F(ref wt, ref xt, c + 32, a2); a3 = F(ref wt, ref xt, c + 48, a3);
        }
        if (c < len) { a0 = F(ref wt, ref xt, c, a0); c += 16; }
        if (c < len) { a1 = F(ref wt, ref xt, c, a1); c += 16; }
        if (c < len) a2 = F(ref wt, ref xt, c, a2);
    }

    /// <summary>The family's reduction: (a0 + a1) + (a2 + a3) by lane, then lane l + l + 8, + 4, + 2, + 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sum(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        var v = (a0 + a1) + (a2 + a3);
        var h = v.GetLower() + v.GetUpper();      // lane l + lane l + 8
        var q = h.GetLower() + h.GetUpper();      // + 4
        return (q.ToScalar() + q.GetElement(2)) + (q.GetElement(1) + q.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> G(Vector512<float> w, ref float x, int c, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(w, Vector512.LoadUnsafe(ref x, (nuint)c), acc);

    public static float Dot(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int len)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        for (int t = 0; t < xOff.Length; t++)
            if (xOff[t] >= 0) Tap(ref Unsafe.Add(ref w0, (nint)t * len), ref Unsafe.Add(ref x0, xOff[t]), len, ref a0, ref a1, ref a2, ref a3);
        return Sum(a0, a1, a2, a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> F(ref float w, ref float x, int c, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w, (nuint)c), Vector512.LoadUnsafe(ref x, (nuint)c), acc);
}
