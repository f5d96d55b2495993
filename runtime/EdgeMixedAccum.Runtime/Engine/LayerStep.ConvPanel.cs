using System.Runtime.Intrinsics;
using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// The int8 and fp32 convolution path in output layout (docs/engine.md, "Convolutions"): per sample, group and
/// tile of T output positions, the im2col panel is built transposed (row j of the panel holds input element j of
/// every position in the tile), one i8-gemm-nn or f32-gemm-nn call gives the tile's results as rows of
/// positions per output channel, which is the NCHW output layout. Algorithm 1's bookkeeping then runs along a
/// channel row, where the channel's weight constants (scale, bias, norms) are scalars and the T positions are
/// one long vectorisable span: s_hat and the bounds, kappa_phi, the flag test, the fp32 recompute of the
/// flagged components (rows with many flags through one f32-gemm-nn call over the tile's fp32 panel, in fp32
/// mode's order; the rest by f32-dot-taps from the sample's NHWC input, or for a handful of flags by scalar
/// chains in fp32 mode's order). s_hat is written straight into the channel's output row, where the recomputed
/// components then overwrite theirs. Panels and GEMM results are padded to whole 16-lane vectors (ld), so the
/// kernels never run a tail. tau-0 adaptive equals fp32 bit for bit (every row takes the GEMM), and no result
/// depends on the batch.
/// </summary>
internal sealed partial class LayerStep
{
    private int _tile;                 // positions per tile (T)
    private int _kp;                   // packed columns per weight row: ceil(k/4) quads (i8-gemm-nn4) or ceil(k/2) pairs
    private bool _quad;                // the quad layout (SDOT / VPDPBUSD), else pairs (i8-gemm-nn)
    private int[] _wPair = [];         // the int8 weights packed in quads or pairs, rows of _kp
    private int[] _panelQ = [];        // int8 panel, _kp rows of ld quads or pairs
    private sbyte[] _rowA = [], _rowB = [], _rowC = [], _rowD = [];
    private float[] _panel32 = [];     // fp32 panel, k rows of ld (or the flagged positions' patches, k each)
    private float[] _wDense = [];      // fp32 weights of the rows RecomputeTile sends through f32-gemm-nn
    private int[] _dotT = [];          // i8 results, _mg rows of ld
    private float[] _yT = [];          // fp32 results, _mg rows of ld
    private float[] _kRow = [];        // kappa of one row
    private double[] _bRigRow = [], _bFlagRow = [];
    private readonly float[] _sBlock = new float[16]; // ChannelBound's scratch s_hat (its exact bounds recompute s)
    private int[] _qT = [], _qCount = [];  // flagged positions per channel row (rows of T), and their counts
    private int[] _slot = [];          // per position of the tile: where its fp32 inputs start (RecomputeSparse)
    private I8GemmNnFn _i8Nn = null!;
    private I8GemmNn4Fn? _i8Nn4;
    private I8PackQuadsFn _pack4 = null!;
    private F32GemmNnFn _f32Nn = null!;
    // The sparse recompute by dot products (adaptive int8 only; RecomputeDots): the fp32 weights in tap-major
    // order with each tap's channels padded to _cgp (a multiple of 16), the sample's input in NHWC with the same
    // padding (built on the first tile that needs it), and per position of the tile each tap's input offset.
    private F32DotTapsFn _dot = null!;
    private F32TransposeFn _transpose = null!;
    private int _cgp, _taps, _denseAt;
    private float[] _wTaps = [], _nhwc = []; // _wTaps: the layer's shared LayerWeights.W32Taps
    private TapOffsets _tapOff = null!;
    private bool _nhwcReady;
    // Untraced int8 rows of a piecewise-linear activation: the flag test encloses kappa from s_hat in its registers
    // (FlagKappa.cs) instead of reading a kappa row computed first (Row: the other activations).
    private FlagKappaKind _kappaKind;

    /// <summary>Components recomputed by f32-dot-taps since construction (tests: the path ran).</summary>
    internal long DotRecomputes { get; private set; }

    /// <summary>The conv's geometry (tests: an independent reference of a component).</summary>
    internal ConvGeometry Geometry => _g;

    private bool Panel => _conv && _prec != Precision.F16Acc;

    /// <summary>The fp32 panel's budget per tile, in floats (256 KiB; the int8 panel is half that). Every tile pays
    /// a fixed cost per channel row (bounds, kappa, flag test, copy-out calls), so fewer, longer tiles win while
    /// the panel stays in L2: on the audio CNN (docs/performance.md) 16 Ki floats gave i8 1,250 us, 32 Ki 1,150-1,220,
    /// 64 Ki 1,110-1,140 and 256 Ki 1,100-1,110. 64 Ki keeps the panel within the L2 of every board profile.</summary>
    private const int PanelFloats = 65536;

    /// <summary>Scratch of the panel path, sized once: about <see cref="PanelFloats"/> of fp32 panel per tile,
    /// whole output rows when they fit (so the common small feature map is one tile).</summary>
    private void InitPanel(KernelSet kernels)
    {
        _i8Nn = kernels.I8GemmNn; _f32Nn = kernels.F32GemmNn; _i8Nn4 = kernels.I8GemmNn4; _pack4 = kernels.I8PackQuads;
        _quad = _i8Nn4 is not null;
        _kappaKind = _vectorFlag ? FlagKappa.Of(in _act) : FlagKappaKind.Row;
        int positions = _g.Positions;
        int t = Math.Max(16, PanelFloats / Math.Max(1, _k));
        _tile = t >= positions ? positions : t / 16 * 16;
        _kp = _quad ? (_k + 3) / 4 : (_k + 1) / 2;
        _rowGeo = BuildRowGeo(in _g);
        int pad = Pad(_tile);
        _panel32 = new float[_k * pad];
        _kRow = new float[_tile];
        _bRigRow = new double[_tile]; _bFlagRow = new double[_tile];
        if (_prec == Precision.I8)
        {
            _qT = new int[_mg * _tile]; _qCount = new int[_mg]; _slot = new int[_tile];
            if (_k > 2 * I8GemmNnFamily.MaxKp) throw new EmaException($"{_node}: inner length {_k} exceeds the int8 path's exact-sum limit {2 * I8GemmNnFamily.MaxKp}");
            _wPair = new int[_m * _kp];
            if (_quad) I8GemmNn4Pack.Weights(_w.Q, _m, _k, _wPair); else I8GemmNnPack.Weights(_w.Q, _m, _k, _wPair);
            _panelQ = new int[_kp * pad];
            _rowA = new sbyte[_tile]; _rowB = new sbyte[_tile];
            if (_quad) { _rowC = new sbyte[_tile]; _rowD = new sbyte[_tile]; }
            _wDense = new float[_mg * _k];
            _dotT = new int[_mg * pad];
            if (_adaptive) InitDots(kernels);
        }
        _yT = new float[_mg * pad]; // fp32 mode, and the whole-tile recompute of int8
    }

    /// <summary>All samples of a conv layer through the panel path (the int8 input already quantised).</summary>
    private void RunPanel(ReadOnlySpan<float> x, Span<float> y, int samples)
    {
        int positions = _g.Positions;
        for (int n = 0; n < samples; n++)
        {
            _nhwcReady = false;
            var xs = x.Slice(n * _inSample, _inSample);
            var ys = y.Slice(n * _outSample, _outSample);
            for (int g = 0; g < _g.Groups; g++)
                for (int p0 = 0; p0 < positions; p0 += _tile)
                {
                    int len = Math.Min(_tile, positions - p0);
                    if (_prec == Precision.I8) TileI8(xs, _xq.AsSpan(n * _inSample, _inSample), ys, n, g, p0, len);
                    else TileF32(xs, ys, g, p0, len);
                    // The tile's rows are final: the output write (activation, and the next layer's int8 input),
                    // in one call when the tile is the whole feature map (its rows are then one run: short rows
                    // paid a call each).
                    int r0 = g * _mg;
                    if (len == positions) WriteRow(ys.Slice(r0 * positions, _mg * positions), n, r0 * positions);
                    else for (int r = r0; r < r0 + _mg; r++) WriteRow(OutRow(ys, r, p0, len), n, r * positions + p0);
                }
        }
    }

    private void TileF32(ReadOnlySpan<float> xs, Span<float> ys, int g, int p0, int len)
    {
        int r0 = g * _mg, ld = Pad(len);
        Fp32Tile(xs, g, p0, len, ld);
        var bias = _w.Bias;
        for (int i = 0; i < _mg; i++)
            AddBias(_yT.AsSpan(i * ld, len), bias[r0 + i], OutRow(ys, r0 + i, p0, len));
        Report.Components += (long)_mg * len;
    }

    private void TileI8(ReadOnlySpan<float> xs, ReadOnlySpan<sbyte> xq, Span<float> ys, int n, int g, int p0, int len)
    {
        int r0 = g * _mg, ld = Pad(len);
        ref readonly var st = ref _stats[n];
        var a = _rowA.AsSpan(0, len);
        var b = _rowB.AsSpan(0, len);
        if (_quad)
        {
            var c = _rowC.AsSpan(0, len);
            var d = _rowD.AsSpan(0, len);
            for (int jq = 0; jq < _kp; jq++)
            {
                int j = 4 * jq;
                GatherRowOrZero(xq, a, g, j, p0); GatherRowOrZero(xq, b, g, j + 1, p0);
                GatherRowOrZero(xq, c, g, j + 2, p0); GatherRowOrZero(xq, d, g, j + 3, p0);
                _pack4(a, b, c, d, _panelQ.AsSpan(jq * ld, len));
            }
            _i8Nn4!(_wPair.AsSpan(r0 * _kp, _mg * _kp), _panelQ.AsSpan(0, _kp * ld), _dotT, _mg, _kp, ld, ld);
        }
        else
        {
            for (int jp = 0; jp < _kp; jp++)
            {
                int j = 2 * jp;
                GatherRow(xq, a, g, j, p0);
                GatherRowOrZero(xq, b, g, j + 1, p0);
                PackPairs(a, b, _panelQ.AsSpan(jp * ld, len));
            }
            _i8Nn(_wPair.AsSpan(r0 * _kp, _mg * _kp), _panelQ.AsSpan(0, _kp * ld), _dotT, _mg, _kp, ld, ld);
        }
        // Pass 1, per channel row: s_hat (and the bounds when traced, or for the authors' criterion), kappa, the flag
        // test (and the trace of the low pass). Untraced, the flag test encloses each bound in float from |s_hat|
        // and computes it in double only where its float screen cannot decide (FlagChannel), and so kappa for a
        // piecewise-linear activation (no kappa pass).
        bool rigorous = _flagBound == FlagBound.Rigorous, enclose = _traceS is null && _vectorFlag;
        var kappa = _kRow.AsSpan(0, len);
        int total = 0;
        for (int i = 0; i < _mg; i++)
        {
            int r = r0 + i;
            var s = OutRow(ys, r, p0, len); // s_hat straight into the output; recomputes overwrite their components
            var dot = _dotT.AsSpan(i * ld, len);
            I8Bounds.Channel(dot, _w.QScale[r], _w.Bias[r], _w.QDiff[r], _w.QL1[r], _w.QL2[r],
                st.Scale, st.EMax, st.L1, rigorous, s, _traceS is null ? default : _bRigRow, enclose ? default : _bFlagRow);
            if (!enclose || _kappaKind == FlagKappaKind.Row) ActivationMath.Kappa(_act, in _actParams, s, kappa);
            var q = _qT.AsSpan(i * len, len);
            int flagged = _qCount[i] = enclose ? FlagChannel(in st, dot, r, s, kappa, q) : Flag(in st, s, kappa, _bFlagRow.AsSpan(0, len), q);
            if (_traceS is not null) TraceRow(n, r, p0, len, s, q[..flagged]);
            total += flagged;
        }
        Report.Components += (long)_mg * len;
        Report.Flagged += total;
        // Pass 2: fp32 results of the flagged components (RecomputeTile).
        if (total > 0) RecomputeTile(xs, ys, g, r0, p0, len, ld);
    }

    /// <summary>The shortest row the flag test's band serves: imu-conv1d's rows of 32 and 64 positions ran 30% slower
    /// in int8 on x64 with it (its set-up per row: a few divisions, outward roundings, the lanes' broadcasts).</summary>
    private const int BandMinLength = 128;

    /// <summary>
    /// <see cref="Flag(in InputStats, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{double}, Span{int})"/> for one
    /// int8 channel row whose flag bounds were not computed: the vector test reads them as a float enclosure from
    /// |s_hat| (<see cref="ChannelBound"/>) and computes them in double only for the blocks its screen leaves
    /// undecided and from where it stops, so the same flags and predictions as the test on the computed bounds.
    /// </summary>
    private int FlagChannel(in InputStats st, ReadOnlySpan<int> dot, int r, Span<float> s, Span<float> kappa, Span<int> rows)
    {
        int n = 0, i = 0, len = s.Length;
        double maxPred = Report.MaxPredictedRelError;
        var bf = _bFlagRow.AsSpan(0, len);
        if (st.Finite) // else every component is flagged (adaptive) or kept, without reading a bound
        {
            var cb = new ChannelBound(dot, _w.QScale[r], _w.Bias[r], _w.QDiff[r], _w.QL1[r], _w.QL2[r], st.Scale, st.EMax, st.L1,
                _flagBound == FlagBound.Rigorous, LaneWidth.Best, _sBlock, bf);
            // The band's thresholds for this row; a short row pays more for their set-up than they save (no band).
            bool banded = _band.On && len >= BandMinLength;
            ref FlagBand band = ref banded ? ref _band : ref System.Runtime.CompilerServices.Unsafe.NullRef<FlagBand>();
            if (banded) band.Row(cb.C, cb.CHi, ChannelBound.AHi, Math.Min(_tau, maxPred));
            switch (_kappaKind)
            {
                case FlagKappaKind.Unit:
                    var ku = new UnitKappa(kappa);
                    i = FlagTest.FlagsVector(in _flagPlan, s, ref ku, ref cb, ref band, rows, ref n, ref maxPred, LaneWidth.Best);
                    break;
                case FlagKappaKind.Sign:
                    var kg = new SignKappa(s, kappa);
                    i = FlagTest.FlagsVector(in _flagPlan, s, ref kg, ref cb, ref band, rows, ref n, ref maxPred, LaneWidth.Best);
                    break;
                case FlagKappaKind.Clamp:
                    var kc = new ClampKappa(in _act, in _actParams, s, kappa);
                    i = FlagTest.FlagsVector(in _flagPlan, s, ref kc, ref cb, ref band, rows, ref n, ref maxPred, LaneWidth.Best);
                    break;
                default:
                    var ks = new SpanKappa(kappa);
                    i = FlagTest.FlagsVector(in _flagPlan, s, ref ks, ref cb, rows, ref n, ref maxPred, LaneWidth.Best);
                    break;
            }
            if (i < len) cb.Exact(i, len - i); // the scalar test reads the rest's bounds
            if (_kappaKind != FlagKappaKind.Row && i < len) ActivationMath.Kappa(_act, in _actParams, s[i..], kappa[i..]); // and their kappa
        }
        return FlagFrom(in st, s, kappa, bf, rows, i, n, maxPred);
    }

    /// <summary>dst[q] = src[q] + b: one IEEE add per element, in vector lanes (the bits of the scalar loop).</summary>
    private static void AddBias(ReadOnlySpan<float> src, float b, Span<float> dst)
    {
        int q = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var vb = new System.Numerics.Vector<float>(b);
            for (; q + System.Numerics.Vector<float>.Count <= src.Length; q += System.Numerics.Vector<float>.Count)
                (new System.Numerics.Vector<float>(src[q..]) + vb).CopyTo(dst[q..]);
        }
        for (; q < src.Length; q++) dst[q] = src[q] + b;
    }

    /// <summary>Channel r's output for the tile's positions p0.. (NCHW: one contiguous run).</summary>
    private Span<float> OutRow(Span<float> ys, int r, int p0, int len) => ys.Slice(r * _g.Positions + p0, len);

    /// <summary>The fp32 panel of the tile (k rows of stride ld).</summary>
    private void GatherPanel32(ReadOnlySpan<float> xs, int g, int p0, int len, int ld)
    {
        for (int j = 0; j < _k; j++) GatherRow(xs, _panel32.AsSpan(j * ld, len), g, j, p0);
    }

    /// <summary>The tile's fp32 sums for every channel of group g into _yT (rows of stride ld): fp32 mode, and the
    /// int8 path's whole-tile recompute, so both have f32-gemm-nn's bits.</summary>
    private void Fp32Tile(ReadOnlySpan<float> xs, int g, int p0, int len, int ld)
    {
        GatherPanel32(xs, g, p0, len, ld);
        _f32Nn(_w.W32.AsSpan(g * _mg * _k, _mg * _k), _panel32.AsSpan(0, _k * ld), _yT, _mg, _k, ld, ld);
    }

    /// <summary>Panel rows padded to whole 16-lane vectors, so the GEMM-nn kernels never run their scalar tail
    /// (the padding columns hold stale values; their results are never read).</summary>
    private static int Pad(int len) => (len + 15) & ~15;

    /// <summary>
    /// The fp32 results of the tile's flagged components, by the cheaper of two ways per channel row on a cost
    /// model of this machine's kernels (<see cref="DenseAt"/>): a row with many flags joins one f32-gemm-nn call
    /// over the fp32 panel (its weights copied into a block with the other such rows, so the call runs the 4-row
    /// tiles at full width), in fp32 mode's order; the other rows' flags go to <see cref="RecomputeDots"/>, or,
    /// while the sample's NHWC input is not built and the tile holds fewer flagged products than the input has
    /// elements, to <see cref="RecomputeSparse"/>'s scalar chains.
    /// </summary>
    private void RecomputeTile(ReadOnlySpan<float> xs, Span<float> ys, int g, int r0, int p0, int len, int ld)
    {
        _denseAt = DenseAt(len, ld);
        int dense = 0, sparse = 0;
        for (int i = 0; i < _mg; i++)
            if (DenseRow(i, len)) dense++; else sparse += _qCount[i];
        if (dense == _mg)
        {
            Fp32Tile(xs, g, p0, len, ld);
            for (int i = 0; i < _mg; i++) ScatterRow(ys, i, i, r0, p0, len, ld);
            return;
        }
        bool panel = dense > 0;
        if (panel)
        {
            GatherPanel32(xs, g, p0, len, ld);
            var wb = _wDense.AsSpan(0, dense * _k);
            for (int i = 0, d = 0; i < _mg; i++)
                if (DenseRow(i, len)) _w.W32.AsSpan((r0 + i) * _k, _k).CopyTo(wb.Slice(d++ * _k, _k));
            _f32Nn(wb, _panel32.AsSpan(0, _k * ld), _yT, dense, _k, ld, ld);
            for (int i = 0, d = 0; i < _mg; i++)
                if (DenseRow(i, len)) ScatterRow(ys, i, d++, r0, p0, len, ld);
        }
        if (sparse == 0) return;
        // The input in NHWC costs one pass over it per sample; below that many products, scalar chains on the
        // gathered patches of the flagged positions are cheaper.
        if (_wTaps.Length > 0 && (_nhwcReady || (long)sparse * _k >= _g.InElements)) RecomputeDots(xs, ys, g, r0, p0, len);
        else RecomputeSparse(xs, ys, g, r0, p0, len, ld, panel);
    }

    /// <summary>
    /// The fewest flags for which a row of the tile goes through f32-gemm-nn: a row costs about ld*k/16 vector FMAs
    /// at two per cycle (4x2 tiles, each panel load serving 4 rows), a flag taps*cgp/16 FMAs at one per cycle
    /// (both operands loaded) plus about <see cref="DotFixedCost"/> cycles of reduction and call, so a row of
    /// k = 288 goes to the GEMM from about a third of its positions flagged. (Before the dot path the share was
    /// 1/32: one scalar chain per flag.) A fully flagged row always does, so tau-0 adaptive is fp32 mode's tiles.
    /// </summary>
    private int DenseAt(int len, int ld)
    {
        if (_wTaps.Length == 0) return 1; // no dot path (a layer without weights): every flagged row takes the GEMM
        long row = (long)ld * _k / 32, flag = _taps * _cgp / 16 + DotFixedCost;
        return (int)Math.Clamp((row + flag - 1) / flag, 1, len);
    }

    /// <summary>Cycles of one f32-dot-taps call beyond its FMAs (the lane reduction, the offset check, the call).</summary>
    private const int DotFixedCost = 16;

    /// <summary>Whether channel row i of the tile is recomputed through f32-gemm-nn (<see cref="DenseAt"/>).</summary>
    private bool DenseRow(int i, int len) => _qCount[i] > 0 && _qCount[i] >= _denseAt;

    private void InitDots(KernelSet kernels)
    {
        _dot = kernels.F32DotTaps; _transpose = kernels.F32Transpose;
        _taps = _g.KH * _g.KW;
        _cgp = (_g.CG + 15) & ~15;
        _w.PrepareTaps(_g.CG, _taps, _cgp);
        _wTaps = _w.W32Taps;
        _nhwc = new float[_g.H * _g.W * _g.Groups * _cgp]; // the padding channels stay zero
        var off = new int[_g.Positions * _taps];                  // geometry only: built and checked once
        TapOffsetsOf(off);
        _tapOff = new TapOffsets(_g.Positions, _taps, _cgp, off);
    }

    /// <summary>
    /// The flagged components of the rows under the dense threshold, each one f32-dot-taps call over its weight
    /// row (tap-major) and its position's taps in the NHWC input: a handful of 16-lane FMAs per component instead
    /// of a whole channel row of the tile. Its own summation order (the family's 4x16 lanes, the same on every
    /// ISA), so such a component can differ from fp32 mode in its last bits; tau-0 adaptive still equals fp32
    /// mode (every row is dense then).
    /// </summary>
    private void RecomputeDots(ReadOnlySpan<float> xs, Span<float> ys, int g, int r0, int p0, int len)
    {
        if (!_nhwcReady) { BuildNhwc(xs); _nhwcReady = true; }
        var x = _nhwc.AsSpan(g * _cgp); // the offsets are group g's: its channels start g*cgp into each pixel
        int wl = _taps * _cgp;
        for (int i = 0; i < _mg; i++)
        {
            var q = _qT.AsSpan(i * len, _qCount[i]);
            if (q.IsEmpty || DenseRow(i, len)) continue;
            var s = OutRow(ys, r0 + i, p0, len);
            var y = _kRow.AsSpan(0, q.Length); // kappa of the row is spent: its scratch holds the dot products
            _dot(_wTaps.AsSpan((r0 + i) * wl, wl), x, _tapOff, p0, q, y);
            float bias = _w.Bias[r0 + i];
            for (int j = 0; j < q.Length; j++) s[q[j]] = y[j] + bias;
            DotRecomputes += q.Length;
        }
    }

    /// <summary>The sample's input (NCHW) into _nhwc: [ih, iw, group, channel padded to _cgp].</summary>
    private void BuildNhwc(ReadOnlySpan<float> xs)
    {
        int hw = _g.H * _g.W, stride = _g.Groups * _cgp, cg = _g.CG;
        for (int g = 0; g < _g.Groups; g++)
            _transpose(xs.Slice(g * cg * hw, cg * hw), cg, hw, hw, _nhwc.AsSpan(g * _cgp), stride);
    }

    /// <summary>off[p*taps + t] = where tap t = (kh, kw) of output position p starts in _nhwc relative to the start
    /// of its group's channels (g*cgp), or -1 in the conv's zero padding.</summary>
    private void TapOffsetsOf(Span<int> off)
    {
        int stride = _g.Groups * _cgp;
        for (int oh = 0, o = 0; oh < _g.OH; oh++)
            for (int ow = 0; ow < _g.OW; ow++)
                for (int kh = 0; kh < _g.KH; kh++)
                {
                    int ih = oh * _g.SH - _g.PH + kh * _g.DH;
                    for (int kw = 0; kw < _g.KW; kw++, o++)
                    {
                        int iw = ow * _g.SW - _g.PW + kw * _g.DW;
                        off[o] = (uint)ih < (uint)_g.H && (uint)iw < (uint)_g.W ? (ih * _g.W + iw) * stride : -1;
                    }
                }
    }

    /// <summary>s[p] = fp32 result + bias at row i's flagged positions, from row d of _yT.</summary>
    private void ScatterRow(Span<float> ys, int i, int d, int r0, int p0, int len, int ld)
    {
        var s = OutRow(ys, r0 + i, p0, len);
        var y32 = _yT.AsSpan(d * ld, len);
        float bias = _w.Bias[r0 + i];
        foreach (int p in _qT.AsSpan(i * len, _qCount[i])) s[p] = y32[p] + bias;
    }

    /// <summary>The flagged components of the rows under the dense share, each one fused-order dot product (the
    /// order of f32-gemm-nn), four interleaved at a time (four independent FMA chains). The inputs: the tile's fp32
    /// panel (stride ld) when it is already built or when a quarter of the positions or more hold such a flag, else
    /// the patch of each such position gathered once into _panel32 (slot-major, stride 1).</summary>
    private void RecomputeSparse(ReadOnlySpan<float> xs, Span<float> ys, int g, int r0, int p0, int len, int ld, bool panelBuilt)
    {
        var at = _slot.AsSpan(0, len);   // where position q's inputs start in _panel32, or -1
        int stride = ld;
        bool panel = panelBuilt;
        if (!panel)
        {
            at.Fill(-1);
            int used = 0;
            for (int i = 0; i < _mg; i++)
                foreach (int q in _qT.AsSpan(i * len, _qCount[i]))
                    if (at[q] < 0) { at[q] = 0; used++; }
            if (4 * used < len)
            {
                used = 0;
                for (int q = 0; q < len; q++)
                    if (at[q] == 0)
                    {
                        int p = p0 + q;
                        _g.Gather<float>(xs, _panel32.AsSpan(used * _k, _k), g, p / _g.OW, p % _g.OW);
                        at[q] = used++ * _k;
                    }
                stride = 1;
            }
            else
            {
                GatherPanel32(xs, g, p0, len, ld);
                panel = true;
            }
        }
        if (panel) for (int q = 0; q < len; q++) at[q] = q;
        var src = _panel32.AsSpan();
        for (int i = 0; i < _mg; i++)
        {
            var q = _qT.AsSpan(i * len, _qCount[i]);
            if (q.IsEmpty || DenseRow(i, len)) continue;
            var s = OutRow(ys, r0 + i, p0, len);
            var wr = _w.W32.AsSpan((r0 + i) * _k, _k);
            float bias = _w.Bias[r0 + i];
            int t = 0;
            for (; t + 4 <= q.Length; t += 4)
            {
                int q0 = q[t], q1 = q[t + 1], q2 = q[t + 2], q3 = q[t + 3];
                int o0 = at[q0], o1 = at[q1], o2 = at[q2], o3 = at[q3];
                float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                for (int j = 0, o = 0; j < wr.Length; j++, o += stride)
                {
                    float w = wr[j];
                    a0 = MathF.FusedMultiplyAdd(w, src[o0 + o], a0);
                    a1 = MathF.FusedMultiplyAdd(w, src[o1 + o], a1);
                    a2 = MathF.FusedMultiplyAdd(w, src[o2 + o], a2);
                    a3 = MathF.FusedMultiplyAdd(w, src[o3 + o], a3);
                }
                s[q0] = a0 + bias; s[q1] = a1 + bias; s[q2] = a2 + bias; s[q3] = a3 + bias;
            }
            for (; t < q.Length; t++) s[q[t]] = F32GemmNnScalar.Dot(wr, src[at[q[t]]..], 0, stride) + bias;
        }
    }

    /// <summary>Panel row j (input element j = (c, kh, kw) of group g's patch) for positions p0.. of dst's length:
    /// dst[q] = x[g*CG + c, ih, iw] of position p0 + q, or 0 in the padding. Whole runs of one output row at a
    /// time; the row's geometry comes from _rowGeo (no division per call but the tile's start).</summary>
    private void GatherRow<T>(ReadOnlySpan<T> x, Span<T> dst, int g, int j, int p0) where T : unmanaged
    {
        ref readonly var rg = ref _rowGeo[j];
        int OW = _g.OW, SW = _g.SW, W = _g.W, H = _g.H, SH = _g.SH;
        int plane = (g * _g.CG + rg.C) * H;
        if (SW == 1 && SH == 1 && W == OW)
        {
            GatherRowContiguous(x, dst, in rg, plane, p0);
            return;
        }
        int q = 0, len = dst.Length;
        int oh = p0 / OW, ow = p0 - oh * OW;
        while (q < len)
        {
            int run = Math.Min(len - q, OW - ow);
            var d = dst.Slice(q, run);
            int ih = oh * SH + rg.Ih;
            if ((uint)ih >= (uint)H || rg.OwLo >= rg.OwHi) d.Clear();
            else
            {
                int a = Math.Clamp(rg.OwLo - ow, 0, run), b = Math.Clamp(rg.OwHi - ow, 0, run);
                if (a > 0) d[..a].Clear();
                if (b < run) d[b..].Clear();
                if (b > a)
                {
                    int i0 = (plane + ih) * W + (ow + a) * SW + rg.Iw;
                    if (SW == 1) x.Slice(i0, b - a).CopyTo(d[a..b]);
                    else
                    {
                        var src = x.Slice(i0, (b - a - 1) * SW + 1);
                        for (int t = 0; t < b - a; t++) d[a + t] = src[t * SW];
                    }
                }
            }
            q += run; oh++; ow = 0;
        }
    }

    /// <summary>
    /// <see cref="GatherRow{T}"/> when the input index of position p is one affine function of p (stride 1 and
    /// input rows as long as output rows, the "same"-padded 1xk and kx1 convs): one copy over the valid rows,
    /// then zeros in the padding columns of each row, instead of one short copy per output row. Reads only
    /// in-bounds input (the copy starts at the first valid column of the first valid row and ends after the last).
    /// </summary>
    private void GatherRowContiguous<T>(ReadOnlySpan<T> x, Span<T> dst, in RowGeo rg, int plane, int p0) where T : unmanaged
    {
        int OW = _g.OW, len = dst.Length;
        int ohLo = Math.Max(0, -rg.Ih), ohHi = Math.Min(_g.OH, _g.H - rg.Ih); // output rows whose input row exists
        int a = Math.Max(p0, ohLo * OW + rg.OwLo) - p0, b = Math.Min(p0 + len, (ohHi - 1) * OW + rg.OwHi) - p0;
        if (rg.OwLo >= rg.OwHi || ohLo >= ohHi || a >= b)
        {
            dst.Clear();
            return;
        }
        dst[..a].Clear();
        dst[b..].Clear();
        // Input index of position p: ((plane + oh + Ih) * W + ow + Iw) = (plane + Ih) * W + Iw + p, as W = OW.
        x.Slice((plane + rg.Ih) * OW + rg.Iw + p0 + a, b - a).CopyTo(dst[a..b]);
        if (rg.OwLo == 0 && rg.OwHi == OW) return;
        // The copy ran across row ends: zero each row's padding columns [0, OwLo) and [OwHi, OW) inside [a, b).
        for (int rowStart = (p0 + a) / OW * OW - p0; rowStart < b; rowStart += OW)
        {
            for (int q = Math.Max(a, rowStart), e = Math.Min(b, rowStart + rg.OwLo); q < e; q++) dst[q] = default;
            for (int q = Math.Max(a, rowStart + rg.OwHi), e = Math.Min(b, rowStart + OW); q < e; q++) dst[q] = default;
        }
    }

    /// <summary>Where panel row j reads: channel c within the group, the input row offset kh*DH - PH, the input
    /// column offset kw*DW - PW, and the output columns [OwLo, OwHi) whose input column lies inside [0, W).</summary>
    private readonly record struct RowGeo(int C, int Ih, int Iw, int OwLo, int OwHi);

    private RowGeo[] _rowGeo = [];

    private static RowGeo[] BuildRowGeo(in ConvGeometry g)
    {
        var geo = new RowGeo[g.K];
        for (int j = 0; j < g.K; j++)
        {
            int kw = j % g.KW, kh = j / g.KW % g.KH, c = j / (g.KW * g.KH);
            int off = kw * g.DW - g.PW;
            int lo = off >= 0 ? 0 : (-off + g.SW - 1) / g.SW;
            int hi = Math.Min(g.OW, g.W - 1 - off < 0 ? 0 : (g.W - 1 - off) / g.SW + 1);
            geo[j] = new RowGeo(c, kh * g.DH - g.PH, off, lo, hi);
        }
        return geo;
    }

    /// <summary>Panel row j, or zeros past the inner length (the last pair or quad of an odd k).</summary>
    private void GatherRowOrZero(ReadOnlySpan<sbyte> x, Span<sbyte> dst, int g, int j, int p0)
    {
        if (j < _k) GatherRow(x, dst, g, j, p0); else dst.Clear();
    }

    /// <summary>dst[q] = I8GemmNnPack.Pair(a[q], b[q]), vectorised.</summary>
    private static void PackPairs(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<int> dst)
    {
        int n = a.Length, q = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            var mask = Vector128.Create(0xFFFF);
            for (; q + 16 <= n; q += 16)
            {
                var (a0, a1) = Vector128.Widen(Vector128.Create(a.Slice(q, 16)));
                var (b0, b1) = Vector128.Widen(Vector128.Create(b.Slice(q, 16)));
                Pack4(a0, b0, dst.Slice(q, 8), mask);
                Pack4(a1, b1, dst.Slice(q + 8, 8), mask);
            }
        }
        for (; q < n; q++) dst[q] = I8GemmNnPack.Pair(a[q], b[q]);
    }

    private static void Pack4(Vector128<short> a, Vector128<short> b, Span<int> dst,
        Vector128<int> mask)
    {
        var (a0, a1) = Vector128.Widen(a);
        var (b0, b1) = Vector128.Widen(b);
        ((a0 & mask) | (b0 << 16)).CopyTo(dst);
        ((a1 & mask) | (b1 << 16)).CopyTo(dst[4..]);
    }

    private void TraceRow(int sample, int r, int p0, int len, ReadOnlySpan<float> s, ReadOnlySpan<int> flagged)
    {
        int o = sample * _outSample + r * _g.Positions + p0;
        for (int q = 0; q < len; q++)
        {
            _traceS![o + q] = s[q];
            _traceBound![o + q] = ErrorModel.RoundUp(_bRigRow[q]);
            _traceFlag![o + q] = false;
        }
        foreach (int q in flagged) _traceFlag![o + q] = true;
    }
}
