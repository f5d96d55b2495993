using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The reference: one (vector, row) pair at a time, j ascending, int32 accumulators. Any rows/k/n (0 included);
/// reads only through bounds-checked spans; no alignment needs. Exact for inputs in [-127, 127] and k &lt;= MaxK.
/// </summary>
internal static class I8GemmScalar
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
    {
        I8GemmFamily.Check(w, x, dot, rows, k, n);
        for (int s = 0; s < n; s++)
        {
            var xs = x.Slice(s * k, k);
            var ds = dot.Slice(s * rows, rows);
            for (int i = 0; i < rows; i++)
            {
                var wr = w.Slice(i * k, k);
                int d = 0;
                for (int j = 0; j < wr.Length; j++) d += wr[j] * xs[j];
                ds[i] = d;
            }
        }
    }

    /// <summary>Shared by the SIMD kernels: the sum over columns [j0, k) of one row and one vector in plain
    /// scalar code, so no kernel ever loads a partial vector past the end of w or x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Tail(ref sbyte wRow, ref sbyte xVec, int j0, int k)
    {
        int d = 0;
        for (int j = j0; j < k; j++) d += Unsafe.Add(ref wRow, j) * Unsafe.Add(ref xVec, j);
        return d;
    }

    /// <summary>Shared by the 4-row SIMD tiles (x86 and ARM): <see cref="Tail"/> over columns [kv, k) of rows
    /// r0..r3 (k apart) against one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> Tails4(ref sbyte r0, ref sbyte v, int kv, int k)
    {
        if (kv >= k) return Vector128<int>.Zero;
        return Vector128.Create(
            Tail(ref r0, ref v, kv, k),
            Tail(ref Unsafe.Add(ref r0, k), ref v, kv, k),
            Tail(ref Unsafe.Add(ref r0, 2 * k), ref v, kv, k),
            Tail(ref Unsafe.Add(ref r0, 3 * k), ref v, kv, k));
    }
}
