using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>i8-gemm-nn on NEON: SMULL + SMULL2 give the 8 int32 products of 4 positions' pairs, ADDP sums each
/// pair (the VPMADDWD of x86), ADD accumulates; tile 4 rows x 2 vectors (GemmNnTile.Run). Exact.
/// Contract: I8GemmNnFamily.Check runs first; no alignment needed.</summary>
internal static class I8GemmNn4x2AdvSimd
{
    public static void Run(ReadOnlySpan<int> wp, ReadOnlySpan<int> xp, Span<int> dot, int rows, int kp, int n, int ldx)
    {
        I8GemmNnFamily.Check(wp, xp, dot, rows, kp, n, ldx);
        GemmNnTile.Run<int, Vector128<int>, Lanes>(wp, xp, dot, rows, kp, n, ldx);
    }

    internal struct Lanes : IGemmNnLanes<int, Vector128<int>>
    {
        public static int Width => 4;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Load(ref int p, nuint i) => Vector128.LoadUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector128<int> v, ref int p, nuint i) => v.StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Splat(int pair) => Vector128.Create(pair);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> MulAdd(Vector128<int> acc, Vector128<int> w, Vector128<int> x)
        {
            var ws = w.AsInt16(); var xs = x.AsInt16();
            var lo = AdvSimd.MultiplyWideningLower(ws.GetLower(), xs.GetLower());
            var hi = AdvSimd.MultiplyWideningUpper(ws, xs);
            return AdvSimd.Add(acc, AdvSimd.Arm64.AddPairwise(lo, hi));
        }
        public static int Dot(ReadOnlySpan<int> wi, ReadOnlySpan<int> xp, int q, int ldx) => I8GemmNnScalar.Dot(wi, xp, q, ldx);
    }
}
