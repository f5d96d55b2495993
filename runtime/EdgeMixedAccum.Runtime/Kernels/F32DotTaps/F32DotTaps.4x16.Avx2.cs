using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-dot-taps on Vector256 (8 floats, VFMADD ymm): each 16-lane block of the order is two ymm accumulators
/// (lanes 0-7 and 8-15). Bit-identical to the scalar reference.
/// Contract: no alignment needed; F32DotTapsFamily.Check and Offsets run first (len a multiple of 16, offsets in range).
/// </summary>
internal readonly struct F32DotTaps4x16Avx2 : IDotTapsOne
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int taps, int len, ReadOnlySpan<int> at, Span<float> y) =>
        F32DotTapsFamily.RunEach<F32DotTaps4x16Avx2>(w, x, xOff, taps, len, at, y);

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
        var lo = (a0 + a1) + (a2 + a3);           // lanes 0-7 of the 16
        var hi = (b0 + b1) + (b2 + b3);           // lanes 8-15
        var h = lo + hi;                          // lane l + lane l + 8
        var q = h.GetLower() + h.GetUpper();      // + 4
        return (q.ToScalar() + q.GetElement(2)) + (q.GetElement(1) + q.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> F(ref float w, ref float x, int c, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w, (nuint)c), Vector256.LoadUnsafe(ref x, (nuint)c), acc);
}
