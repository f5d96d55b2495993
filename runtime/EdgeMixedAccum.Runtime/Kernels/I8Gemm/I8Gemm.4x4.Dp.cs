using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// ARMv8.2 dot product (Cortex-A76/A78: Raspberry Pi 5, Jetson Orin), 4 rows x 4 vectors x 16 columns. SDOT
/// adds groups of four signed x signed products straight into int32 lanes (no narrow stage, no sign trick):
/// exact for inputs in [-127, 127] and k &lt;= MaxK.
/// Contract: as <see cref="I8Gemm4x4ArmTile"/>, whose tile loops this kernel plugs its step into.
/// </summary>
internal static class I8Gemm4x4Dp
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
        => I8Gemm4x4ArmTile.Run<Op>(w, x, dot, rows, k, n);

    private struct Op : I8Gemm4x4ArmTile.IStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Step(Vector128<int> acc, Vector128<sbyte> wv, Vector128<sbyte> xv) => Dp.DotProduct(acc, wv, xv);
    }
}
