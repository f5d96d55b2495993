namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The reference: one row at a time, j ascending, int32 accumulators. Any rows/k (0 included); reads only
/// through bounds-checked spans; no alignment needs. Exact for inputs in [-127, 127] and k <= MaxK (also for -128).
/// </summary>
internal static class I8GemvScalar
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
    {
        I8GemvFamily.Check(w, x, dot, absDot, rows, k);
        if (absDot.IsEmpty) Rows<NoAbs>(w, x, dot, absDot, rows, k);
        else Rows<WithAbs>(w, x, dot, absDot, rows, k);
    }

    private static void Rows<TAbs>(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
        where TAbs : struct, IAbsMode
    {
        x = x[..k];
        for (int i = 0; i < rows; i++)
        {
            var wr = w.Slice(i * k, k);
            int d = 0, a = 0;
            for (int j = 0; j < wr.Length; j++)
            {
                int p = wr[j] * x[j];
                d += p;
                if (TAbs.On) a += (p ^ (p >> 31)) - (p >> 31); // |w*x| = |w|*|x|: one branchless abs
            }
            dot[i] = d;
            if (TAbs.On) absDot[i] = a;
        }
    }

    /// <summary>Shared by the SIMD kernels: adds columns [j0, k) of one row to the vector sums (d, a) in
    /// plain scalar code, so no kernel ever loads a partial vector past the end of w or x, then stores.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static void Finish<TAbs>(ref sbyte wRow, ref sbyte x, int j0, int k, int d, int a, ref int dotOut, ref int absOut)
        where TAbs : struct, IAbsMode
    {
        for (int j = j0; j < k; j++)
        {
            int p = System.Runtime.CompilerServices.Unsafe.Add(ref wRow, j) * System.Runtime.CompilerServices.Unsafe.Add(ref x, j);
            d += p;
            if (TAbs.On) a += (p ^ (p >> 31)) - (p >> 31);
        }
        dotOut = d;
        if (TAbs.On) absOut = a;
    }
}
