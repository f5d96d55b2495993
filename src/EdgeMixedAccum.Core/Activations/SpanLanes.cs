using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeMixedAccum.Activations;

/// <summary>One lane form of an element-wise map: a struct holding its vector constants (a few fields, so the JIT
/// keeps them in registers across the loop).</summary>
internal interface ILaneMap
{
    Vector<float> Map(Vector<float> t);
}

/// <summary>
/// The one vector loop of the piecewise-linear activations' span forms (<see cref="IActivationOp.PhiSpan"/>,
/// <see cref="IActivationOp.KappaSpan"/>): whole <see cref="Vector{T}"/> steps through refs, the lengths checked once
/// (sliced spans cost a bounds check per load and store: on ARM64 a ReLU span ran at 4 instructions per element).
/// Returns the index where whole steps end; the caller finishes the tail with its element form, so every lane and
/// every tail element has the element form's bits.
/// </summary>
internal static class SpanLanes
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Map<TMap>(ReadOnlySpan<float> s, Span<float> y, TMap map) where TMap : struct, ILaneMap
    {
        int n = s.Length, i = 0;
        if (y.Length < n) throw new ArgumentException($"the output span ({y.Length}) is shorter than the input ({n})", nameof(y));
        if (!Vector.IsHardwareAccelerated) return 0;
        ref float sr = ref MemoryMarshal.GetReference(s);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int w = Vector<float>.Count;
        // Two vectors per step (half the loop's own instructions per element), then one. In place (y = s) is fine:
        // each step loads both vectors before it stores.
        for (; i + 2 * w <= n; i += 2 * w)
        {
            var t0 = Vector.LoadUnsafe(ref sr, (nuint)i);
            var t1 = Vector.LoadUnsafe(ref sr, (nuint)(i + w));
            map.Map(t0).StoreUnsafe(ref yr, (nuint)i);
            map.Map(t1).StoreUnsafe(ref yr, (nuint)(i + w));
        }
        if (i + w <= n)
        {
            map.Map(Vector.LoadUnsafe(ref sr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
            i += w;
        }
        return i;
    }
}
