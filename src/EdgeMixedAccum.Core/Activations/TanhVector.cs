using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Activations;

/// <summary>
/// tanh and its kappa over float spans, vectorised: each float is widened to double, the formula of
/// <see cref="TanhOp"/> runs in double lanes with Vector128.Exp (so the cancellation in 1 - e costs at most
/// 1e-16 / |2t| relative, far below a float ulp once |t| >= 2^-20, where a short series takes over), and the
/// result is rounded once to float. Scalar libm tanh and exp were a third of an int8 batch-1 run of the tanh
/// MLP (perf, docs/performance.md). Vector128 runs as NEON on ARM64 and SSE/AVX on x64; tails go through the
/// same vector formula, padded, so a result never depends on its position. NaN propagates; ±inf give ±1 and kappa 0, as the scalar forms.
/// </summary>
internal static class TanhVector
{
    private const double Small = 1.0 / (1 << 20);

    public static void Tanh(ReadOnlySpan<float> s, Span<float> y)
    {
        int n = s.Length, i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            ref float src = ref MemoryMarshal.GetReference(s);
            ref float dst = ref MemoryMarshal.GetReference(y);
            for (; i + 4 <= n; i += 4)
            {
                var v = Vector128.LoadUnsafe(ref src, (nuint)i);
                var (lo, hi) = Vector128.Widen(v);
                Vector128.Narrow(TanhD(lo), TanhD(hi)).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        if (i < n) Tail(s[i..], y[i..], kappa: false);
    }

    public static void Kappa(ReadOnlySpan<float> s, Span<float> kappa)
    {
        int n = s.Length, i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            ref float src = ref MemoryMarshal.GetReference(s);
            ref float dst = ref MemoryMarshal.GetReference(kappa);
            for (; i + 4 <= n; i += 4)
            {
                var v = Vector128.LoadUnsafe(ref src, (nuint)i);
                var (lo, hi) = Vector128.Widen(v);
                Vector128.Narrow(KappaD(lo), KappaD(hi)).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        if (i < n) Tail(s[i..], kappa[i..], kappa: true);
    }

    /// <summary>The last n mod 4 elements through the same vector formula (padded on the stack), so an element's
    /// result never depends on its position in the span or on the batch it came in.</summary>
    private static void Tail(ReadOnlySpan<float> s, Span<float> y, bool kappa)
    {
        if (!Vector128.IsHardwareAccelerated)
        {
            for (int i = 0; i < s.Length; i++) y[i] = kappa ? (float)TanhOp.Kappa(s[i], default) : MathF.Tanh(s[i]);
            return;
        }
        Span<float> buf = stackalloc float[4];
        buf.Clear();
        s.CopyTo(buf);
        var (lo, hi) = Vector128.Widen(Vector128.Create((ReadOnlySpan<float>)buf));
        var r = kappa ? Vector128.Narrow(KappaD(lo), KappaD(hi)) : Vector128.Narrow(TanhD(lo), TanhD(hi));
        r.CopyTo(buf);
        buf[..s.Length].CopyTo(y);
    }

    /// <summary>sign(t) (1 - e) / (1 + e), e = exp(-2|t|); t - t^3/3 below 2^-20.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> TanhD(Vector128<double> t)
    {
        var a = Vector128.Abs(t);
        var e = Vector128.Exp(a * -2.0);
        var r = (Vector128<double>.One - e) / (Vector128<double>.One + e);
        var series = a - a * a * a * (1.0 / 3);
        r = Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128.Create(Small)), series, r);
        // Copy t's sign (NaN stays NaN: every step above propagates it).
        var sign = t.AsUInt64() & Vector128.Create(0x8000_0000_0000_0000UL);
        return (r.AsUInt64() | sign).AsDouble();
    }

    /// <summary>2a / sinh 2a = 4 a e / ((1 - e)(1 + e)), e = exp(-2a); 1 - (2a)^2/6 below 2^-20; 0 at infinity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> KappaD(Vector128<double> t)
    {
        var a = Vector128.Abs(t);
        var e = Vector128.Exp(a * -2.0);
        var k = (a * e * 4.0) / ((Vector128<double>.One - e) * (Vector128<double>.One + e));
        var series = Vector128<double>.One - a * a * (4.0 / 6);
        k = Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128.Create(Small)), series, k);
        return Vector128.ConditionalSelect(Vector128.Equals(a, Vector128.Create(double.PositiveInfinity)), Vector128<double>.Zero, k);
    }
}
