using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// The widest vector loop Algorithm 1's per-component helpers (<see cref="I8Quantizer"/>, <see cref="I8Bounds"/>,
/// <see cref="FlagTest"/>) may run, read once: 512 bits on AVX-512, 256 on AVX2 (before, AVX2 machines ran those
/// loops in 128-bit lanes, half their width), 128 on NEON. Every width gives the scalar reference's bits; the
/// helpers take a narrower width as a parameter so tests check each loop this machine can run on the same inputs.
/// </summary>
internal static class LaneWidth
{
    public static readonly int Best = Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? 512
        : Vector256.IsHardwareAccelerated && Avx2.IsSupported ? 256
        : Vector128.IsHardwareAccelerated ? 128 : 0;

    /// <summary>The widths this machine runs, widest first (tests). The helpers clamp a wider request to <see cref="Best"/>.</summary>
    public static IEnumerable<int> Supported()
    {
        foreach (int w in new[] { 512, 256, 128, 0 })
            if (w <= Best) yield return w;
    }
}
