using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// ARM64 NEON (FMLA .4S), tile of 4 rows x 4 input vectors, V = 4: per step of V columns 4 w loads and 4 x
/// loads feed 16 independent accumulators (24 of the 32 V registers), so each w vector serves 4 input vectors
/// and each x vector 4 rows.
/// Order, the same for every output wherever it sits in a tile: one accumulator of V lanes per (row, input
/// vector); step j (multiples of V) adds column j + l to lane l (fused: one rounding per multiply-add); the
/// last k mod V columns, copied into zero-padded V-wide stack buffers, are one more fused step; then
/// (e0 + e1) + (e2 + e3), the horizontal sum of F32GemvRowsFamily.Sum, done for 4 rows at once with FADDP
/// (vector), whose pairs are the same.
/// Tiles: rows sweep outer, input vectors inner, over chunks of x sized by F32GemmFamily.SampleChunk. A tile
/// past the last row or input vector repeats the last one (clamped indices) and stores only the real outputs.
/// Contract: no alignment needed; any shape; F32GemmFamily.Check runs first, so loads stay in
/// w[0, rows*k) and x[0, n*k) and stores in y[0, n*rows).
/// </summary>
internal static class F32Gemm4x4AdvSimd
{
    private const int V = 4, MR = 4, NR = 4;

    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n)
    {
        F32GemmFamily.Check(w, x, y, rows, k, n);
        if (rows == 0 || n == 0) return;
        Span<float> pad = stackalloc float[(MR + NR) * V];
        pad.Clear(); // lanes past k mod V stay zero for the whole call
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        ref float p0 = ref MemoryMarshal.GetReference(pad);
        int chunk = F32GemmFamily.SampleChunk(k, NR);
        for (int sc = 0; sc < n; sc += chunk)
        {
            int sEnd = Math.Min(n, sc + chunk);
            for (int i = 0; i < rows; i += MR)
                for (int s = sc; s < sEnd; s += NR)
                    Tile(ref w0, ref x0, ref y0, ref p0, i, s, rows, k, n);
        }
    }

    private static void Tile(ref float w0, ref float x0, ref float y0, ref float pad, int i, int s, int rows, int k, int n)
    {
        int last = rows - 1, lastS = n - 1;
        ref float a0 = ref Unsafe.Add(ref w0, (nint)i * k);
        ref float a1 = ref Unsafe.Add(ref w0, (nint)Math.Min(i + 1, last) * k);
        ref float a2 = ref Unsafe.Add(ref w0, (nint)Math.Min(i + 2, last) * k);
        ref float a3 = ref Unsafe.Add(ref w0, (nint)Math.Min(i + 3, last) * k);
        ref float b0 = ref Unsafe.Add(ref x0, (nint)s * k);
        ref float b1 = ref Unsafe.Add(ref x0, (nint)Math.Min(s + 1, lastS) * k);
        ref float b2 = ref Unsafe.Add(ref x0, (nint)Math.Min(s + 2, lastS) * k);
        ref float b3 = ref Unsafe.Add(ref x0, (nint)Math.Min(s + 3, lastS) * k);
        int kt = k % V, end = k - kt;
        // The k tail first (a call, so no accumulator is live across it): the last kt columns of each row
        // and input vector into zero-padded V-wide buffers.
        if (kt > 0)
        {
            Copy(ref Unsafe.Add(ref a0, end), ref pad, kt);
            Copy(ref Unsafe.Add(ref a1, end), ref Unsafe.Add(ref pad, V), kt);
            Copy(ref Unsafe.Add(ref a2, end), ref Unsafe.Add(ref pad, 2 * V), kt);
            Copy(ref Unsafe.Add(ref a3, end), ref Unsafe.Add(ref pad, 3 * V), kt);
            Copy(ref Unsafe.Add(ref b0, end), ref Unsafe.Add(ref pad, 4 * V), kt);
            Copy(ref Unsafe.Add(ref b1, end), ref Unsafe.Add(ref pad, 5 * V), kt);
            Copy(ref Unsafe.Add(ref b2, end), ref Unsafe.Add(ref pad, 6 * V), kt);
            Copy(ref Unsafe.Add(ref b3, end), ref Unsafe.Add(ref pad, 7 * V), kt);
        }
        Vector128<float> c00 = default, c10 = default, c20 = default, c30 = default;
        Vector128<float> c01 = default, c11 = default, c21 = default, c31 = default;
        Vector128<float> c02 = default, c12 = default, c22 = default, c32 = default;
        Vector128<float> c03 = default, c13 = default, c23 = default, c33 = default;
        for (int j = 0; j < end; j += V)
        {
            var w_0 = Vector128.LoadUnsafe(ref a0, (nuint)j);
            var w_1 = Vector128.LoadUnsafe(ref a1, (nuint)j);
            var w_2 = Vector128.LoadUnsafe(ref a2, (nuint)j);
            var w_3 = Vector128.LoadUnsafe(ref a3, (nuint)j);
            var xv = Vector128.LoadUnsafe(ref b0, (nuint)j);
            c00 = MAD(c00, w_0, xv); c10 = MAD(c10, w_1, xv); c20 = MAD(c20, w_2, xv); c30 = MAD(c30, w_3, xv);
            xv = Vector128.LoadUnsafe(ref b1, (nuint)j);
            c01 = MAD(c01, w_0, xv); c11 = MAD(c11, w_1, xv); c21 = MAD(c21, w_2, xv); c31 = MAD(c31, w_3, xv);
            xv = Vector128.LoadUnsafe(ref b2, (nuint)j);
            c02 = MAD(c02, w_0, xv); c12 = MAD(c12, w_1, xv); c22 = MAD(c22, w_2, xv); c32 = MAD(c32, w_3, xv);
            xv = Vector128.LoadUnsafe(ref b3, (nuint)j);
            c03 = MAD(c03, w_0, xv); c13 = MAD(c13, w_1, xv); c23 = MAD(c23, w_2, xv); c33 = MAD(c33, w_3, xv);
        }
        if (kt > 0)
        {
            // One more step over the zero-padded tail buffers.
            var w_0 = Vector128.LoadUnsafe(ref pad);
            var w_1 = Vector128.LoadUnsafe(ref pad, V);
            var w_2 = Vector128.LoadUnsafe(ref pad, 2 * V);
            var w_3 = Vector128.LoadUnsafe(ref pad, 3 * V);
            var xv = Vector128.LoadUnsafe(ref pad, 4 * V);
            c00 = MAD(c00, w_0, xv); c10 = MAD(c10, w_1, xv); c20 = MAD(c20, w_2, xv); c30 = MAD(c30, w_3, xv);
            xv = Vector128.LoadUnsafe(ref pad, 5 * V);
            c01 = MAD(c01, w_0, xv); c11 = MAD(c11, w_1, xv); c21 = MAD(c21, w_2, xv); c31 = MAD(c31, w_3, xv);
            xv = Vector128.LoadUnsafe(ref pad, 6 * V);
            c02 = MAD(c02, w_0, xv); c12 = MAD(c12, w_1, xv); c22 = MAD(c22, w_2, xv); c32 = MAD(c32, w_3, xv);
            xv = Vector128.LoadUnsafe(ref pad, 7 * V);
            c03 = MAD(c03, w_0, xv); c13 = MAD(c13, w_1, xv); c23 = MAD(c23, w_2, xv); c33 = MAD(c33, w_3, xv);
        }
        int mr = Math.Min(MR, rows - i), nr = Math.Min(NR, n - s);
        ref float d = ref Unsafe.Add(ref y0, (nint)s * rows + i);
        Store(Sum4(c00, c10, c20, c30), ref d, mr);
        if (nr > 1) Store(Sum4(c01, c11, c21, c31), ref Unsafe.Add(ref d, rows), mr);
        if (nr > 2) Store(Sum4(c02, c12, c22, c32), ref Unsafe.Add(ref d, 2 * rows), mr);
        if (nr > 3) Store(Sum4(c03, c13, c23, c33), ref Unsafe.Add(ref d, 3 * rows), mr);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> MAD(Vector128<float> acc, Vector128<float> w, Vector128<float> x) => AdvSimd.FusedMultiplyAdd(acc, w, x);

    /// <summary>The 4 horizontal sums in F32GemvRowsFamily.Sum's order: FADDP twice gives (e0 + e1) + (e2 + e3) of each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d) =>
        AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a, b), AdvSimd.Arm64.AddPairwise(c, d));

    /// <summary>4 consecutive outputs of one input vector, or the first mr of them at the last row tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<float> v, ref float d, int mr)
    {
        if (mr == MR) { v.StoreUnsafe(ref d); return; }
        d = v.GetElement(0);
        if (mr > 1) Unsafe.Add(ref d, 1) = v.GetElement(1);
        if (mr > 2) Unsafe.Add(ref d, 2) = v.GetElement(2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(ref float src, ref float dst, int count) =>
        Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref dst), ref Unsafe.As<float, byte>(ref src), (uint)count * sizeof(float));
}
