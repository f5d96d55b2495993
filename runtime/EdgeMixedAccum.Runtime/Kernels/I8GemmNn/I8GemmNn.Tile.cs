using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>The per-ISA vector operations of i8-gemm-nn, on a vector TV of Width int32 lanes (one position each).</summary>
internal interface II8NnLanes<TV> where TV : struct
{
    static abstract int Width { get; }
    static abstract TV Load(ref int p, nuint i);
    static abstract void Store(TV v, ref int p, nuint i);
    static abstract TV Splat(int pair);
    /// <summary>acc + lo(w)*lo(x) + hi(w)*hi(x) per lane, exact (operands in [-127, 127]).</summary>
    static abstract TV Madd(TV acc, TV w, TV x);
}

/// <summary>
/// The tile loop of the SIMD i8-gemm-nn variants, generic over the ISA's lanes: 4 rows x 2 vectors of
/// positions (8 accumulators), then 4 rows x 1 vector, then the last positions one by one (the scalar Dot).
/// Integer sums are exact, so every variant equals the scalar reference. Rows come in groups of 4, the last
/// rows % 4 one by one. Contract: no alignment needed; I8GemmNnFamily.Check runs first, so loads stay
/// in wp[0, rows*kp) and xp[0, (kp-1)*ldx + n), stores in dot[0, rows*n).
/// </summary>
internal static class I8GemmNnTile
{
    public static void Run4x2<TV, TL>(ReadOnlySpan<int> wp, ReadOnlySpan<int> xp, Span<int> dot, int rows, int kp, int n, int ldx)
        where TV : struct where TL : struct, II8NnLanes<TV>
    {
        I8GemmNnFamily.Check(wp, xp, dot, rows, kp, n, ldx);
        if (rows == 0 || n == 0) return;
        int V = TL.Width, full = n - n % V;
        ref int w0 = ref MemoryMarshal.GetReference(wp);
        ref int x0 = ref MemoryMarshal.GetReference(xp);
        ref int y0 = ref MemoryMarshal.GetReference(dot);
        int rows4 = rows - rows % 4;
        for (int i = 0; i < rows4; i += 4)
        {
            const int mr = 4;
            ref int a0 = ref Unsafe.Add(ref w0, (nint)i * kp);
            ref int a1 = ref Unsafe.Add(ref w0, (nint)(i + 1) * kp);
            ref int a2 = ref Unsafe.Add(ref w0, (nint)(i + 2) * kp);
            ref int a3 = ref Unsafe.Add(ref w0, (nint)(i + 3) * kp);
            ref int d0 = ref Unsafe.Add(ref y0, (nint)i * n);
            int q = 0;
            for (; q + 2 * V <= full; q += 2 * V)
            {
                TV c00 = default, c01 = default, c10 = default, c11 = default;
                TV c20 = default, c21 = default, c30 = default, c31 = default;
                ref int xq = ref Unsafe.Add(ref x0, q);
                for (int j = 0; j < kp; j++)
                {
                    ref int xr = ref Unsafe.Add(ref xq, (nint)j * ldx);
                    var x_0 = TL.Load(ref xr, 0);
                    var x_1 = TL.Load(ref xr, (nuint)V);
                    var w_ = TL.Splat(Unsafe.Add(ref a0, j));
                    c00 = TL.Madd(c00, w_, x_0); c01 = TL.Madd(c01, w_, x_1);
                    w_ = TL.Splat(Unsafe.Add(ref a1, j));
                    c10 = TL.Madd(c10, w_, x_0); c11 = TL.Madd(c11, w_, x_1);
                    w_ = TL.Splat(Unsafe.Add(ref a2, j));
                    c20 = TL.Madd(c20, w_, x_0); c21 = TL.Madd(c21, w_, x_1);
                    w_ = TL.Splat(Unsafe.Add(ref a3, j));
                    c30 = TL.Madd(c30, w_, x_0); c31 = TL.Madd(c31, w_, x_1);
                }
                ref int d = ref Unsafe.Add(ref d0, q);
                TL.Store(c00, ref d, 0); TL.Store(c01, ref d, (nuint)V);
                TL.Store(c10, ref d, (nuint)n); TL.Store(c11, ref d, (nuint)(n + V));
                TL.Store(c20, ref d, (nuint)(2 * n)); TL.Store(c21, ref d, (nuint)(2 * n + V));
                TL.Store(c30, ref d, (nuint)(3 * n)); TL.Store(c31, ref d, (nuint)(3 * n + V));
            }
            for (; q < full; q += V)
            {
                TV c0 = default, c1 = default, c2 = default, c3 = default;
                ref int xq = ref Unsafe.Add(ref x0, q);
                for (int j = 0; j < kp; j++)
                {
                    var xv = TL.Load(ref Unsafe.Add(ref xq, (nint)j * ldx), 0);
                    c0 = TL.Madd(c0, TL.Splat(Unsafe.Add(ref a0, j)), xv);
                    c1 = TL.Madd(c1, TL.Splat(Unsafe.Add(ref a1, j)), xv);
                    c2 = TL.Madd(c2, TL.Splat(Unsafe.Add(ref a2, j)), xv);
                    c3 = TL.Madd(c3, TL.Splat(Unsafe.Add(ref a3, j)), xv);
                }
                ref int d = ref Unsafe.Add(ref d0, q);
                TL.Store(c0, ref d, 0);
                TL.Store(c1, ref d, (nuint)n);
                TL.Store(c2, ref d, (nuint)(2 * n));
                TL.Store(c3, ref d, (nuint)(3 * n));
            }
            for (int r = 0; r < mr; r++)
            {
                var wi = wp.Slice((i + r) * kp, kp);
                for (int t = full; t < n; t++) dot[(i + r) * n + t] = I8GemmNnScalar.Dot(wi, xp, t, ldx);
            }
        }
        // The last rows % 4 rows one at a time, 4 vectors of positions per step (4 independent accumulators),
        // so a one-row call (a recompute) does no redundant rows.
        for (int i = rows4; i < rows; i++)
        {
            ref int a = ref Unsafe.Add(ref w0, (nint)i * kp);
            ref int d = ref Unsafe.Add(ref y0, (nint)i * n);
            int q = 0;
            for (; q + 4 * V <= full; q += 4 * V)
            {
                TV c0 = default, c1 = default, c2 = default, c3 = default;
                ref int xq = ref Unsafe.Add(ref x0, q);
                for (int j = 0; j < kp; j++)
                {
                    ref int xr = ref Unsafe.Add(ref xq, (nint)j * ldx);
                    var w_ = TL.Splat(Unsafe.Add(ref a, j));
                    c0 = TL.Madd(c0, w_, TL.Load(ref xr, 0));
                    c1 = TL.Madd(c1, w_, TL.Load(ref xr, (nuint)V));
                    c2 = TL.Madd(c2, w_, TL.Load(ref xr, (nuint)(2 * V)));
                    c3 = TL.Madd(c3, w_, TL.Load(ref xr, (nuint)(3 * V)));
                }
                TL.Store(c0, ref d, (nuint)q); TL.Store(c1, ref d, (nuint)(q + V));
                TL.Store(c2, ref d, (nuint)(q + 2 * V)); TL.Store(c3, ref d, (nuint)(q + 3 * V));
            }
            for (; q < full; q += V)
            {
                TV c0 = default;
                ref int xq = ref Unsafe.Add(ref x0, q);
                for (int j = 0; j < kp; j++)
                    c0 = TL.Madd(c0, TL.Splat(Unsafe.Add(ref a, j)), TL.Load(ref Unsafe.Add(ref xq, (nint)j * ldx), 0));
                TL.Store(c0, ref d, (nuint)q);
            }
            var wi = wp.Slice(i * kp, kp);
            for (int t = full; t < n; t++) dot[i * n + t] = I8GemmNnScalar.Dot(wi, xp, t, ldx);
        }
    }
}
