using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX-512F (VFMADD231PS zmm), 4 listed rows per step, V = 16: per step of V columns one x load and 4 w loads
/// feed 4 independent accumulators, one per row, so the FMA latency is spread over 4 rows instead of 4 partial
/// sums of one row.
/// Order, exactly that of f32-gemm-4x4-avx512f (F32Gemm4x4Avx512F) for every row, wherever it sits in the
/// list: one accumulator of V lanes per row; step j (multiples of V) adds column j + l to lane l (fused: one
/// rounding per multiply-add); the last k mod V columns, copied into zero-padded V-wide stack buffers (x's tail
/// once per call, each row's tail per row), are one more fused step; then the horizontal sum of
/// F32GemvRowsFamily.Sum (fold halves down to 128 bits, then (e0 + e1) + (e2 + e3)), done for 4 rows at once
/// with HADDPS, whose pairs are the same. The last rows.Length mod 4 rows go one at a time in the same order.
/// So y[r] is bit-identical to f32-gemm-4x4-avx512f's output for row rows[r] and input vector x.
/// Contract: no alignment needed; any k (0 gives 0) and row list (empty, unordered, repeats); each listed row
/// is checked to lie inside w before its loads, so reads stay in w[row*k, row*k + k) and x[0, k), and writes
/// in y[0, rows.Length).
/// </summary>
internal static class F32GemvRows4x16Avx512F
{
    private const int V = 16, MR = 4;

    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> rows, Span<float> y, int k)
    {
        F32GemvRowsFamily.Check(x, rows, y, k);
        if (rows.Length == 0) return;
        Span<float> pad = stackalloc float[(MR + 1) * V];
        pad.Clear(); // lanes past k mod V stay zero for the whole call
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float p0 = ref MemoryMarshal.GetReference(pad);
        ref float xt = ref Unsafe.Add(ref p0, MR * V);
        int kt = k % V, end = k - kt;
        F32GemvRowsFamily.Copy(ref Unsafe.Add(ref xr, end), ref xt, kt);
        int r = 0;
        for (; r + MR <= rows.Length; r += MR)
        {
            int i0 = rows[r], i1 = rows[r + 1], i2 = rows[r + 2], i3 = rows[r + 3];
            F32GemvRowsFamily.CheckRow(i0, k, w.Length);
            F32GemvRowsFamily.CheckRow(i1, k, w.Length);
            F32GemvRowsFamily.CheckRow(i2, k, w.Length);
            F32GemvRowsFamily.CheckRow(i3, k, w.Length);
            ref float a0 = ref Unsafe.Add(ref w0, (nint)i0 * k);
            ref float a1 = ref Unsafe.Add(ref w0, (nint)i1 * k);
            ref float a2 = ref Unsafe.Add(ref w0, (nint)i2 * k);
            ref float a3 = ref Unsafe.Add(ref w0, (nint)i3 * k);
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
            for (int j = 0; j < end; j += V)
            {
                var xv = Vector512.LoadUnsafe(ref xr, (nuint)j);
                c0 = MAD(c0, Vector512.LoadUnsafe(ref a0, (nuint)j), xv);
                c1 = MAD(c1, Vector512.LoadUnsafe(ref a1, (nuint)j), xv);
                c2 = MAD(c2, Vector512.LoadUnsafe(ref a2, (nuint)j), xv);
                c3 = MAD(c3, Vector512.LoadUnsafe(ref a3, (nuint)j), xv);
            }
            if (kt != 0)
            {
                // The k tail: the last kt columns of each row into zero-padded V-wide buffers, one more fused step.
                F32GemvRowsFamily.Copy(ref Unsafe.Add(ref a0, end), ref p0, kt);
                F32GemvRowsFamily.Copy(ref Unsafe.Add(ref a1, end), ref Unsafe.Add(ref p0, (nuint)V), kt);
                F32GemvRowsFamily.Copy(ref Unsafe.Add(ref a2, end), ref Unsafe.Add(ref p0, (nuint)(2 * V)), kt);
                F32GemvRowsFamily.Copy(ref Unsafe.Add(ref a3, end), ref Unsafe.Add(ref p0, (nuint)(3 * V)), kt);
                var xv = Vector512.LoadUnsafe(ref xt);
                c0 = MAD(c0, Vector512.LoadUnsafe(ref p0), xv);
                c1 = MAD(c1, Vector512.LoadUnsafe(ref p0, (nuint)V), xv);
                c2 = MAD(c2, Vector512.LoadUnsafe(ref p0, (nuint)(2 * V)), xv);
                c3 = MAD(c3, Vector512.LoadUnsafe(ref p0, (nuint)(3 * V)), xv);
            }
            Sum4(c0, c1, c2, c3).StoreUnsafe(ref yr, (nuint)r);
        }
        for (; r < rows.Length; r++)
        {
            int i0 = rows[r];
            F32GemvRowsFamily.CheckRow(i0, k, w.Length);
            ref float a0 = ref Unsafe.Add(ref w0, (nint)i0 * k);
            Vector512<float> c0 = default;
            for (int j = 0; j < end; j += V)
                c0 = MAD(c0, Vector512.LoadUnsafe(ref a0, (nuint)j), Vector512.LoadUnsafe(ref xr, (nuint)j));
            if (kt != 0)
            {
                F32GemvRowsFamily.Copy(ref Unsafe.Add(ref a0, end), ref p0, kt);
                c0 = MAD(c0, Vector512.LoadUnsafe(ref p0), Vector512.LoadUnsafe(ref xt));
            }
            Unsafe.Add(ref yr, r) = F32GemvRowsFamily.Sum(c0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> MAD(Vector512<float> acc, Vector512<float> w, Vector512<float> x) => Avx512F.FusedMultiplyAdd(w, x, acc);

    /// <summary>The 4 horizontal sums in F32GemvRowsFamily.Sum's order: halves folded to 128 bits, then
    /// HADDPS twice gives (e0 + e1) + (e2 + e3) of each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d) =>
        Sse3.HorizontalAdd(Sse3.HorizontalAdd(Fold(a), Fold(b)), Sse3.HorizontalAdd(Fold(c), Fold(d)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Fold(Vector512<float> v)
    {
        var h = v.GetLower() + v.GetUpper();
        return h.GetLower() + h.GetUpper();
    }
}
