using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Activations;

/// <summary>
/// tanh and its kappa over float spans, vectorised: each float is widened to double, the formula of
/// <see cref="TanhOp"/> runs in double lanes with Vector128.Exp (so the cancellation in 1 - e costs at most
/// 1e-16 / |2t| relative, far below a float ulp once |t| >= 2^-20, where a short series takes over), and the
/// result is rounded once to float. Scalar libm tanh and exp were a third of an int8 batch-1 run of the tanh
/// MLP (perf, docs/performance.md). Vector512 (8 doubles) runs first where AVX-512 is accelerated, then Vector128
/// (NEON on ARM64, SSE/AVX on x64), with the same bits; tails go through the
/// same vector formula, padded, so a result never depends on its position. NaN propagates; ±inf give ±1 and kappa 0, as the scalar forms.
/// </summary>
internal static class TanhVector
{
    private const double Small = 1.0 / (1 << 20);

    public static void Tanh(ReadOnlySpan<float> s, Span<float> y) => Map<TanhFn>(s, y, Vector512.IsHardwareAccelerated);

    public static void Kappa(ReadOnlySpan<float> s, Span<float> kappa) => Map<KappaFn>(s, kappa, Vector512.IsHardwareAccelerated);

    /// <summary>tanh and its kappa of the same s in one pass: one exp(-2|t|) serves both, and each result has the bits
    /// of <see cref="Tanh(ReadOnlySpan{float}, Span{float})"/> and <see cref="Kappa(ReadOnlySpan{float}, Span{float})"/>
    /// (the same operations on the same e). y may be s itself; kappa must not overlap either.</summary>
    public static void TanhAndKappa(ReadOnlySpan<float> s, Span<float> y, Span<float> kappa) => Map2(s, y, kappa, Vector512.IsHardwareAccelerated);

    internal static void TanhAndKappa(ReadOnlySpan<float> s, Span<float> y, Span<float> kappa, bool wide) => Map2(s, y, kappa, wide);

    /// <param name="wide">Whether 16 floats per step run in Vector512 double lanes first (AVX-512: 8 doubles per
    /// instruction where Vector128 has 2); tests turn it off to check that both widths give the same bits.</param>
    internal static void Tanh(ReadOnlySpan<float> s, Span<float> y, bool wide) => Map<TanhFn>(s, y, wide);

    internal static void Kappa(ReadOnlySpan<float> s, Span<float> kappa, bool wide) => Map<KappaFn>(s, kappa, wide);

    /// <summary>A double-lane formula at two widths (the same operations lane by lane, and .NET's one vector Exp
    /// algorithm at every width, so the same bits) and its scalar twin (used only without SIMD hardware).</summary>
    private interface IFn
    {
        static abstract Vector128<double> Vector(Vector128<double> t);
        static abstract Vector512<double> Vector(Vector512<double> t);
        static abstract float Scalar(float t);
    }

    private struct TanhFn : IFn
    {
        public static Vector128<double> Vector(Vector128<double> t) => TanhD(t);
        public static Vector512<double> Vector(Vector512<double> t) => TanhD(t);
        public static float Scalar(float t) => MathF.Tanh(t);
    }

    private struct KappaFn : IFn
    {
        public static Vector128<double> Vector(Vector128<double> t) => KappaD(t);
        public static Vector512<double> Vector(Vector512<double> t) => KappaD(t);
        public static float Scalar(float t) => (float)TanhOp.Kappa(t, default);
    }

    /// <summary>y[i] = F(s[i]): four floats per step, widened to two double vectors and narrowed once; the last
    /// n mod 4 elements through the same formula, padded on the stack, so an element's result never depends on
    /// its position in the span or on the batch it came in. In place (s and y the same memory) is fine.</summary>
    private static void Map<F>(ReadOnlySpan<float> s, Span<float> y, bool wide) where F : struct, IFn
    {
        int n = s.Length, i = 0;
        if (!Vector128.IsHardwareAccelerated)
        {
            for (; i < n; i++) y[i] = F.Scalar(s[i]);
            return;
        }
        if (y.Length < n) throw new ArgumentException("TanhVector: the output is shorter than the input");
        ref float src = ref MemoryMarshal.GetReference(s);
        ref float dst = ref MemoryMarshal.GetReference(y);
        if (wide && Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
            {
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref src, (nuint)i));
                Vector512.Narrow(F.Vector(lo), F.Vector(hi)).StoreUnsafe(ref dst, (nuint)i);
            }
        for (; i + 4 <= n; i += 4)
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
            Vector128.Narrow(F.Vector(lo), F.Vector(hi)).StoreUnsafe(ref dst, (nuint)i);
        }
        if (i == n) return;
        Span<float> buf = stackalloc float[4];
        buf.Clear();
        s[i..].CopyTo(buf);
        var (l, h) = Vector128.Widen(Vector128.Create((ReadOnlySpan<float>)buf));
        Vector128.Narrow(F.Vector(l), F.Vector(h)).CopyTo(buf);
        buf[..(n - i)].CopyTo(y[i..]);
    }

    /// <summary>The two-output form of <see cref="Map{F}"/>: y = tanh(s) and kappa = kappa(s) from one e per element.</summary>
    private static void Map2(ReadOnlySpan<float> s, Span<float> y, Span<float> kappa, bool wide)
    {
        int n = s.Length, i = 0;
        if (y.Length < n || kappa.Length < n) throw new ArgumentException("TanhVector: an output is shorter than the input");
        if (!Vector128.IsHardwareAccelerated)
        {
            Map<KappaFn>(s, kappa, wide); // before y: y may be s
            Map<TanhFn>(s, y, wide);
            return;
        }
        ref float src = ref MemoryMarshal.GetReference(s);
        ref float dst = ref MemoryMarshal.GetReference(y);
        ref float kap = ref MemoryMarshal.GetReference(kappa);
        if (wide && Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
            {
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref src, (nuint)i));
                var (tl, kl) = Both(lo);
                var (th, kh) = Both(hi);
                Vector512.Narrow(kl, kh).StoreUnsafe(ref kap, (nuint)i);
                Vector512.Narrow(tl, th).StoreUnsafe(ref dst, (nuint)i);
            }
        for (; i + 4 <= n; i += 4)
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
            var (tl, kl) = Both(lo);
            var (th, kh) = Both(hi);
            Vector128.Narrow(kl, kh).StoreUnsafe(ref kap, (nuint)i);
            Vector128.Narrow(tl, th).StoreUnsafe(ref dst, (nuint)i);
        }
        if (i == n) return;
        Span<float> buf = stackalloc float[8];
        buf.Clear();
        s[i..].CopyTo(buf);
        var (l, h) = Vector128.Widen(Vector128.Create((ReadOnlySpan<float>)buf));
        var (t0, k0) = Both(l);
        var (t1, k1) = Both(h);
        Vector128.Narrow(t0, t1).CopyTo(buf);
        Vector128.Narrow(k0, k1).CopyTo(buf[4..]);
        buf[..(n - i)].CopyTo(y[i..]);
        buf.Slice(4, n - i).CopyTo(kappa[i..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<double> Tanh, Vector128<double> Kappa) Both(Vector128<double> t)
    {
        var a = Vector128.Abs(t);
        var e = Vector128.Exp(a * -2.0);
        return (TanhOf(t, a, e), KappaOf(a, e));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<double> Tanh, Vector512<double> Kappa) Both(Vector512<double> t)
    {
        var a = Vector512.Abs(t);
        var e = Vector512.Exp(a * -2.0);
        return (TanhOf(t, a, e), KappaOf(a, e));
    }

    /// <summary>sign(t) (1 - e) / (1 + e), e = exp(-2|t|); t - t^3/3 below 2^-20.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> TanhD(Vector128<double> t)
    {
        var a = Vector128.Abs(t);
        return TanhOf(t, a, Vector128.Exp(a * -2.0));
    }

    /// <summary><see cref="TanhD(Vector128{double})"/> given a = |t| and e = exp(-2a).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> TanhOf(Vector128<double> t, Vector128<double> a, Vector128<double> e)
    {
        var r = (Vector128<double>.One - e) / (Vector128<double>.One + e);
        var series = a - a * a * a * (1.0 / 3);
        r = Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128.Create(Small)), series, r);
        // Copy t's sign (NaN stays NaN: every step above propagates it).
        var sign = t.AsUInt64() & Vector128.Create(0x8000_0000_0000_0000UL);
        return (r.AsUInt64() | sign).AsDouble();
    }

    /// <summary><see cref="TanhD(Vector128{double})"/> in Vector512 lanes: the same operations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> TanhD(Vector512<double> t)
    {
        var a = Vector512.Abs(t);
        return TanhOf(t, a, Vector512.Exp(a * -2.0));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> TanhOf(Vector512<double> t, Vector512<double> a, Vector512<double> e)
    {
        var r = (Vector512<double>.One - e) / (Vector512<double>.One + e);
        var series = a - a * a * a * (1.0 / 3);
        r = Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(Small)), series, r);
        var sign = t.AsUInt64() & Vector512.Create(0x8000_0000_0000_0000UL);
        return (r.AsUInt64() | sign).AsDouble();
    }

    /// <summary><see cref="KappaD(Vector128{double})"/> in Vector512 lanes: the same operations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> KappaD(Vector512<double> t)
    {
        var a = Vector512.Abs(t);
        return KappaOf(a, Vector512.Exp(a * -2.0));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> KappaOf(Vector512<double> a, Vector512<double> e)
    {
        var k = (a * e * 4.0) / ((Vector512<double>.One - e) * (Vector512<double>.One + e));
        var series = Vector512<double>.One - a * a * (4.0 / 6);
        k = Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(Small)), series, k);
        return Vector512.ConditionalSelect(Vector512.Equals(a, Vector512.Create(double.PositiveInfinity)), Vector512<double>.Zero, k);
    }

    /// <summary>2a / sinh 2a = 4 a e / ((1 - e)(1 + e)), e = exp(-2a); 1 - (2a)^2/6 below 2^-20; 0 at infinity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> KappaD(Vector128<double> t)
    {
        var a = Vector128.Abs(t);
        return KappaOf(a, Vector128.Exp(a * -2.0));
    }

    /// <summary><see cref="KappaD(Vector128{double})"/> given a = |t| and e = exp(-2a).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> KappaOf(Vector128<double> a, Vector128<double> e)
    {
        var k = (a * e * 4.0) / ((Vector128<double>.One - e) * (Vector128<double>.One + e));
        var series = Vector128<double>.One - a * a * (4.0 / 6);
        k = Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128.Create(Small)), series, k);
        return Vector128.ConditionalSelect(Vector128.Equals(a, Vector128.Create(double.PositiveInfinity)), Vector128<double>.Zero, k);
    }
}
