using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>i8-gemm-nn on NEON: each accumulator is two int32 vectors; SMLAL adds the 4 products of the low 4 int16
/// lanes (positions 0-1, both halves of each pair) into one, SMLAL2 those of the high 4 (positions 2-3) into the
/// other, and one ADDP at the store sums each pair's two products: 2 instructions per 8 multiply-adds where
/// SMULL + SMULL2 + ADDP + ADD took 4. Tile 4 rows x 2 vectors (GemmNnTile.Run). Exact: integer sums in any
/// order, each int32 lane holding at most the products the one-accumulator form held.
/// Contract: I8GemmNnFamily.Check runs first; no alignment needed.</summary>
internal static class I8GemmNn4x2AdvSimd
{
    public static void Run(ReadOnlySpan<int> wp, ReadOnlySpan<int> xp, Span<int> dot, int rows, int kp, int n, int ldx)
    {
        I8GemmNnFamily.Check(wp, xp, dot, rows, kp, n, ldx);
        GemmNnTile.Run<int, Pairs, Lanes>(wp, xp, dot, rows, kp, n, ldx);
    }

    /// <summary>A vector of 4 positions' pairs (Lo; Hi unused) or an accumulator (products of positions 0-1 in Lo,
    /// 2-3 in Hi, each pair's two products in adjacent lanes).</summary>
    internal readonly struct Pairs(Vector128<int> lo, Vector128<int> hi)
    {
        public readonly Vector128<int> Lo = lo, Hi = hi;
    }

    internal struct Lanes : IGemmNnLanes<int, Pairs>
    {
        public static int Width => 4;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Pairs Load(ref int p, nuint i) => new(Vector128.LoadUnsafe(ref p, i), default);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Pairs v, ref int p, nuint i) => AdvSimd.Arm64.AddPairwise(v.Lo, v.Hi).StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Pairs Splat(int pair) => new(Vector128.Create(pair), default);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Pairs MulAdd(Pairs acc, Pairs w, Pairs x)
        {
            var ws = w.Lo.AsInt16(); var xs = x.Lo.AsInt16();
            return new(AdvSimd.MultiplyWideningLowerAndAdd(acc.Lo, ws.GetLower(), xs.GetLower()),
                AdvSimd.MultiplyWideningUpperAndAdd(acc.Hi, ws, xs));
        }
        public static int Dot(ReadOnlySpan<int> wi, ReadOnlySpan<int> xp, int q, int ldx) => I8GemmNnScalar.Dot(wi, xp, q, ldx);
    }
}
