using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>i8-gemm-nn on AVX-512BW: VPMADDWD zmm (16 positions x 2 columns of k per instruction) + VPADDD, tile
/// 4 rows x 2 vectors (GemmNnTile.Run). Exact. Contract: I8GemmNnFamily.Check runs first; no alignment needed.</summary>
internal static class I8GemmNn4x2Avx512BW
{
    public static void Run(ReadOnlySpan<int> wp, ReadOnlySpan<int> xp, Span<int> dot, int rows, int kp, int n, int ldx)
    {
        I8GemmNnFamily.Check(wp, xp, dot, rows, kp, n, ldx);
        GemmNnTile.Run<int, Vector512<int>, Lanes>(wp, xp, dot, rows, kp, n, ldx);
    }

    internal struct Lanes : IGemmNnLanes<int, Vector512<int>>
    {
        public static int Width => 16;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Load(ref int p, nuint i) => Vector512.LoadUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector512<int> v, ref int p, nuint i) => v.StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Splat(int pair) => Vector512.Create(pair);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> MulAdd(Vector512<int> acc, Vector512<int> w, Vector512<int> x) =>
            Avx512BW.Add(acc, Avx512BW.MultiplyAddAdjacent(w.AsInt16(), x.AsInt16()));
        public static int Dot(ReadOnlySpan<int> wi, ReadOnlySpan<int> xp, int q, int ldx) => I8GemmNnScalar.Dot(wi, xp, q, ldx);
    }
}
