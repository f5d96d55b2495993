using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX2 + FMA (VFMADD231PS; in .NET 10 Avx2 support implies FMA, the x86-64-v3 level), one row at a time, 32
/// columns per step, V = 8. Four independent accumulators hide the FMA latency.
/// Order: four accumulators of V lanes; step j (multiples of 4V) adds column j + a*V + l to lane l of
/// accumulator a (fused: one rounding per multiply-add); then whole V-wide blocks go to accumulator 0; then
/// (acc0 + acc1) + (acc2 + acc3), the horizontal sum of F32GemvRowsFamily.Sum, and the last k mod V columns
/// sequentially (s += w*x, unfused).
/// Contract: no alignment needed; any k (0 gives 0) and row list; each listed row is checked to lie inside w
/// before its loads, so reads stay in w[row*k, row*k + k) and x[0, k).
/// </summary>
internal static class F32GemvRows1x32Avx2
{
    private const int V = 8;

    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> rows, Span<float> y, int k)
    {
        F32GemvRowsFamily.Check(x, rows, y, k);
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float xr = ref MemoryMarshal.GetReference(x);
        int k4 = k - k % (4 * V), kv = k - k % V;
        for (int r = 0; r < rows.Length; r++)
        {
            int row = rows[r];
            F32GemvRowsFamily.CheckRow(row, k, w.Length);
            ref float wr = ref Unsafe.Add(ref w0, (nint)row * k);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            int j = 0;
            for (; j < k4; j += 4 * V)
            {
                a0 = MAD(a0, Vector256.LoadUnsafe(ref wr, (nuint)j), Vector256.LoadUnsafe(ref xr, (nuint)j));
                a1 = MAD(a1, Vector256.LoadUnsafe(ref wr, (nuint)(j + V)), Vector256.LoadUnsafe(ref xr, (nuint)(j + V)));
                a2 = MAD(a2, Vector256.LoadUnsafe(ref wr, (nuint)(j + 2 * V)), Vector256.LoadUnsafe(ref xr, (nuint)(j + 2 * V)));
                a3 = MAD(a3, Vector256.LoadUnsafe(ref wr, (nuint)(j + 3 * V)), Vector256.LoadUnsafe(ref xr, (nuint)(j + 3 * V)));
            }
            for (; j < kv; j += V)
                a0 = MAD(a0, Vector256.LoadUnsafe(ref wr, (nuint)j), Vector256.LoadUnsafe(ref xr, (nuint)j));
            float s = F32GemvRowsFamily.Sum((a0 + a1) + (a2 + a3));
            for (; j < k; j++) s += Unsafe.Add(ref wr, j) * Unsafe.Add(ref xr, j);
            y[r] = s;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MAD(Vector256<float> acc, Vector256<float> w, Vector256<float> x) => Fma.MultiplyAdd(w, x, acc);
}
