using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// i8-gemm-nn4 on AVX-VNNI: VPDPBUSD ymm (8 positions x 4 columns of k, 32 multiply-adds, accumulate included),
/// tile 4 rows x 2 vectors (GemmNnTile.Run). VPDPBUSD multiplies unsigned by signed bytes, so each panel load
/// flips the sign bit (x + 128 as an unsigned byte) and the sums come out biased by 128 * (the row's weight sum),
/// subtracted at the end; the tails add the same bias to the reference so one correction serves every output.
/// Exact: int32 lanes wrap, and the true sum fits (kq &lt;= MaxKq), so the bias cancels to the bit.
/// Contract: I8GemmNn4Family.Check runs first; no alignment needed.
/// </summary>
internal static class I8GemmNn44x2AvxVnni
{
    public static void Run(ReadOnlySpan<int> wq, ReadOnlySpan<int> xq, Span<int> dot, int rows, int kq, int n, int ldx)
    {
        I8GemmNn4Family.Check(wq, xq, dot, rows, kq, n, ldx);
        GemmNnTile.Run<int, Vector256<int>, Lanes>(wq, xq, dot, rows, kq, n, ldx);
        for (int i = 0; i < rows && n > 0; i++)
        {
            int bias = Bias(wq.Slice(i * kq, kq));
            var row = dot.Slice(i * n, n);
            int q = 0;
            var vb = Vector256.Create(bias);
            for (; q + 8 <= n; q += 8) (Vector256.Create(row[q..]) - vb).CopyTo(row[q..]);
            for (; q < n; q++) row[q] -= bias;
        }
    }

    /// <summary>128 * the sum of a weight row's bytes: what the +128 of every x byte adds to its sums. In lanes by
    /// VPDPBUSD against bytes of 128 (a scalar loop here cost a fifth of the GEMM on short tiles).</summary>
    private static int Bias(ReadOnlySpan<int> wi)
    {
        var acc = Vector256<int>.Zero;
        var b128 = Vector256.Create((byte)128);
        int j = 0;
        for (; j + 8 <= wi.Length; j += 8) acc = AvxVnni.MultiplyWideningAndAdd(acc, b128, Vector256.Create(wi[j..]).AsSByte());
        int s = Vector256.Sum(acc);
        for (; j < wi.Length; j++)
            for (int t = 0; t < 4; t++) s = unchecked(s + 128 * I8GemmNn4Pack.Byte(wi[j], t));
        return s;
    }

    internal struct Lanes : IGemmNnLanes<int, Vector256<int>>
    {
        private static readonly Vector256<int> Flip = Vector256.Create(unchecked((int)0x80808080));
        public static int Width => 8;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Load(ref int p, nuint i) => Vector256.LoadUnsafe(ref p, i) ^ Flip;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<int> v, ref int p, nuint i) => v.StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Splat(int quad) => Vector256.Create(quad);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> MulAdd(Vector256<int> acc, Vector256<int> w, Vector256<int> x) =>
            AvxVnni.MultiplyWideningAndAdd(acc, x.AsByte(), w.AsSByte());
        /// <summary>The tail in the same biased form as the vector lanes (the caller subtracts the bias from all).</summary>
        public static int Dot(ReadOnlySpan<int> wi, ReadOnlySpan<int> xq, int q, int ldx) => unchecked(I8GemmNn4Scalar.Dot(wi, xq, q, ldx) + Bias(wi));
    }
}
