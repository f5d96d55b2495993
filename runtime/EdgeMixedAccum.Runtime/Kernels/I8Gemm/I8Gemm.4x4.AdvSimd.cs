using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// ARM64 NEON without the dot product (Cortex-A72/A57: Raspberry Pi 4, Jetson Nano), 4 rows x 4 vectors x 16
/// columns. SMULL + SMLAL2 put two signed x signed products per int16 lane (at most 2*127*127 = 32258 &lt; 32767:
/// exact for inputs in [-127, 127], no sign trick), SADALP adds the pairs into int32.
/// Contract: as <see cref="I8Gemm4x4ArmTile"/>, whose tile loops this kernel plugs its step into.
/// </summary>
internal static class I8Gemm4x4AdvSimd
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
        => I8Gemm4x4ArmTile.Run<Op>(w, x, dot, rows, k, n);

    private struct Op : I8Gemm4x4ArmTile.IStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Step(Vector128<int> acc, Vector128<sbyte> wv, Vector128<sbyte> xv)
        {
            var p = AdvSimd.MultiplyWideningLower(wv.GetLower(), xv.GetLower());
            return AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningUpperAndAdd(p, wv, xv));
        }
    }
}
