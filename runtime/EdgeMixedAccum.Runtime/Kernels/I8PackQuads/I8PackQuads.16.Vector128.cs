using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// i8-pack-quads on portable Vector128: 16 positions per step, each row's bytes zero-extended to four int32
/// vectors and shifted into place (b by 8, c by 16, d by 24), OR-ed, four 16-byte stores. The fallback of a
/// vector ISA without an interleaving store.
/// Contract: no alignment needed; I8PackQuadsFamily.Check runs first (rows of one length n, dst of n or more).
/// </summary>
internal static class I8PackQuads16Vector128
{
    public static void Run(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, ReadOnlySpan<sbyte> c, ReadOnlySpan<sbyte> d, Span<int> dst)
    {
        I8PackQuadsFamily.Check(a, b, c, d, dst);
        int n = a.Length, q = 0;
        ref sbyte ar = ref MemoryMarshal.GetReference(a), br = ref MemoryMarshal.GetReference(b);
        ref sbyte cr = ref MemoryMarshal.GetReference(c), dr = ref MemoryMarshal.GetReference(d);
        ref int yr = ref MemoryMarshal.GetReference(dst);
        for (; q + 16 <= n; q += 16)
        {
            var (a0, a1, a2, a3) = Bytes(Vector128.LoadUnsafe(ref ar, (nuint)q));
            var (b0, b1, b2, b3) = Bytes(Vector128.LoadUnsafe(ref br, (nuint)q));
            var (c0, c1, c2, c3) = Bytes(Vector128.LoadUnsafe(ref cr, (nuint)q));
            var (d0, d1, d2, d3) = Bytes(Vector128.LoadUnsafe(ref dr, (nuint)q));
            (a0 | (b0 << 8) | (c0 << 16) | (d0 << 24)).AsInt32().StoreUnsafe(ref yr, (nuint)q);
            (a1 | (b1 << 8) | (c1 << 16) | (d1 << 24)).AsInt32().StoreUnsafe(ref yr, (nuint)(q + 4));
            (a2 | (b2 << 8) | (c2 << 16) | (d2 << 24)).AsInt32().StoreUnsafe(ref yr, (nuint)(q + 8));
            (a3 | (b3 << 8) | (c3 << 16) | (d3 << 24)).AsInt32().StoreUnsafe(ref yr, (nuint)(q + 12));
        }
        I8PackQuadsScalar.Tail(a, b, c, d, dst, q);
    }

    /// <summary>Sixteen bytes zero-extended (as unsigned) to four vectors of four uint32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<uint>, Vector128<uint>, Vector128<uint>, Vector128<uint>) Bytes(Vector128<sbyte> v)
    {
        var (lo, hi) = Vector128.Widen(v.AsByte());
        var (l0, l1) = Vector128.Widen(lo);
        var (h0, h1) = Vector128.Widen(hi);
        return (l0, l1, h0, h1);
    }
}
