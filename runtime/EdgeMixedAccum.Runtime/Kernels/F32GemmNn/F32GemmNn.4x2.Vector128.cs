using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-gemm-nn on Vector128 (4 floats): AdvSimd FMLA .4S on ARM64, VFMADD on x86 with FMA (the portable Vector128 API; software-fused elsewhere). Tile of 4 rows x 2 vectors of positions (GemmNnTile.Run):
/// each x vector serves 4 rows, each weight broadcast 2 vectors. Bit-identical to the scalar reference (fused
/// steps, j ascending). Contract: no alignment needed; F32GemmNnFamily.Check runs first.
/// </summary>
internal static class F32GemmNn4x2Vector128
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n, int ldx)
    {
        F32GemmNnFamily.Check(w, x, y, rows, k, n, ldx);
        GemmNnTile.Run<float, Vector128<float>, Lanes>(w, x, y, rows, k, n, ldx);
    }

    internal struct Lanes : IGemmNnLanes<float, Vector128<float>>
    {
        public static int Width => 4;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Load(ref float p, nuint i) => Vector128.LoadUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector128<float> v, ref float p, nuint i) => v.StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Splat(float v) => Vector128.Create(v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> MulAdd(Vector128<float> acc, Vector128<float> w, Vector128<float> x) => Vector128.FusedMultiplyAdd(w, x, acc);
        public static float Dot(ReadOnlySpan<float> wi, ReadOnlySpan<float> x, int q, int ldx) => F32GemmNnScalar.Dot(wi, x, q, ldx);
    }
}
