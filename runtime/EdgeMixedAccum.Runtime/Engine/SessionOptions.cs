using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>How a session accumulates its Dense and Conv layers.</summary>
public enum RunMode
{
    /// <summary>Every layer in fp32 (no low pass, nothing flagged): the accuracy reference of the runtime.</summary>
    F32,
    /// <summary>Every layer's low pass in int8 (exact int32 sums over quantised activations), nothing recomputed.</summary>
    I8,
    /// <summary>Every layer's low pass in fp16 accumulation, nothing recomputed.</summary>
    F16Acc,
    /// <summary>Algorithm 1: each layer's low pass in its planned precision (or <see cref="SessionOptions.Low"/>),
    /// flagged components recomputed in fp32; layers planned fp32 run in fp32.</summary>
    Adaptive,
}

/// <summary>Which constant the flag test multiplies (|W||x|)_i by (docs/engine.md).</summary>
public enum FlagBound
{
    /// <summary>sqrt(n) u for f16acc and 2 e_max ||w_i||_2 for int8: the typical size of the error when
    /// rounding errors behave like independent random variables. Sharper, so fewer recomputes.</summary>
    Probabilistic,
    /// <summary>The worst-case bound itself (gamma_n(u), e_max ||w_i||_1): a component kept at low precision is
    /// then guaranteed within kappa_phi * bound / |s| &lt;= tau.</summary>
    Rigorous,
}

/// <summary>The flag test of adaptive mode (docs/engine.md, docs/study-authors.md).</summary>
public enum FlagCriterion
{
    /// <summary>PAPER.md: kappa_phi(s_hat) * bound / |s_hat| &gt; tau, plus the first-order guard (bound &gt; tau_negative * distance to a kink or zero).</summary>
    Full,
    /// <summary>The authors' code: kappa_phi(s_hat) / |s_hat| &gt; tau, with no bound and no guard. Cheaper (needs no |W||x|)
    /// but blind to the accumulation's actual error and to uncertain ReLU signs; tau is in units of the output, not a relative error.</summary>
    Authors,
}

/// <summary>Options of a <see cref="Session"/>, fixed at creation.</summary>
public sealed record SessionOptions
{
    public RunMode Mode { get; init; } = RunMode.Adaptive;
    /// <summary>Adaptive only: the low precision of every layer not planned fp32 (null keeps each layer's plan).</summary>
    public Precision? Low { get; init; }
    /// <summary>Adaptive only: overrides every layer's tau (null keeps the plan's).</summary>
    public float? Tau { get; init; }
    /// <summary>Adaptive only: per-layer tau by layer name, applied after <see cref="Tau"/> (studies, calibration).</summary>
    public IReadOnlyDictionary<string, float>? LayerTau { get; init; }
    /// <summary>Adaptive only: overrides every layer's first-order guard tolerance (null keeps the plan's; +inf disables it).</summary>
    public float? TauNegative { get; init; }
    /// <summary>Overrides every layer's estimator of (|W||x|)_i (null keeps the plan's).</summary>
    public EstimatorKind? Estimator { get; init; }
    /// <summary>Block length when <see cref="Estimator"/> forces <see cref="EstimatorKind.Blocked"/>.</summary>
    public int BlockSize { get; init; } = 64;
    public FlagBound FlagBound { get; init; } = FlagBound.Probabilistic;
    /// <summary>The CPU features to check a model's board target against (null: this CPU's, <see cref="Boards.CpuInfo"/>); for tests.</summary>
    public IReadOnlySet<string>? CpuFeatures { get; init; }
    /// <summary>Adaptive only: the flag test.</summary>
    public FlagCriterion Criterion { get; init; } = FlagCriterion.Full;
    /// <summary>Kernel selection (force the generic path, restrict ISAs).</summary>
    public KernelOptions Kernels { get; init; } = KernelOptions.Default;
    /// <summary>Batch the buffers are sized for at creation; a larger batch grows them once, on first use.</summary>
    public int MaxBatch { get; init; } = 1;
    /// <summary>Reject NaN/Inf input elements with an <see cref="EmaException"/> (else they flow through and
    /// every component they touch is flagged).</summary>
    public bool RejectNonFiniteInput { get; init; } = true;
    /// <summary>Keep each layer's low-pass results and rigorous bounds of the last run for <see cref="BoundAudit"/>
    /// (costs memory and time; for `ema eval` and tests).</summary>
    public bool Trace { get; init; }
    /// <summary>Threads a batched run uses, 1 to <see cref="MaxThreads"/> (default 1). With T &gt; 1 the session creates
    /// T-1 persistent background worker threads ("ema-w7-1", ...: one numbered prefix per session) at construction, each with its own execution lane
    /// (an inner single-threaded session with buffers for ceil(MaxBatch / T) samples, sharing the prepared weights);
    /// a run of B &gt;= 2 samples is split into min(T, B) contiguous chunks whose sizes differ by at most one, chunk 0 on
    /// the calling thread (which, done with it, also runs any chunk whose worker has not started yet). Outputs are bit-identical to T = 1 (every sample is computed on its own by the same code) and
    /// <see cref="Session.LastReport"/> is the sum over the chunks; a run of one sample uses the calling thread only.
    /// A run allocates nothing; <see cref="Session.Dispose"/> stops the workers (dispose such a session). Not with
    /// <see cref="Trace"/>, and ignored for a model whose batch is fixed.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>A layer quantises the next layer's int8 input in its own output write where it can (docs/engine.md,
    /// "The output write"); false quantises it in the next layer, as a separate pass. Same outputs either way (tests
    /// compare the two).</summary>
    internal bool FuseOutputWrite { get; init; } = true;

    /// <summary>Upper limit of <see cref="Threads"/>.</summary>
    public const int MaxThreads = 64;

    public static readonly SessionOptions Default = new();

    internal void Validate()
    {
        if (Tau is { } t && (float.IsNaN(t) || t < 0)) throw new EmaException($"tau must be >= 0 (or +inf), got {t}");
        if (TauNegative is { } tn && (float.IsNaN(tn) || tn < 0)) throw new EmaException($"tau_negative must be >= 0 (or +inf), got {tn}");
        if (Low is { } low && low == Precision.F32) throw new EmaException("the low precision must be i8 or f16acc");
        if (BlockSize <= 0) throw new EmaException($"block size must be positive, got {BlockSize}");
        if (MaxBatch < 1) throw new EmaException($"max batch must be at least 1, got {MaxBatch}");
        if (Threads < 1 || Threads > MaxThreads) throw new EmaException($"threads must be 1 to {MaxThreads}, got {Threads}");
        if (Trace && Threads > 1) throw new EmaException($"the trace (bound audit) needs a one-thread session: Trace with Threads = {Threads} is not supported");
    }
}
