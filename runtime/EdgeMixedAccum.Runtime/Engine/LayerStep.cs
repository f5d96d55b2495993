using System.Runtime.Intrinsics;
using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// Algorithm 1 for one Dense or Conv layer (PAPER.md, docs/engine.md): per sample, quantise the input to the
/// low format; per unit (a Dense row, or a Conv output position and group) run the low pass over a weight
/// block, bound every component's error, flag where kappa_phi(s_hat) * bound / |s_hat| &gt; tau (or the sign
/// guard fires, or s_hat is not finite), recompute the flagged components in fp32 from the same input, and
/// apply the activation. All scratch is allocated at construction: <see cref="Run"/> allocates nothing.
/// </summary>
internal sealed partial class LayerStep
{
    private readonly LayerNode _node;
    private readonly LayerWeights _w;
    private readonly Activation _act;
    private readonly Precision _prec;
    private readonly bool _adaptive;
    private readonly float _tau, _tauNeg, _staticScale;
    private readonly bool _authors, _vectorFlag;
    private readonly FlagPlan _flagPlan;
    // The conv flag test's thresholds on s_hat (piecewise-linear activations), reset per channel row.
    private FlagBand _band;
    private readonly ActivationParams _actParams; // validated once, for the per-row kappa
    private readonly EstimatorKind _est;
    private readonly FlagBound _flagBound;

    // Shape: a sample is [K] rows for Dense (rowsPerSample of them), [C, H, W] for Conv.
    private readonly bool _conv;
    private readonly ConvGeometry _g;
    private readonly int _m, _k, _mg, _units, _inSample, _outSample;

    // Kernels chosen once per session.
    private readonly I8GemvFn _i8;
    private readonly F16GemvFn _f16;
    private readonly F32GemvRowsFn _f32;
    private readonly I8GemmFn _i8Gemm;
    private readonly F32GemmFn _f32Gemm;

    // Blocked path (i8 and fp32 Dense layers): up to _nb units (rows of any sample) go through one GEMM call, so
    // each weight load serves several inputs (i8 and fp32 Conv layers take the panel path, LayerStep.ConvPanel.cs).
    // The per-sample arrays (_stats, _xq) grow with the batch on the first larger run, never in steady state.
    private readonly int _nb;
    private InputStats[] _stats = [];
    // Adaptive int8 Dense blocks (FinishBlock): the flagged rows of every unit of a block, how many units flag each
    // weight row, and the rows flagged in so many units that one f32-gemm call over the block beats a GEMV per unit.
    private readonly int[] _blockRows = [], _blockCount = [], _rowHits = [], _denseSlot = [];
    private readonly float[] _wHot = [], _yHot = [];
    private readonly int[] _dotBlock = [];
    private readonly float[] _yBlock = [];

    // Scratch (per sample / per unit).
    private sbyte[] _xq = [];
    private readonly Half[] _x16 = [], _patch16 = [], _y16 = [];
    private readonly float[] _patch32 = [], _s, _kappa, _absDot = [], _yRec, _blockMax = [];
    // phi(s) of the block's int8 Dense results, computed beside kappa where the activation shares their work
    // (tanh's exp): Emit copies it and applies phi again only to the recomputed components. Empty otherwise.
    private readonly float[] _phiBlock = [], _phiRec = [];
    private readonly double[] _bFlag, _bRig;
    private readonly int[] _rows, _all;
    private readonly double _gammaLow, _probLow, _inflateA;

    // The output write (docs/engine.md, "The output write"): the activation applied to each finished row while it is
    // in cache, and, when the next layer takes this one's output as its int8 input under a static scale, that input
    // quantised there too (FeedRow), so the next layer skips its own pass over it.
    private LayerStep? _feeds;          // producer: the layer whose int8 input this one's output write quantises
    private double[] _feedEmax = [], _feedL1 = []; // consumer: per sample, the running e_max and ||x||_1 of the rows fed
    private int _fed;                   // consumer: samples of the coming run whose int8 input is ready (0: quantise)

    // Trace of the last run (Trace option): low-pass results and rigorous bounds in output layout.
    private float[]? _traceS, _traceBound;
    private bool[]? _traceFlag;

    public LayerReport Report { get; }
    public LayerNode Node => _node;
    public LayerWeights Weights => _w;
    public Precision Precision => _prec;
    public int InSample => _inSample;
    public int OutSample => _outSample;
    public bool Tracing => _traceS is not null;
    public ReadOnlySpan<float> TraceLow => _traceS;
    public ReadOnlySpan<float> TraceBound => _traceBound;
    public ReadOnlySpan<bool> TraceFlagged => _traceFlag;


    public LayerStep(LayerNode node, LayerWeights w, int[] weightShape, int[] inSample, int[] outSample, SessionOptions o, KernelSet kernels)
    {
        _node = node; _w = w; _act = node.Activation;
        var plan = node.Plan;
        _prec = o.Mode switch
        {
            RunMode.F32 => Precision.F32,
            RunMode.I8 => Precision.I8,
            RunMode.F16Acc => Precision.F16Acc,
            _ => plan.Precision == Precision.F32 ? Precision.F32 : o.Low ?? plan.Precision,
        };
        _adaptive = o.Mode == RunMode.Adaptive;
        _tau = !_adaptive ? float.PositiveInfinity
            : o.LayerTau is { } lt && lt.TryGetValue(node.Name, out var t) ? t
            : o.Tau ?? (_prec == plan.Precision ? plan.Tau : LayerPlan.DefaultTau(_prec)); // a plan's tau is for its own precision
        _tauNeg = _adaptive ? o.TauNegative ?? plan.TauNegative : float.PositiveInfinity;
        _authors = _adaptive && o.Criterion == FlagCriterion.Authors;
        // The vector flag test covers the full criterion for every activation (the guard's kinks as lanes).
        _vectorFlag = !_authors;
        _actParams = ActivationParams.From(_act);
        _flagPlan = new FlagPlan(FlagTest.Kinks(_act), _tau, _tauNeg);
        _band = FlagBand.For(in _act, in _actParams, in _flagPlan);
        _est = o.Estimator ?? plan.Estimator;
        _flagBound = o.FlagBound;
        _staticScale = plan.Precision == Precision.I8 ? plan.InputScale : 0f;
        _i8 = kernels.I8; _f16 = kernels.F16; _f32 = kernels.F32Rows;
        _i8Gemm = kernels.I8Gemm; _f32Gemm = kernels.F32Gemm;

        _m = w.M; _k = w.K;
        _conv = node is ConvNode;
        if (node is ConvNode c)
        {
            _g = ConvGeometry.Of(c, inSample, outSample, weightShape.AsSpan(2));
            if (_g.K != _k || _g.Groups <= 0 || _m % _g.Groups != 0)
                throw new EmaException($"{node}: weight rows of {_k} do not match the input's {_g.CG} channels per group x kernel");
            _mg = _m / _g.Groups;
            _units = _g.Groups * _g.Positions;
            _inSample = _g.InElements;
            _outSample = _m * _g.Positions;
        }
        else
        {
            long inEl = Shapes.Elements(inSample, node.ToString());
            _mg = _m;
            _units = _k == 0 ? 0 : (int)(inEl / _k);
            _inSample = (int)inEl;
            _outSample = _units * _m;
        }

        // About 64 KiB of gathered inputs per block, 4 to 64 units.
        _nb = Math.Clamp(65536 / Math.Max(1, _k * (_prec == Precision.F32 ? 4 : 1)), 4, 64);
        // Per-component scratch: one unit on the per-sample path, a whole block on the blocked path, none on the
        // panel path (it keeps its own rows).
        int cap = _prec == Precision.F16Acc ? _mg : Panel ? 0 : _nb * _mg;
        _s = new float[cap]; _kappa = new float[cap]; _yRec = new float[_mg];
        if (_prec == Precision.I8 && !_conv && ActivationMath.PhiAndKappa(_act, in _actParams, [], [], []))
        {
            _phiBlock = new float[cap];
            _phiRec = new float[_mg];
        }
        _bFlag = new double[cap]; _bRig = new double[cap];
        _rows = new int[_mg]; _all = new int[_mg];
        for (int i = 0; i < _mg; i++) _all[i] = i;
        if (_conv && _prec == Precision.F16Acc) _patch32 = new float[_k]; // Dense reads its fp32 rows in place; the panel path keeps its own
        switch (_prec)
        {
            case Precision.I8:
                w.PrepareI8();
                _xq = new sbyte[_inSample];
                if (!_conv) _dotBlock = new int[_nb * _mg];
                if (!_conv && _adaptive && _nb > 1)
                {
                    _blockRows = new int[_nb * _mg]; _blockCount = new int[_nb]; _rowHits = new int[_mg]; _denseSlot = new int[_mg];
                    _wHot = new float[HotRowsCap * _k]; _yHot = new float[_nb * HotRowsCap];
                }
                break;
            case Precision.F32:
                if (!_conv) _yBlock = new float[_nb * _mg];
                break;
            case Precision.F16Acc:
                w.PrepareF16(_est == EstimatorKind.Blocked ? (o.Estimator is null && plan.BlockSize > 0 ? plan.BlockSize : o.BlockSize) : o.BlockSize);
                _x16 = new Half[_inSample];
                if (_conv) _patch16 = new Half[_k];
                _y16 = new Half[_mg];
                if (_est == EstimatorKind.Fused) _absDot = new float[_mg];
                if (_est == EstimatorKind.Blocked) _blockMax = new float[w.Blocks];
                int depth = ErrorModel.F16Depth(_k);
                _gammaLow = ErrorModel.Gamma(depth, ErrorModel.U16);
                _probLow = Math.Sqrt(depth) * ErrorModel.U16;
                // The fp32 magnitude sums carry at most gamma_k(2^-24) relative error: inflate so A stays an upper bound.
                _inflateA = 1 + ErrorModel.Gamma(_k + 4, ErrorModel.U32) + 1e-6;
                break;
        }
        if (Panel) InitPanel(kernels);
        Report = new LayerReport(node.Name, node.Op, _prec, _k);
    }

    /// <summary>Allocates the trace arrays for up to <paramref name="samples"/> samples (outside the hot path).</summary>
    public void EnsureTrace(int samples)
    {
        int n = samples * _outSample;
        if (_traceS is not null && _traceS.Length >= n) return;
        _traceS = new float[n]; _traceBound = new float[n]; _traceFlag = new bool[n];
    }

    /// <summary>Runs <paramref name="samples"/> samples: x holds samples * InSample values, y samples * OutSample.</summary>
    public void Run(ReadOnlySpan<float> x, Span<float> y, int samples)
    {
        if (x.Length < (long)samples * _inSample || y.Length < (long)samples * _outSample)
            throw new ArgumentException($"{_node}: {samples} samples need {(long)samples * _inSample} inputs and {(long)samples * _outSample} outputs; got {x.Length} and {y.Length}");
        // f16acc runs per sample. int8 sums are exact on every path; fp32 blocks (f32-gemm) and single units and
        // recomputes (f32-gemv-rows) sum each output in the same order for the ISA the dispatch picked for both
        // (F32RowsGemmOrderTests), so fp32 results never depend on the batch (SessionTests).
        _feeds?.BeginFeed(samples);
        if (_prec == Precision.F16Acc)
        {
            for (int n = 0; n < samples; n++)
                RunSample(x.Slice(n * _inSample, _inSample), y.Slice(n * _outSample, _outSample), n);
        }
        else RunBlocked(x, y, samples);
        if (!ActInWrite)
        {
            var ya = y[..(samples * _outSample)];
            ActivationMath.Apply(_act, in _actParams, ya, ya);
        }
        _feeds?.EndFeed(samples);
    }

    /// <summary>Whether the activation runs in the output write, row by row (Dense units, conv panel tiles), rather
    /// than over the whole output afterwards (the f16acc conv path, which writes a position's channels strided).</summary>
    private bool ActInWrite => Panel || !_conv;

    /// <summary>Whether this layer's output write can quantise <paramref name="next"/>'s int8 input: next takes the
    /// whole output as its input (same elements per sample) under a static scale, and this layer writes its rows
    /// finished (<see cref="ActInWrite"/>).</summary>
    internal bool CanFeed(LayerStep next) =>
        ActInWrite && next._prec == Precision.I8 && next._staticScale > 0 && float.IsFinite(1f / next._staticScale)
        && next._inSample == _outSample;

    /// <summary>Makes this layer's output write quantise <paramref name="next"/>'s input (<see cref="CanFeed"/>; the
    /// session links a layer to the step right after it, which reads the same buffer).</summary>
    internal void Feed(LayerStep next)
    {
        if (!CanFeed(next)) throw new InvalidOperationException($"{_node} cannot quantise the input of {next._node}");
        _feeds = next;
    }

    /// <summary>Whether this layer's output write quantises the next layer's input (tests).</summary>
    internal bool Feeds => _feeds is not null;

    /// <summary>The int8 input statistics of sample n of the last run (tests: fed and self-quantised alike).</summary>
    internal (bool Finite, float Scale, double EMax, double L1) InputStatsOf(int n) => (_stats[n].Finite, _stats[n].Scale, _stats[n].EMax, _stats[n].L1);

    /// <summary>The int8 input of sample n of the last run (tests).</summary>
    internal ReadOnlySpan<sbyte> QuantizedInput(int n) => _xq.AsSpan(n * _inSample, _inSample);

    /// <summary>The finished row <paramref name="row"/> (offset <paramref name="at"/> in the output of sample
    /// <paramref name="sample"/>): the activation in place, then the next layer's int8 input when fed.</summary>
    private void WriteRow(Span<float> row, int sample, int at)
    {
        ActivationMath.Apply(_act, in _actParams, row, row);
        _feeds?.FeedRow(sample, at, row);
    }

    /// <summary>Consumer side: the producer's run of <paramref name="samples"/> samples is about to write this
    /// layer's input.</summary>
    private void BeginFeed(int samples)
    {
        _fed = 0;
        EnsureBlocked(samples);
        if (_feedEmax.Length < samples) { _feedEmax = new double[samples]; _feedL1 = new double[samples]; }
        _feedEmax.AsSpan(0, samples).Clear();
        _feedL1.AsSpan(0, samples).Clear();
    }

    /// <summary>Consumer side: one finished row of the input of <paramref name="sample"/>, at offset
    /// <paramref name="at"/>, quantised with the static scale as <see cref="QuantizeI8"/> does it element by element.</summary>
    private void FeedRow(int sample, int at, ReadOnlySpan<float> row)
    {
        I8Quantizer.Vector(row, _xq.AsSpan(sample * _inSample + at, row.Length), _staticScale, out double e, out double l);
        ref double em = ref _feedEmax[sample];
        em = Math.Max(em, e); // NaN from a non-finite row is caught by its l1 below
        _feedL1[sample] += l;
    }

    /// <summary>Consumer side: every row of the producer's run has been fed; the inputs' statistics as
    /// <see cref="QuantizeI8"/> gives them (the same q and e_max; ||x||_1 summed in another order), for the next run.</summary>
    private void EndFeed(int samples)
    {
        for (int n = 0; n < samples; n++)
            _stats[n] = I8Stats(_staticScale, _feedEmax[n], _feedL1[n], _inSample, _xq.AsSpan(n * _inSample, _inSample));
        _fed = samples;
    }

    /// <summary>The i8 and fp32 paths: low input for every sample first, then Conv through the panel path, Dense in
    /// blocks of units through one GEMM call each, then per unit the same bound, flag, recompute and scatter as the
    /// per-sample path.</summary>
    private void RunBlocked(ReadOnlySpan<float> x, Span<float> y, int samples)
    {
        EnsureBlocked(samples);
        // The previous layer's output write quantised this input already (the samples it wrote, this run's).
        bool fed = _fed == samples;
        _fed = 0;
        if (_prec == Precision.I8 && !fed)
            for (int n = 0; n < samples; n++)
                _stats[n] = QuantizeI8(x.Slice(n * _inSample, _inSample), _xq.AsSpan(n * _inSample, _inSample));
        if (_conv)
        {
            RunPanel(x, y, samples);
            return;
        }
        // Dense: the units of all samples are consecutive rows of K in the (quantised) input.
        int total = samples * _units;
        for (int f0 = 0; f0 < total; f0 += _nb)
        {
            int count = Math.Min(_nb, total - f0);
            Block(_prec == Precision.I8 ? _xq.AsSpan(f0 * _k, count * _k) : default, x.Slice(f0 * _k, count * _k), count);
            for (int t = 0; t < count; t++) Post(t, (f0 + t) / _units);
            AfterPost(count);
            if (_blockRows.Length > 0 && count > 1)
            {
                FinishBlock(x, y, f0, count);
                continue;
            }
            for (int t = 0; t < count; t++)
            {
                int n = (f0 + t) / _units, u = (f0 + t) % _units;
                Finish(x.Slice(n * _inSample, _inSample), y.Slice(n * _outSample, _outSample), in _stats[n], n, u, 0, 0, t * _mg);
            }
        }
    }

    /// <summary>The low pass (or the fp32 pass) of <paramref name="count"/> Dense units: one GEMM, or the GEMV kernel
    /// for a single unit (batch 1).</summary>
    private void Block(ReadOnlySpan<sbyte> xq, ReadOnlySpan<float> x32, int count)
    {
        if (_prec == Precision.I8)
        {
            if (count == 1) _i8(_w.Q, xq, _dotBlock, default, _mg, _k);
            else _i8Gemm(_w.Q, xq, _dotBlock, _mg, _k, count);
        }
        else
        {
            if (count == 1) _f32(_w.W32, x32, _all, _yBlock, _k);
            else _f32Gemm(_w.W32, x32, _yBlock, _mg, _k, count);
        }
    }

    /// <summary>s_hat (and for int8 the bounds) of unit t of the block from the block's results, at offset t * m.</summary>
    private void Post(int t, int sample)
    {
        int off = t * _mg;
        if (_prec == Precision.F32)
        {
            var yb = _yBlock.AsSpan(off, _mg);
            var sb = _s.AsSpan(off, _mg);
            var bias = _w.Bias.AsSpan(0, _mg);
            for (int i = 0; i < sb.Length; i++) sb[i] = yb[i] + bias[i];
        }
        else PostI8(_dotBlock.AsSpan(off, _mg), in _stats[sample], off);
    }

    /// <summary>kappa_phi of the whole block in one vectorised call (the per-unit calls of short spans cost more
    /// than the arithmetic).</summary>
    private void AfterPost(int count)
    {
        if (_prec != Precision.I8) return;
        var s = _s.AsSpan(0, count * _mg);
        // _phiBlock exists only where the constructor found the kind offers the one-pass form.
        if (_phiBlock.Length > 0) ActivationMath.PhiAndKappa(_act, in _actParams, s, _phiBlock.AsSpan(0, s.Length), _kappa);
        else ActivationMath.Kappa(_act, in _actParams, s, _kappa);
    }

    /// <summary>One unit whose s_hat, bounds and kappa sit at <paramref name="off"/>: flag, recompute, count, and
    /// scatter to the output layout (Dense [row, M], Conv [M, positions]). fp32 units are only counted and scattered.</summary>
    private void Finish(ReadOnlySpan<float> xs, Span<float> ys, in InputStats st, int sample, int u, int g, int p, int off)
    {
        int flagged = 0;
        if (_prec != Precision.F32)
        {
            flagged = Flag(in st, off);
            if (_traceS is not null) Trace(sample, u, g, p, _rows.AsSpan(0, flagged), off);
            if (flagged > 0) Recompute(xs, u, g, p, _rows.AsSpan(0, flagged), off);
        }
        Emit(ys, sample, u, g, p, off, _rows.AsSpan(0, flagged));
    }

    /// <summary>The unit's finished results at <paramref name="off"/>: counted, and scattered to the sample's output
    /// layout (Dense [row, M], Conv [M, positions]).</summary>
    private void Emit(Span<float> ys, int sample, int u, int g, int p, int off, ReadOnlySpan<int> flagged)
    {
        var s = _s.AsSpan(off, _mg);
        Report.Components += _mg;
        Report.Flagged += flagged.Length;
        if (_conv)
            for (int i = 0, r0 = g * _mg; i < _mg; i++) ys[(r0 + i) * _g.Positions + p] = s[i];
        else if (_phiBlock.Length > 0) // int8 Dense with a one-pass phi and kappa: AfterPost filled _phiBlock
        {
            // phi of the low results came with kappa (AfterPost); the recomputed components need theirs anew, gathered
            // into one call (phi is elementwise and position-independent: the same bits as over the whole row).
            var row = ys.Slice(u * _m, _m);
            _phiBlock.AsSpan(off, _mg).CopyTo(row);
            if (flagged.Length > 0)
            {
                var rec = _phiRec.AsSpan(0, flagged.Length);
                for (int j = 0; j < rec.Length; j++) rec[j] = s[flagged[j]];
                ActivationMath.Apply(_act, in _actParams, rec, rec);
                for (int j = 0; j < rec.Length; j++) row[flagged[j]] = rec[j];
            }
            _feeds?.FeedRow(sample, u * _m, row);
        }
        else
        {
            var row = ys.Slice(u * _m, _m);
            s.CopyTo(row);
            WriteRow(row, sample, u * _m);
        }
    }

    /// <summary>At most this many weight rows of a Dense layer are recomputed for a whole block by one f32-gemm call
    /// (their fp32 rows copied into one block first); the rest of the flagged rows take the per-unit GEMV.</summary>
    private int HotRowsCap => Math.Max(1, _mg / 2);

    /// <summary>Blocks whose hot rows went through one f32-gemm call (tests: the path ran).</summary>
    internal long HotRowBlocks { get; private set; }

    /// <summary>
    /// <see cref="Finish"/> for a block of several adaptive int8 Dense units: every unit is flagged first (and
    /// traced), then the weight rows flagged in at least a third of the block's units (up to <see cref="HotRowsCap"/>)
    /// are recomputed for every unit of the block by one f32-gemm call, each weight row loaded once per block instead
    /// of once per flagging unit (f32-gemm's throughput is about three times the GEMV's), and the other flags by
    /// f32-gemv-rows per unit as before. f32-gemv-rows sums in f32-gemm's order (F32RowsGemmOrderTests), so the
    /// results are the per-unit path's bits (SessionTests.BatchedRunEqualsOneSampleRuns).
    /// </summary>
    private void FinishBlock(ReadOnlySpan<float> x, Span<float> y, int f0, int count)
    {
        var hits = _rowHits.AsSpan();
        hits.Clear();
        for (int t = 0; t < count; t++)
        {
            int n = (f0 + t) / _units, u = (f0 + t) % _units, off = t * _mg;
            var rows = _blockRows.AsSpan(t * _mg, _mg);
            int flagged = _blockCount[t] = Flag(in _stats[n], _s.AsSpan(off, _mg), _kappa.AsSpan(off, _mg), _bFlag.AsSpan(off, _mg), rows);
            if (_traceS is not null) Trace(n, u, 0, 0, rows[..flagged], off);
            foreach (int r in rows[..flagged]) hits[r]++;
        }
        int hot = 0;
        for (int r = 0; r < _mg; r++)
        {
            _denseSlot[r] = -1;
            if (hits[r] > 0 && 3 * hits[r] >= count && hot < HotRowsCap)
            {
                _w.W32.AsSpan(r * _k, _k).CopyTo(_wHot.AsSpan(hot * _k, _k));
                _denseSlot[r] = hot++;
            }
        }
        if (hot > 0)
        {
            _f32Gemm(_wHot.AsSpan(0, hot * _k), x.Slice(f0 * _k, count * _k), _yHot, hot, _k, count);
            HotRowBlocks++;
        }
        var bias = _w.Bias;
        for (int t = 0; t < count; t++)
        {
            int n = (f0 + t) / _units, u = (f0 + t) % _units, off = t * _mg;
            var rows = _blockRows.AsSpan(t * _mg, _blockCount[t]);
            int cold = 0;
            foreach (int r in rows)
            {
                if (_denseSlot[r] >= 0) _s[off + r] = _yHot[t * hot + _denseSlot[r]] + bias[r];
                else _rows[cold++] = r;
            }
            if (cold > 0) Recompute(x.Slice(n * _inSample, _inSample), u, 0, 0, _rows.AsSpan(0, cold), off);
            Emit(y.Slice(n * _outSample, _outSample), n, u, 0, 0, off, rows);
        }
    }

    /// <summary>Grows the per-sample arrays to <paramref name="samples"/> (a larger batch than before only). fp32 layers
    /// keep default stats: their units are counted and scattered, never flagged.</summary>
    private void EnsureBlocked(int samples)
    {
        if (_stats.Length >= samples) return;
        _stats = new InputStats[samples];
        if (_prec == Precision.I8 && _xq.Length < (long)samples * _inSample) _xq = new sbyte[(long)samples * _inSample];
    }

    /// <summary>The f16acc path, one sample: fp16 input, then per unit the low pass, bounds and kappa, and the
    /// shared flag-recompute-scatter step.</summary>
    private void RunSample(ReadOnlySpan<float> x, Span<float> y, int sample)
    {
        InputStats st = ToF16(x);
        for (int u = 0; u < _units; u++)
        {
            int g = 0, p = 0;
            if (_conv) { g = u / _g.Positions; p = u % _g.Positions; }
            LowF16(u, g, p, g * _mg, in st);
            ActivationMath.Kappa(_act, in _actParams, _s.AsSpan(0, _mg), _kappa);
            Finish(x, y, in st, sample, u, g, p, 0);
        }
    }

    /// <summary>Per-sample facts about the layer's input, measured while converting it to the low format.</summary>
    private struct InputStats
    {
        public bool Finite;      // no NaN/Inf (else every component is flagged)
        public float Scale;      // int8 step s_x
        public double EMax;      // int8: max_j |x_j - s_x q_j| (rounding and clipping)
        public double L1;        // sum_j |x_j| over the sample: bounds any patch's sum
        public float MaxAbs;     // fp16: max |x16_j|
    }

    /// <summary>The int8 input of one sample and its statistics. Under a static scale one pass (the quantiser's
    /// ||x||_1 tells a non-finite element); a dynamic scale first needs max |x|.</summary>
    private InputStats QuantizeI8(ReadOnlySpan<float> x, Span<sbyte> q)
    {
        q = q[..x.Length];
        float sx = _staticScale;
        if (sx == 0)
        {
            float max = I8Quantizer.MaxAbs(x, out bool finite);
            if (!finite) { q.Clear(); return default; }
            sx = max / 127f;
        }
        // A step whose reciprocal overflows (max|x| below ~3.7e-37) would quantise a zero through 0 * inf = NaN:
        // take the all-zero path instead (q = 0, e_max = max|x|), which bounds such tiny inputs rigorously.
        if (!float.IsFinite(1f / sx)) sx = 0;
        double emax = 0, l1 = 0;
        if (sx == 0)
        {
            q.Clear();
            foreach (float v in x) { double a = Math.Abs(v); emax = Math.Max(emax, a); l1 += a; }
        }
        else I8Quantizer.Vector(x, q, sx, out emax, out l1);
        return I8Stats(sx, emax, l1, x.Length, q);
    }

    /// <summary>The statistics of an int8 input of n elements from its quantiser's e_max and ||x||_1 (inflated to
    /// bound the double operations' rounding, in any summation order). A non-finite ||x||_1 means a NaN or an
    /// infinity in x (finite floats cannot overflow a double sum): q is cleared and the sample is not finite.</summary>
    private static InputStats I8Stats(float sx, double emax, double l1, int n, Span<sbyte> q)
    {
        if (!double.IsFinite(l1)) { q.Clear(); return default; }
        InputStats st = default;
        st.Finite = true;
        st.Scale = sx;
        st.EMax = emax * (1 + 4.5e-16);
        st.L1 = l1 * (1 + (n + 2) * 1.2e-16);
        return st;
    }

    private InputStats ToF16(ReadOnlySpan<float> x)
    {
        InputStats st = default;
        bool finite = true;
        float max = 0;
        double l1 = 0;
        var h = _x16.AsSpan(0, x.Length);
        for (int j = 0; j < x.Length; j++)
        {
            float v = x[j];
            finite &= float.IsFinite(v);
            Half hv = (Half)v;
            h[j] = hv;
            max = MathF.Max(max, MathF.Abs((float)hv));
            l1 += Math.Abs(v);
        }
        st.Finite = finite;
        st.MaxAbs = max; // +inf when an input overflowed fp16: every product is then inf or NaN, hence flagged
        st.L1 = l1 * (1 + (x.Length + 2) * 1.2e-16);
        return st;
    }

    /// <summary>s_hat and the bounds of one Dense unit from its exact int32 dot products, into _s/_bRig/_bFlag at off.</summary>
    private void PostI8(ReadOnlySpan<int> dot, in InputStats st, int off)
    {
        var row = new I8Bounds.Row(_w.QScale, _w.Bias, _w.QDiff, _w.QL1, _w.QL2);
        I8Bounds.Vector(dot[.._mg], in row, st.Scale, st.EMax, st.L1, _flagBound == FlagBound.Rigorous,
            _s.AsSpan(off, _mg), _bRig.AsSpan(off, _mg), _bFlag.AsSpan(off, _mg));
    }

    private void LowF16(int u, int g, int p, int r0, in InputStats st)
    {
        ReadOnlySpan<Half> patch;
        if (_conv) { _g.Gather<Half>(_x16, _patch16, g, p / _g.OW, p % _g.OW); patch = _patch16; }
        else patch = _x16.AsSpan(u * _k, _k);
        var abs = _est == EstimatorKind.Fused ? _absDot.AsSpan() : default;
        _f16(_w.H.Slice(r0 * _k, _mg * _k), patch, _y16, abs, _mg, _k);
        if (_est == EstimatorKind.Blocked) BlockMax(patch);
        var bias = _w.Bias;
        double u16 = ErrorModel.U16;
        for (int i = 0; i < _mg; i++)
        {
            int r = r0 + i;
            float lowSum = (float)_y16[i];
            float sh = lowSum + bias[r];
            _s[i] = sh;
            double a = _est switch
            {
                EstimatorKind.Fused => _absDot[i],
                EstimatorKind.Blocked => BlockedA(r),
                _ => (double)_w.HL1[r] * st.MaxAbs,
            } * _inflateA;
            // Input rounding to fp16 (relative u, or 2^-25 absolute below the normal range), subnormal
            // accumulation steps, the weights' distance from fp32, and the fp32 bias add.
            double fixedTerms = u16 / (1 - u16) * a + ErrorModel.Eta16 * (2.0 * _w.HL1[r] + _k + 16)
                + _w.HDiff[r] * st.L1 + ErrorModel.U32 * 2 * Math.Abs(sh);
            _bRig[i] = _gammaLow * a + fixedTerms;
            _bFlag[i] = (_flagBound == FlagBound.Rigorous ? _gammaLow : _probLow) * a + fixedTerms;
        }
    }

    private void BlockMax(ReadOnlySpan<Half> patch)
    {
        int bs = _w.BlockSize;
        for (int b = 0; b < _w.Blocks; b++)
        {
            float m = 0;
            foreach (var h in patch.Slice(b * bs, Math.Min(bs, _k - b * bs))) m = MathF.Max(m, MathF.Abs((float)h));
            _blockMax[b] = m;
        }
    }

    private double BlockedA(int r)
    {
        double a = 0;
        var l1 = _w.HBlockL1.AsSpan(r * _w.Blocks, _w.Blocks);
        for (int b = 0; b < l1.Length; b++) a += (double)l1[b] * _blockMax[b];
        return a;
    }

    /// <summary>The flag test on the unit at <paramref name="off"/> (its kappa already in _kappa); lists its flagged
    /// components (unit-local indices) in _rows and returns their count.</summary>
    private int Flag(in InputStats st, int off) =>
        Flag(in st, _s.AsSpan(off, _mg), _kappa.AsSpan(off, _mg), _bFlag.AsSpan(off, _mg), _rows);

    /// <summary>The flag test over components with results s, kappa and flag bounds; lists the flagged indices in
    /// rows and returns their count.</summary>
    private int Flag(in InputStats st, Span<float> s, ReadOnlySpan<float> kappa, ReadOnlySpan<double> bFlag, Span<int> rows)
    {
        int n = 0, i = 0;
        double maxPred = Report.MaxPredictedRelError;
        if (_vectorFlag && st.Finite) i = FlagTest.FlagsVector(in _flagPlan, s, kappa, bFlag, rows, ref n, ref maxPred, LaneWidth.Best);
        return FlagFrom(in st, s, kappa, bFlag, rows, i, n, maxPred);
    }

    /// <summary>The scalar flag test from component i on (after a vector loop stopped there, having listed n flags and
    /// raised the running maximum to maxPred); returns the count of flagged components.</summary>
    private int FlagFrom(in InputStats st, Span<float> s, ReadOnlySpan<float> kappa, ReadOnlySpan<double> bFlag, Span<int> rows, int i, int n, double maxPred)
    {
        for (; i < s.Length; i++)
        {
            float sh = s[i];
            bool flag;
            if (!st.Finite || !float.IsFinite(sh))
            {
                flag = _adaptive; // uniform modes keep it (and count it): they are the baseline
                Report.NonFinite++;
            }
            else
            {
                flag = FlagTest.Flags(in _flagPlan.Kinks, sh, kappa[i], bFlag[i], _tau, _tauNeg, out double pred);
                if (_authors) flag = FlagTest.FlagsAuthors(sh, kappa[i], _tau); // pred still reports the bound-based estimate
                if (!flag && pred > maxPred) maxPred = pred;
            }
            if (flag) rows[n++] = i;
        }
        Report.MaxPredictedRelError = maxPred;
        return n;
    }

    /// <summary>fp32 recompute of the listed components of one unit from the layer's fp32 input.</summary>
    private void Recompute(ReadOnlySpan<float> x, int u, int g, int p, ReadOnlySpan<int> rows, int off)
    {
        int r0 = g * _mg;
        if (_conv)
        {
            // The fused order of f32-gemm-nn, which every other fp32 conv result uses (LayerStep.ConvPanel.cs).
            _g.Gather<float>(x, _patch32, g, p / _g.OW, p % _g.OW);
            for (int t = 0; t < rows.Length; t++)
                _yRec[t] = F32GemmNnScalar.Dot(_w.W32.AsSpan((r0 + rows[t]) * _k, _k), _patch32, 0, 1);
        }
        else _f32(_w.W32.AsSpan(r0 * _k, _mg * _k), x.Slice(u * _k, _k), rows, _yRec, _k);
        var bias = _w.Bias;
        for (int t = 0; t < rows.Length; t++) _s[off + rows[t]] = _yRec[t] + bias[r0 + rows[t]];
    }

    private void Trace(int sample, int u, int g, int p, ReadOnlySpan<int> flaggedRows, int off)
    {
        int r0 = g * _mg;
        int baseIdx = sample * _outSample;
        for (int i = 0; i < _mg; i++)
        {
            int o = baseIdx + (_conv ? (r0 + i) * _g.Positions + p : u * _m + i);
            _traceS![o] = _s[off + i];
            _traceBound![o] = ErrorModel.RoundUp(_bRig[off + i]);
            _traceFlag![o] = false;
        }
        foreach (int i in flaggedRows)
        {
            _traceFlag![baseIdx + (_conv ? (r0 + i) * _g.Positions + p : u * _m + i)] = true;
        }
    }
}
