using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>i8-gemm-nn4 on ARMv8.2 DotProd: SDOT .4S (4 positions x 4 columns of k, 16 multiply-adds, accumulate
/// included) with the weight quad broadcast, tile 4 rows x 2 vectors (GemmNnTile.Run). Exact: signed bytes, int32
/// lanes. Contract: I8GemmNn4Family.Check runs first; no alignment needed.</summary>
internal static class I8GemmNn44x2Dp
{
    public static void Run(ReadOnlySpan<int> wq, ReadOnlySpan<int> xq, Span<int> dot, int rows, int kq, int n, int ldx)
    {
        I8GemmNn4Family.Check(wq, xq, dot, rows, kq, n, ldx);
        GemmNnTile.Run<int, Vector128<int>, Lanes>(wq, xq, dot, rows, kq, n, ldx);
    }

    internal struct Lanes : IGemmNnLanes<int, Vector128<int>>
    {
        public static int Width => 4;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Load(ref int p, nuint i) => Vector128.LoadUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector128<int> v, ref int p, nuint i) => v.StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Splat(int quad) => Vector128.Create(quad);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> MulAdd(Vector128<int> acc, Vector128<int> w, Vector128<int> x) =>
            Dp.DotProduct(acc, w.AsSByte(), x.AsSByte());
        public static int Dot(ReadOnlySpan<int> wi, ReadOnlySpan<int> xq, int q, int ldx) => I8GemmNn4Scalar.Dot(wi, xq, q, ldx);
    }
}
