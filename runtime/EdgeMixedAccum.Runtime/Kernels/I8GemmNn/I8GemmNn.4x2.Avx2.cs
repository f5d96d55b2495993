using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>i8-gemm-nn on AVX2: VPMADDWD ymm (8 positions x 2 columns of k per instruction) + VPADDD, tile 4 rows
/// x 2 vectors (GemmNnTile.Run). Exact. Contract: I8GemmNnFamily.Check runs first; no alignment needed.</summary>
internal static class I8GemmNn4x2Avx2
{
    public static void Run(ReadOnlySpan<int> wp, ReadOnlySpan<int> xp, Span<int> dot, int rows, int kp, int n, int ldx)
    {
        I8GemmNnFamily.Check(wp, xp, dot, rows, kp, n, ldx);
        GemmNnTile.Run<int, Vector256<int>, Lanes>(wp, xp, dot, rows, kp, n, ldx);
    }

    internal struct Lanes : IGemmNnLanes<int, Vector256<int>>
    {
        public static int Width => 8;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Load(ref int p, nuint i) => Vector256.LoadUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<int> v, ref int p, nuint i) => v.StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Splat(int pair) => Vector256.Create(pair);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> MulAdd(Vector256<int> acc, Vector256<int> w, Vector256<int> x) =>
            Avx2.Add(acc, Avx2.MultiplyAddAdjacent(w.AsInt16(), x.AsInt16()));
        public static int Dot(ReadOnlySpan<int> wi, ReadOnlySpan<int> xp, int q, int ldx) => I8GemmNnScalar.Dot(wi, xp, q, ldx);
    }
}
