using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// i8-pack-quads on NEON: 16 positions per step, four 16-byte loads and one ST4 (store four registers
/// interleaved byte by byte: a[q], b[q], c[q], d[q] for each q, which is the quad in memory order), against about
/// sixty widening, shift and OR instructions of the portable variant.
/// Contract: no alignment needed; I8PackQuadsFamily.Check runs first (rows of one length n, dst of n or more).
/// </summary>
internal static class I8PackQuads16AdvSimd
{
    public static unsafe void Run(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, ReadOnlySpan<sbyte> c, ReadOnlySpan<sbyte> d, Span<int> dst)
    {
        I8PackQuadsFamily.Check(a, b, c, d, dst);
        int n = a.Length, q = 0;
        ref sbyte ar = ref MemoryMarshal.GetReference(a), br = ref MemoryMarshal.GetReference(b);
        ref sbyte cr = ref MemoryMarshal.GetReference(c), dr = ref MemoryMarshal.GetReference(d);
        fixed (int* y = dst)
        {
            for (; q + 16 <= n; q += 16)
                AdvSimd.Arm64.StoreVectorAndZip((sbyte*)(y + q), (
                    Vector128.LoadUnsafe(ref ar, (nuint)q), Vector128.LoadUnsafe(ref br, (nuint)q),
                    Vector128.LoadUnsafe(ref cr, (nuint)q), Vector128.LoadUnsafe(ref dr, (nuint)q)));
        }
        I8PackQuadsScalar.Tail(a, b, c, d, dst, q);
    }
}
