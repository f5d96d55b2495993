using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-dot-taps on Vector128 (4 floats: FMLA .4S on ARM64, VFMADD xmm on x86): each 16-lane block of the order
/// is four accumulators (lanes 0-3, 4-7, 8-11, 12-15), 16 in all, which NEON's 32 registers hold; up to 48 channels
/// per tap, outputs in pairs that share each weight load. Bit-identical to the scalar reference. Contract: no alignment needed; F32DotTapsFamily.Check runs first (len a multiple of 16,
/// offsets in range: TapOffsets).
/// </summary>
internal readonly struct F32DotTaps4x16Vector128 : IDotTapsPair
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, TapOffsets off, int first, ReadOnlySpan<int> at, Span<float> y)
    {
        if (off.Len > 48) { F32DotTapsFamily.RunEach<F32DotTaps4x16Vector128>(w, x, off, first, at, y); return; }
        // Up to three 16-lane blocks per tap (a conv of up to 48 input channels): twelve accumulators per output, so
        // outputs go in pairs (24 of NEON's 32 registers), each weight vector loaded once for both.
        F32DotTapsFamily.RunPairs<F32DotTaps4x16Vector128>(w, x, off, first, at, y);
    }

    /// <summary>Two outputs of one weight row, len &lt;= 48: <see cref="Dot"/>'s order for each (the accumulators of
    /// block 3 are zeros, added as Dot adds them).</summary>
    public static (float, float) Dot2(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> off1, ReadOnlySpan<int> off2, int len)
    {
        Vector128<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        Vector128<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector128<float> b00 = default, b01 = default, b02 = default, b03 = default, b10 = default, b11 = default, b12 = default, b13 = default;
        Vector128<float> b20 = default, b21 = default, b22 = default, b23 = default;
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
                    var w_ = Vector128.LoadUnsafe(ref wt); a00 = G(w_, ref xa, 0, a00); b00 = G(w_, ref xb, 0, b00);
                    w_ = Vector128.LoadUnsafe(ref wt, 4); a01 = G(w_, ref xa, 4, a01); b01 = G(w_, ref xb, 4, b01);
                    w_ = Vector128.LoadUnsafe(ref wt, 8); a02 = G(w_, ref xa, 8, a02); b02 = G(w_, ref xb, 8, b02);
                    w_ = Vector128.LoadUnsafe(ref wt, 12); a03 = G(w_, ref xa, 12, a03); b03 = G(w_, ref xb, 12, b03);
                }
                if (len > 16)
                {
                    var w_ = Vector128.LoadUnsafe(ref wt, 16); a10 = G(w_, ref xa, 16, a10); b10 = G(w_, ref xb, 16, b10);
                    w_ = Vector128.LoadUnsafe(ref wt, 20); a11 = G(w_, ref xa, 20, a11); b11 = G(w_, ref xb, 20, b11);
                    w_ = Vector128.LoadUnsafe(ref wt, 24); a12 = G(w_, ref xa, 24, a12); b12 = G(w_, ref xb, 24, b12);
                    w_ = Vector128.LoadUnsafe(ref wt, 28); a13 = G(w_, ref xa, 28, a13); b13 = G(w_, ref xb, 28, b13);
                }
                if (len > 32)
                {
                    var w_ = Vector128.LoadUnsafe(ref wt, 32); a20 = G(w_, ref xa, 32, a20); b20 = G(w_, ref xb, 32, b20);
                    w_ = Vector128.LoadUnsafe(ref wt, 36); a21 = G(w_, ref xa, 36, a21); b21 = G(w_, ref xb, 36, b21);
                    w_ = Vector128.LoadUnsafe(ref wt, 40); a22 = G(w_, ref xa, 40, a22); b22 = G(w_, ref xb, 40, b22);
                    w_ = Vector128.LoadUnsafe(ref wt, 44); a23 = G(w_, ref xa, 44, a23); b23 = G(w_, ref xb, 44, b23);
                }
            }
            else if (o1 >= 0) Tap(ref wt, ref Unsafe.Add(ref x0, o1), len, ref a00, ref a01, ref a02, ref a03, ref a10, ref a11, ref a12, ref a13, ref a20, ref a21, ref a22, ref a23);
            else if (o2 >= 0) Tap(ref wt, ref Unsafe.Add(ref x0, o2), len, ref b00, ref b01, ref b02, ref b03, ref b10, ref b11, ref b12, ref b13, ref b20, ref b21, ref b22, ref b23);
        }
        Vector128<float> z = default;
        return (Sum(a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, z, z, z, z),
                Sum(b00, b01, b02, b03, b10, b11, b12, b13, b20, b21, b22, b23, z, z, z, z));
    }

    /// <summary>One tap of one output (len &lt;= 48) into its accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tap(ref float wt, ref float xt, int len, ref Vector128<float> a00, ref Vector128<float> a01, ref Vector128<float> a02,
        ref Vector128<float> a03, ref Vector128<float> a10, ref Vector128<float> a11, ref Vector128<float> a12, ref Vector128<float> a13,
        ref Vector128<float> a20, ref Vector128<float> a21, ref Vector128<float> a22, ref Vector128<float> a23)
    {
        if (len > 0)
        {
            a00 = F(ref wt, ref xt, 0, a00); a01 = F(ref wt, ref xt, 4, a01);
            a02 = F(ref wt, ref xt, 8, a02); a03 = F(ref wt, ref xt, 12, a03);
        }
        if (len > 16)
        {
            a10 = F(ref wt, ref xt, 16, a10); a11 = F(ref wt, ref xt, 20, a11);
            a12 = F(ref wt, ref xt, 24, a12); a13 = F(ref wt, ref xt, 28, a13);
        }
        if (len > 32)
        {
            a20 = F(ref wt, ref xt, 32, a20); a21 = F(ref wt, ref xt, 36, a21);
            a22 = F(ref wt, ref xt, 40, a22); a23 = F(ref wt, ref xt, 44, a23);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> G(Vector128<float> w, ref float x, nuint c, Vector128<float> acc) =>
        Vector128.FusedMultiplyAdd(w, Vector128.LoadUnsafe(ref x, c), acc);

    /// <summary>The family's reduction of one output's sixteen accumulators (aBP: block B's lanes 4P..4P+3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sum(Vector128<float> a00, Vector128<float> a01, Vector128<float> a02, Vector128<float> a03,
        Vector128<float> a10, Vector128<float> a11, Vector128<float> a12, Vector128<float> a13,
        Vector128<float> a20, Vector128<float> a21, Vector128<float> a22, Vector128<float> a23,
        Vector128<float> a30, Vector128<float> a31, Vector128<float> a32, Vector128<float> a33)
    {
        // (a0 + a1) + (a2 + a3) per 4-lane piece p (lanes 4p..4p+3), then l + (l + 8), then + 4.
        var p0 = (a00 + a10) + (a20 + a30);
        var p1 = (a01 + a11) + (a21 + a31);
        var p2 = (a02 + a12) + (a22 + a32);
        var p3 = (a03 + a13) + (a23 + a33);
        var q = (p0 + p2) + (p1 + p3);
        return (q.ToScalar() + q.GetElement(2)) + (q.GetElement(1) + q.GetElement(3));
    }

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
        return Sum(a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> F(ref float w, ref float x, int c, Vector128<float> acc) =>
        Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref w, (nuint)c), Vector128.LoadUnsafe(ref x, (nuint)c), acc);
}
