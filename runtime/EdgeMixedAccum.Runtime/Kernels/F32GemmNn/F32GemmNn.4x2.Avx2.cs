using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-gemm-nn on Vector256 (8 floats): VFMADD231PS ymm (Vector256 API). Tile of 4 rows x 2 vectors of positions (GemmNnTile.Run):
/// each x vector serves 4 rows, each weight broadcast 2 vectors. Bit-identical to the scalar reference (fused
/// steps, j ascending). Contract: no alignment needed; F32GemmNnFamily.Check runs first.
/// </summary>
internal static class F32GemmNn4x2Avx2
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n, int ldx)
    {
        F32GemmNnFamily.Check(w, x, y, rows, k, n, ldx);
        GemmNnTile.Run<float, Vector256<float>, Lanes>(w, x, y, rows, k, n, ldx);
    }

    internal struct Lanes : IGemmNnLanes<float, Vector256<float>>
    {
        public static int Width => 8;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(ref float p, nuint i) => Vector256.LoadUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<float> v, ref float p, nuint i) => v.StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Splat(float v) => Vector256.Create(v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> MulAdd(Vector256<float> acc, Vector256<float> w, Vector256<float> x) => Vector256.FusedMultiplyAdd(w, x, acc);
        public static float Dot(ReadOnlySpan<float> wi, ReadOnlySpan<float> x, int q, int ldx) => F32GemmNnScalar.Dot(wi, x, q, ldx);
    }
}
