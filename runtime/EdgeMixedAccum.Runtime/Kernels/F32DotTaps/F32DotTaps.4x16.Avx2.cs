using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-dot-taps on Vector256 (8 floats, VFMADD ymm): each 16-lane block of the order is two ymm accumulators
/// (lanes 0-7 and 8-15); up to 48 channels per tap, outputs in pairs that share each weight load. Bit-identical to
/// the scalar reference.
/// Contract: no alignment needed; F32DotTapsFamily.Check runs first (len a multiple of 16, offsets in range: TapOffsets).
/// </summary>
internal readonly struct F32DotTaps4x16Avx2 : IDotTapsPair
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, TapOffsets off, int first, ReadOnlySpan<int> at, Span<float> y)
    {
        if (off.Len > 48) { F32DotTapsFamily.RunEach<F32DotTaps4x16Avx2>(w, x, off, first, at, y); return; }
        // Up to three 16-lane blocks per tap (a conv of up to 48 input channels): six accumulators per output, so
        // outputs go in pairs (twelve), each weight vector loaded once for both and two sets of chains in flight
        // (one output's chains are one to three FMAs per tap, latency-bound).
        F32DotTapsFamily.RunPairs<F32DotTaps4x16Avx2>(w, x, off, first, at, y);
    }

    /// <summary>Two outputs of one weight row, len &lt;= 48: <see cref="Dot"/>'s order for each (the accumulators of
    /// blocks 3 are zeros, added as Dot adds them).</summary>
    public static (float, float) Dot2(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> off1, ReadOnlySpan<int> off2, int len)
    {
        Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default;
        Vector256<float> c0 = default, d0 = default, c1 = default, d1 = default, c2 = default, d2 = default;
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
                if (len > 0)
                {
                    var lo = Vector256.LoadUnsafe(ref wt); var hi = Vector256.LoadUnsafe(ref wt, 8);
                    a0 = G(lo, ref xa, 0, a0); b0 = G(hi, ref xa, 8, b0); c0 = G(lo, ref xb, 0, c0); d0 = G(hi, ref xb, 8, d0);
                }
                if (len > 16)
                {
                    var lo = Vector256.LoadUnsafe(ref wt, 16); var hi = Vector256.LoadUnsafe(ref wt, 24);
                    a1 = G(lo, ref xa, 16, a1); b1 = G(hi, ref xa, 24, b1); c1 = G(lo, ref xb, 16, c1); d1 = G(hi, ref xb, 24, d1);
                }
                if (len > 32)
                {
                    var lo = Vector256.LoadUnsafe(ref wt, 32); var hi = Vector256.LoadUnsafe(ref wt, 40);
                    a2 = G(lo, ref xa, 32, a2); b2 = G(hi, ref xa, 40, b2); c2 = G(lo, ref xb, 32, c2); d2 = G(hi, ref xb, 40, d2);
                }
            }
            else if (o1 >= 0) Tap(ref wt, ref Unsafe.Add(ref x0, o1), len, ref a0, ref b0, ref a1, ref b1, ref a2, ref b2);
            else if (o2 >= 0) Tap(ref wt, ref Unsafe.Add(ref x0, o2), len, ref c0, ref d0, ref c1, ref d1, ref c2, ref d2);
        }
        Vector256<float> z = default;
        return (Sum(a0, b0, a1, b1, a2, b2, z, z), Sum(c0, d0, c1, d1, c2, d2, z, z));
    }

    /// <summary>One tap of one output (len &lt;= 48) into its accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tap(ref float wt, ref float xt, int len, ref Vector256<float> a0, ref Vector256<float> b0,
        ref Vector256<float> a1, ref Vector256<float> b1, ref Vector256<float> a2, ref Vector256<float> b2)
    {
        if (len > 0) { a0 = F(ref wt, ref xt, 0, a0); b0 = F(ref wt, ref xt, 8, b0); }
        if (len > 16) { a1 = F(ref wt, ref xt, 16, a1); b1 = F(ref wt, ref xt, 24, b1); }
        if (len > 32) { a2 = F(ref wt, ref xt, 32, a2); b2 = F(ref wt, ref xt, 40, b2); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> G(Vector256<float> w, ref float x, nuint c, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(w, Vector256.LoadUnsafe(ref x, c), acc);

    /// <summary>The family's reduction of one output's accumulators (lanes 0-7 in a, 8-15 in b, per block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sum(Vector256<float> a0, Vector256<float> b0, Vector256<float> a1, Vector256<float> b1,
        Vector256<float> a2, Vector256<float> b2, Vector256<float> a3, Vector256<float> b3)
    {
        var lo = (a0 + a1) + (a2 + a3);           // lanes 0-7 of the 16
        var hi = (b0 + b1) + (b2 + b3);           // lanes 8-15
        var h = lo + hi;                          // lane l + lane l + 8
        var q = h.GetLower() + h.GetUpper();      // + 4
        return (q.ToScalar() + q.GetElement(2)) + (q.GetElement(1) + q.GetElement(3));
    }

    public static float Dot(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int len)
    {
        Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        for (int t = 0; t < xOff.Length; t++)
        {
            int o = xOff[t];
            if (o < 0) continue;
            ref float wt = ref Unsafe.Add(ref w0, (nint)t * len);
            ref float xt = ref Unsafe.Add(ref x0, o);
            int c = 0;
            for (; c + 64 <= len; c += 64)
            {
                a0 = F(ref wt, ref xt, c, a0); b0 = F(ref wt, ref xt, c + 8, b0);
                a1 = F(ref wt, ref xt, c + 16, a1); b1 = F(ref wt, ref xt, c + 24, b1);
                a2 = F(ref wt, ref xt, c + 32, a2); b2 = F(ref wt, ref xt, c + 40, b2);
                a3 = F(ref wt, ref xt, c + 48, a3); b3 = F(ref wt, ref xt, c + 56, b3);
            }
            if (c < len) { a0 = F(ref wt, ref xt, c, a0); b0 = F(ref wt, ref xt, c + 8, b0); c += 16; }
            if (c < len) { a1 = F(ref wt, ref xt, c, a1); b1 = F(ref wt, ref xt, c + 8, b1); c += 16; }
            if (c < len) { a2 = F(ref wt, ref xt, c, a2); b2 = F(ref wt, ref xt, c + 8, b2); }
        }
        return Sum(a0, b0, a1, b1, a2, b2, a3, b3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> F(ref float w, ref float x, int c, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w, (nuint)c), Vector256.LoadUnsafe(ref x, (nuint)c), acc);
}
