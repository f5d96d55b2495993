using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// Where the vector flag test (<see cref="FlagTest"/>) gets each component's flag bound B: a float enclosure
/// lo &lt;= B &lt;= hi for its float screen, and B itself (double) for the blocks the screen leaves undecided and
/// the components from where the vector loops stop. Implementations are ref structs over the caller's spans.
/// Contract: Range and Exact are called with i + lanes &lt;= Length.
/// </summary>
internal interface IFlagBound
{
    int Length { get; }
    void Range(int i, Vector512<float> absS, out Vector512<float> lo, out Vector512<float> hi);
    void Range(int i, Vector256<float> absS, out Vector256<float> lo, out Vector256<float> hi);
    void Range(int i, Vector128<float> absS, out Vector128<float> lo, out Vector128<float> hi);
    /// <summary>The double bounds of components [i, i + count).</summary>
    ReadOnlySpan<double> Exact(int i, int count);
}

/// <summary>The double bounds already computed (Dense units, traced conv rows): the float screen sees them rounded
/// to float.</summary>
internal readonly ref struct SpanBound(ReadOnlySpan<double> bound) : IFlagBound
{
    private readonly ReadOnlySpan<double> _b = bound;
    public int Length => _b.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector512<float> absS, out Vector512<float> lo, out Vector512<float> hi)
    {
        ref double r = ref MemoryMarshal.GetReference(_b);
        var b = Vector512.Narrow(Vector512.LoadUnsafe(ref r, (nuint)i), Vector512.LoadUnsafe(ref r, (nuint)(i + 8)));
        FlagScreen<Vector512<float>, Lanes512>.Enclose(b, out lo, out hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector256<float> absS, out Vector256<float> lo, out Vector256<float> hi)
    {
        ref double r = ref MemoryMarshal.GetReference(_b);
        var b = Vector256.Narrow(Vector256.LoadUnsafe(ref r, (nuint)i), Vector256.LoadUnsafe(ref r, (nuint)(i + 4)));
        FlagScreen<Vector256<float>, Lanes256>.Enclose(b, out lo, out hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector128<float> absS, out Vector128<float> lo, out Vector128<float> hi)
    {
        ref double r = ref MemoryMarshal.GetReference(_b);
        var b = Vector128.Narrow(Vector128.LoadUnsafe(ref r, (nuint)i), Vector128.LoadUnsafe(ref r, (nuint)(i + 2)));
        FlagScreen<Vector128<float>, Lanes128>.Enclose(b, out lo, out hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<double> Exact(int i, int count) => _b.Slice(i, count);
}

/// <summary>
/// One int8 conv channel row's flag bounds (<see cref="I8Bounds.Channel"/>: B = C + 2u|s| + 2.3e-16 (|p| + |b|),
/// C the channel's constant), enclosed in float from |s| alone: lo = C rounded down (the added terms are
/// non-negative and rounding is monotone, so B &gt;= C) and hi = (C' + A'|s|)(1 + 2^-21) + 2^-149, where
/// |p| &lt;= |p + b| + |b| and |p + b| &lt;= |s| (1 + 2^-23) + 2^-150 (s is p + b rounded to float) give
/// B &lt;= (C + 4.6e-16 |b| + 2^-149) (1 + 2^-50) + |s| (2^-23 + 2.3e-16 (1 + 2^-22)) (1 + 2^-50), and C', A' are
/// those constants with 2^-40 more, rounded up to float; the final factor covers the float multiply and add. So the
/// row's double bounds are never stored: <see cref="Exact"/> computes them, with Channel's operations (so its bits),
/// only for the blocks the screen cannot decide.
/// </summary>
internal readonly ref struct ChannelBound : IFlagBound
{
    private readonly ReadOnlySpan<int> _dot;
    private readonly float _scale, _bias, _diff, _l1, _l2;
    private readonly double _sx, _emax, _xl1;
    private readonly bool _rigorous;
    private readonly int _width;
    private readonly Span<float> _sScratch;
    private readonly Span<double> _bScratch;
    private readonly float _lo, _cHi, _aHi;
    private readonly Vector128<float> _lo4, _cHi4, _aHi4; // NEON's loop: one load each instead of a load and a DUP
    private const float Up = 1.000000476837158203125f; // 1 + 2^-21, exact (a constant: no class-init check per use)

    /// <param name="sScratch">At least 16 floats.</param>
    /// <param name="bScratch">At least dot.Length doubles (the caller's tail may need the rest of the row).</param>
    public ChannelBound(ReadOnlySpan<int> dot, float scale, float bias, float diff, float l1, float l2, double sx, double emax, double xl1,
        bool rigorous, int width, Span<float> sScratch, Span<double> bScratch)
    {
        if (sScratch.Length < 16 || bScratch.Length < dot.Length) throw new ArgumentException("ChannelBound: scratch too short");
        _dot = dot; _scale = scale; _bias = bias; _diff = diff; _l1 = l1; _l2 = l2; _sx = sx; _emax = emax; _xl1 = xl1;
        _rigorous = rigorous; _width = width; _sScratch = sScratch; _bScratch = bScratch;
        double c = C = I8Bounds.FlagConstant(diff, l1, l2, emax, xl1, rigorous);
        CHi = (c + 4.6e-16 * Math.Abs((double)bias) + Math.ScaleB(1, -149)) * (1 + Math.ScaleB(1, -40));
        _lo = F32Round.Down(c);
        _cHi = F32Round.Up(CHi);
        _aHi = F32Round.Up(AHi);
        _lo4 = Vector128.Create(_lo); _cHi4 = Vector128.Create(_cHi); _aHi4 = Vector128.Create(_aHi);
    }

    public int Length => _dot.Length;

    /// <summary>The row's bounds as an affine enclosure in double, C &lt;= B &lt;= CHi + AHi |s| (the float fields above
    /// are these rounded outward): what <see cref="FlagBand"/> turns into thresholds on s_hat.</summary>
    public double C { get; }
    /// <inheritdoc cref="C"/>
    public double CHi { get; }
    /// <inheritdoc cref="C"/>
    public static readonly double AHi = (Math.ScaleB(1, -23) + 2.3e-16 * (1 + Math.ScaleB(1, -22))) * (1 + Math.ScaleB(1, -40));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector512<float> absS, out Vector512<float> lo, out Vector512<float> hi)
    {
        lo = Vector512.Create(_lo);
        hi = (Vector512.Create(_cHi) + absS * Vector512.Create(_aHi)) * Vector512.Create(Up) + Vector512.Create(float.Epsilon);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector256<float> absS, out Vector256<float> lo, out Vector256<float> hi)
    {
        lo = Vector256.Create(_lo);
        hi = (Vector256.Create(_cHi) + absS * Vector256.Create(_aHi)) * Vector256.Create(Up) + Vector256.Create(float.Epsilon);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector128<float> absS, out Vector128<float> lo, out Vector128<float> hi)
    {
        lo = _lo4;
        hi = (_cHi4 + absS * _aHi4) * Vector128.Create(Up) + Vector128.Create(float.Epsilon);
    }

    /// <summary>The double bounds of [i, i + count) by <see cref="I8Bounds.Channel"/> on that slice (elementwise, so
    /// the bits of a whole-row call), into the bound scratch at i.</summary>
    public ReadOnlySpan<double> Exact(int i, int count)
    {
        var b = _bScratch.Slice(i, count);
        for (int j = 0; j < count; j += 16)
        {
            int c = Math.Min(16, count - j);
            I8Bounds.Channel(_dot.Slice(i + j, c), _scale, _bias, _diff, _l1, _l2, _sx, _emax, _xl1, _rigorous,
                _sScratch[..c], default, b.Slice(j, c), _width);
        }
        return b;
    }
}
