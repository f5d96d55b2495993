using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-dot-taps on Vector128 (4 floats: FMLA .4S on ARM64, VFMADD xmm on x86): each 16-lane block of the order
/// is four accumulators (lanes 0-3, 4-7, 8-11, 12-15), 16 in all, which NEON's 32 registers hold. Bit-identical to
/// the scalar reference. Contract: no alignment needed; F32DotTapsFamily.Check and Offsets run first (len a multiple of 16,
/// offsets in range).
/// </summary>
internal readonly struct F32DotTaps4x16Vector128 : IDotTapsOne
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int taps, int len, ReadOnlySpan<int> at, Span<float> y) =>
        F32DotTapsFamily.RunEach<F32DotTaps4x16Vector128>(w, x, xOff, taps, len, at, y);

    public static float Dot(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int len)
    {
        Vector128<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector128<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector128<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector128<float> a30 = default, a31 = default, a32 = default, a33 = default;
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
                a00 = F(ref wt, ref xt, c, a00); a01 = F(ref wt, ref xt, c + 4, a01);
                a02 = F(ref wt, ref xt, c + 8, a02); a03 = F(ref wt, ref xt, c + 12, a03);
                a10 = F(ref wt, ref xt, c + 16, a10); a11 = F(ref wt, ref xt, c + 20, a11);
                a12 = F(ref wt, ref xt, c + 24, a12); a13 = F(ref wt, ref xt, c + 28, a13);
                a20 = F(ref wt, ref xt, c + 32, a20); a21 = F(ref wt, ref xt, c + 36, a21);
                a22 = F(ref wt, ref xt, c + 40, a22); a23 = F(ref wt, ref xt, c + 44, a23);
                a30 = F(ref wt, ref xt, c + 48, a30); a31 = F(ref wt, ref xt, c + 52, a31);
                a32 = F(ref wt, ref xt, c + 56, a32); a33 = F(ref wt, ref xt, c + 60, a33);
            }
            if (c < len)
            {
                a00 = F(ref wt, ref xt, c, a00); a01 = F(ref wt, ref xt, c + 4, a01);
                a02 = F(ref wt, ref xt, c + 8, a02); a03 = F(ref wt, ref xt, c + 12, a03);
                c += 16;
            }
            if (c < len)
            {
                a10 = F(ref wt, ref xt, c, a10); a11 = F(ref wt, ref xt, c + 4, a11);
                a12 = F(ref wt, ref xt, c + 8, a12); a13 = F(ref wt, ref xt, c + 12, a13);
                c += 16;
            }
            if (c < len)
            {
                a20 = F(ref wt, ref xt, c, a20); a21 = F(ref wt, ref xt, c + 4, a21);
                a22 = F(ref wt, ref xt, c + 8, a22); a23 = F(ref wt, ref xt, c + 12, a23);
            }
        }
        // (a0 + a1) + (a2 + a3) per 4-lane piece p (lanes 4p..4p+3), then l + (l + 8), then + 4.
        var p0 = (a00 + a10) + (a20 + a30);
        var p1 = (a01 + a11) + (a21 + a31);
        var p2 = (a02 + a12) + (a22 + a32);
        var p3 = (a03 + a13) + (a23 + a33);
        var q = (p0 + p2) + (p1 + p3);
        return (q.ToScalar() + q.GetElement(2)) + (q.GetElement(1) + q.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> F(ref float w, ref float x, int c, Vector128<float> acc) =>
        Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref w, (nuint)c), Vector128.LoadUnsafe(ref x, (nuint)c), acc);
}
