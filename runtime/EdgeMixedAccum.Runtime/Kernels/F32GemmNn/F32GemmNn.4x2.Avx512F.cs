using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-gemm-nn on Vector512 (16 floats): VFMADD231PS zmm (Vector512 API). Tile of 4 rows x 2 vectors of positions (GemmNnTile.Run):
/// each x vector serves 4 rows, each weight broadcast 2 vectors. Bit-identical to the scalar reference (fused
/// steps, j ascending). Contract: no alignment needed; F32GemmNnFamily.Check runs first.
/// </summary>
internal static class F32GemmNn4x2Avx512F
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n, int ldx)
    {
        F32GemmNnFamily.Check(w, x, y, rows, k, n, ldx);
        GemmNnTile.Run<float, Vector512<float>, Lanes>(w, x, y, rows, k, n, ldx);
    }

    internal struct Lanes : IGemmNnLanes<float, Vector512<float>>
    {
        public static int Width => 16;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load(ref float p, nuint i) => Vector512.LoadUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector512<float> v, ref float p, nuint i) => v.StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Splat(float v) => Vector512.Create(v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> MulAdd(Vector512<float> acc, Vector512<float> w, Vector512<float> x) => Vector512.FusedMultiplyAdd(w, x, acc);
        public static float Dot(ReadOnlySpan<float> wi, ReadOnlySpan<float> x, int q, int ldx) => F32GemmNnScalar.Dot(wi, x, q, ldx);
    }
}
