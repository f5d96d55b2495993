using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-dot-taps on Vector512 (16 floats): one zmm accumulator per 16-lane block of the order, four
/// independent FMA chains per tap when it is 64 channels or longer. Bit-identical to the scalar reference.
/// Contract: no alignment needed; F32DotTapsFamily.Check and Offsets run first (len a multiple of 16, offsets in range).
/// </summary>
internal static class F32DotTaps4x16Avx512F
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int taps, int len, ReadOnlySpan<int> at, Span<float> y)
    {
        F32DotTapsFamily.Check(w, xOff, taps, len, at, y);
        for (int j = 0; j < at.Length; j++) y[j] = Dot(w, x, F32DotTapsFamily.Offsets(xOff, at[j], taps, len, x.Length), len);
    }

    private static float Dot(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int len)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
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
                a0 = F(ref wt, ref xt, c, a0); a1 = F(ref wt, ref xt, c + 16, a1);
                a2 = F(ref wt, ref xt, c + 32, a2); a3 = F(ref wt, ref xt, c + 48, a3);
            }
            if (c < len) { a0 = F(ref wt, ref xt, c, a0); c += 16; }
            if (c < len) { a1 = F(ref wt, ref xt, c, a1); c += 16; }
            if (c < len) a2 = F(ref wt, ref xt, c, a2);
        }
        var v = (a0 + a1) + (a2 + a3);
        var h = v.GetLower() + v.GetUpper();      // lane l + lane l + 8
        var q = h.GetLower() + h.GetUpper();      // + 4
        return (q.ToScalar() + q.GetElement(2)) + (q.GetElement(1) + q.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> F(ref float w, ref float x, int c, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w, (nuint)c), Vector512.LoadUnsafe(ref x, (nuint)c), acc);
}
