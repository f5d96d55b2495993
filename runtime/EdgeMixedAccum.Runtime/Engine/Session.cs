using System.Runtime.ExceptionServices;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine.Ops;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// A loaded model ready to run: weights prepared once for the chosen precisions and kernels, every buffer
/// allocated up front, so a steady-state <see cref="Run(ReadOnlySpan{float}, Span{float}, int)"/> allocates
/// nothing. One session serves one caller thread at a time; with <see cref="SessionOptions.Threads"/> &gt; 1 it splits
/// a batch over its own persistent worker threads (docs/engine.md, "Threads"), which <see cref="Dispose"/> stops.
/// </summary>
/// <example><code>
/// using var s = Session.Load("model.ema", new SessionOptions { Mode = RunMode.Adaptive });
/// var y = new float[s.OutputLength];
/// s.Run(x, y);                       // x: s.InputLength floats, raw (the model's normalisation is applied)
/// var flagged = s.LastReport.RecomputeFraction;
/// </code></example>
public sealed class Session : IDisposable
{
    private readonly MappedFile? _mapped;
    private readonly bool _symbolic;
    private readonly long[] _perUnit;            // elements per batch unit of each value (0 for constants)
    private readonly int[] _bufferOf;            // value id -> the value whose buffer it shares (aliases)
    private readonly float[]?[] _constants;
    private float[][] _buffers = [];
    private int _capacity;
    private readonly Step[] _steps;
    private readonly LayerStep[] _layers;
    private readonly int _input, _output;
    private readonly int[] _normShape;
    private readonly InputNormalization? _norm;
    private readonly int[] _outputs;             // graph outputs (an array: no enumerator on the hot path)

    // Threads > 1: T-1 worker lanes (inner single-threaded sessions sharing this one's weights), each with its
    // own persistent thread; chunk 0 of a batch runs on the caller in this session's own state.
    private readonly Lane[] _lanes = [];
    private readonly CountdownEvent? _done;
    private volatile bool _stopping;

    /// <summary>Maps <paramref name="path"/> into memory, validates it and builds a session; the file stays
    /// mapped (int8/fp16 weights are used in place) until <see cref="Dispose"/>.</summary>
    /// <exception cref="EmaException">missing, unreadable, corrupt or unsupported model (names what and where).</exception>
    public static Session Load(string path, SessionOptions? options = null)
    {
        var mapped = new MappedFile(path, EmaReader.MaxFileBytes);
        try { return new Session(EmaReader.Read(mapped.Memory, path), options, mapped); }
        catch { ((IDisposable)mapped).Dispose(); throw; }
    }

    /// <summary>Builds a session on a model already in memory.</summary>
    public Session(EmaModel model, SessionOptions? options = null) : this(model, options, null, null) { }

    private Session(EmaModel model, SessionOptions? options, MappedFile? mapped) : this(model, options, mapped, null) { }

    /// <param name="shared">a worker lane's parent: its prepared <see cref="LayerWeights"/> and fp32 constants
    /// are shared (read-only after construction), not rebuilt; the board fallback was already applied to its options.</param>
    private Session(EmaModel model, SessionOptions? options, MappedFile? mapped, Session? shared)
    {
        _mapped = mapped;
        Model = model;
        Options = options ?? SessionOptions.Default;
        Options.Validate();
        var g = model.Graph;
        // A model converted for a board whose features this CPU lacks: warn and fall back (boards/README.md).
        bool plansF16 = Options.Low is null && g.Nodes.OfType<LayerNode>().Any(l => l.Plan.Precision == Precision.F16Acc);
        if (shared is null)
        {
            var (warning, fallbackLow) = Boards.BoardPolicy.Fallback(model.Metadata.Target, Options.CpuFeatures ?? Boards.CpuInfo.Features, plansF16);
            if (warning is not null) Warnings = [warning];
            if (fallbackLow is { } low && Options.Mode == RunMode.Adaptive) Options = Options with { Low = low };
        }
        if (g.Inputs.Count != 1) throw new EmaException($"the runtime runs models with one input; this one has {g.Inputs.Count}");
        if (g.Outputs.Count < 1) throw new EmaException("the model has no output");
        Kernels = new KernelSet(Options.Kernels);
        _input = g.Inputs[0];
        _output = g.Outputs[0];
        var inShape = g.Values[_input].Shape;
        _symbolic = inShape.Length > 0 && inShape[0] == Shapes.Batch;

        int nv = g.Values.Count;
        _perUnit = new long[nv];
        _bufferOf = new int[nv];
        _constants = new float[]?[nv];
        var produced = new HashSet<int>(g.Nodes.Select(n => n.Output));
        for (int v = 0; v < nv; v++)
        {
            _bufferOf[v] = v;
            var info = g.Values[v];
            if (info.IsConstant) { _constants[v] = shared?._constants[v] ?? g.Tensors[info.Constant].ToFloat32(); continue; }
            bool batched = info.Shape.Length > 0 && info.Shape[0] == Shapes.Batch;
            if (batched != _symbolic && v != _input && produced.Contains(v))
                throw new EmaException($"value '{info.Name}' {Shapes.Format(info.Shape)}: the runtime needs every activation to share the input's batch dimension");
            _perUnit[v] = Shapes.Elements(batched ? info.Shape.AsSpan(1) : info.Shape, $"value '{info.Name}'");
        }

        var steps = new List<Step>();
        var layers = new List<LayerStep>();
        foreach (var node in g.Nodes)
        {
            var ins = node.Inputs;
            switch (node)
            {
                case FlattenNode or ReshapeNode:
                    _bufferOf[node.Output] = _bufferOf[ins[0]];
                    break;
                case LayerNode layer:
                {
                    var wInfo = g.Values[layer.Weight];
                    if (!wInfo.IsConstant) throw new EmaException($"{node}: weights must be constant");
                    var wt = g.Tensors[wInfo.Constant];
                    TensorData? bt = null;
                    if (layer.Bias >= 0)
                    {
                        var bInfo = g.Values[layer.Bias];
                        if (!bInfo.IsConstant) throw new EmaException($"{node}: bias must be constant");
                        bt = g.Tensors[bInfo.Constant];
                    }
                    int m = wt.Shape[0];
                    int k = m == 0 ? 0 : (int)(wt.ElementCount / m);
                    // A worker lane reads its parent's prepared weights (same graph, same layer order, same options).
                    var weights = shared?._layers[layers.Count].Weights ?? new LayerWeights(wt, bt, m, k);
                    var xShape = g.Values[layer.X].Shape;
                    var yShape = g.Values[node.Output].Shape;
                    var step = new LayerStep(layer, weights, wt.Shape, SampleShape(xShape, node is ConvNode), SampleShape(yShape, node is ConvNode), Options, Kernels);
                    int samplesPerUnit = _symbolic || xShape.Length < 2 ? 1 : xShape[0];
                    if ((long)step.InSample * samplesPerUnit != _perUnit[layer.X] || (long)step.OutSample * samplesPerUnit != _perUnit[node.Output])
                        throw new EmaException($"{node}: input {Shapes.Format(xShape)} and output {Shapes.Format(yShape)} do not fit weights {Shapes.Format(wt.Shape)}");
                    layers.Add(step);
                    steps.Add(new LayerRun(step, layer.X, node.Output, samplesPerUnit));
                    break;
                }
                default:
                {
                    var shapes = new int[ins.Length][];
                    for (int i = 0; i < ins.Length; i++) shapes[i] = g.Values[ins[i]].Shape;
                    steps.Add(new OpRun(FloatOp.Create(node, shapes, g.Values[node.Output].Shape), ins, node.Output));
                    break;
                }
            }
        }
        _steps = steps.ToArray();
        _layers = layers.ToArray();
        if (Options.FuseOutputWrite) LinkOutputWrites();
        LastReport = new RunReport(_layers.Select(l => l.Report).ToArray());
        InputShape = inShape;
        OutputShape = g.Values[_output].Shape;
        InputLength = checked((int)_perUnit[_input]);
        OutputLength = checked((int)_perUnit[_output]);
        _norm = model.Metadata.Normalization;
        _normShape = (int[])inShape.Clone();
        _outputs = g.Outputs.ToArray();
        Grow(Options.MaxBatch);

        int threads = Options.Threads;
        if (threads > 1 && _symbolic)
        {
            // Every lane gets buffers for its share of MaxBatch; the threads start last, once nothing can throw.
            var laneOptions = Options with { Threads = 1, MaxBatch = (Options.MaxBatch + threads - 1) / threads };
            _lanes = new Lane[threads - 1];
            try
            {
                WorkerNamePrefix = $"ema-w{Interlocked.Increment(ref s_pools)}-";
                for (int i = 0; i < _lanes.Length; i++) _lanes[i] = new Lane(this, new Session(model, laneOptions, null, this), i + 1);
            }
            catch
            {
                foreach (var lane in _lanes) lane?.Dispose();
                throw;
            }
            // The slim events create their lock object the first time a Wait blocks (24 bytes, whenever that first
            // happens): make it happen here, with a 1 ms wait that times out, so no run ever allocates.
            _done = new CountdownEvent(1);
            _done.Wait(1);
            _done.Signal();
            foreach (var lane in _lanes) lane.Go.Wait(1);
            foreach (var lane in _lanes) lane.Thread.Start();
        }
    }

    /// <summary>Each layer whose very next step is a layer reading its output buffer (aliases included) as a whole
    /// int8 input under a static scale quantises that input in its own output write (docs/engine.md, "The output
    /// write"), instead of the next layer reading the whole buffer again.</summary>
    private void LinkOutputWrites()
    {
        for (int i = 0; i + 1 < _steps.Length; i++)
            if (_steps[i] is LayerRun a && _steps[i + 1] is LayerRun b && _bufferOf[a.Y] == _bufferOf[b.X]
                && a.SamplesPerUnit == b.SamplesPerUnit && a.Step.CanFeed(b.Step))
                a.Step.Feed(b.Step);
    }

    private static int[] SampleShape(int[] shape, bool conv) => shape.Length >= 2 ? shape[1..] : shape;

    /// <summary>The model this session runs.</summary>
    public EmaModel Model { get; }
    public SessionOptions Options { get; }

    /// <summary>What the session noticed at load and worked around (a model built for a board this CPU does not match); print them.</summary>
    public IReadOnlyList<string> Warnings { get; } = [];
    /// <summary>The kernel variants this session chose (family -> variant).</summary>
    public KernelSet Kernels { get; }
    /// <summary>Per-layer accounting of the last run (the same object every run).</summary>
    public RunReport LastReport { get; }
    /// <summary>Declared input shape; dim 0 is the batch (-1 when any batch is accepted).</summary>
    public IReadOnlyList<int> InputShape { get; }
    public IReadOnlyList<int> OutputShape { get; }
    /// <summary>True when the model accepts any batch; else every run is one unit of the declared shape.</summary>
    public bool AnyBatch => _symbolic;
    /// <summary>Floats per sample (per run when the batch is fixed) of the input and of the first output.</summary>
    public int InputLength { get; }
    public int OutputLength { get; }

    /// <summary>Runs one sample (or the one fixed-batch unit).</summary>
    public void Run(ReadOnlySpan<float> input, Span<float> output) => Run(input, output, 1);

    /// <summary>Runs <paramref name="batch"/> samples laid out back to back; writes batch * OutputLength floats.</summary>
    /// <exception cref="ArgumentException">span lengths do not match the batch.</exception>
    /// <exception cref="EmaException">a non-finite input element (when <see cref="SessionOptions.RejectNonFiniteInput"/>). With one
    /// thread it is raised before any buffer changes; with <see cref="SessionOptions.Threads"/> &gt; 1 every chunk checks its own
    /// samples as it starts, so the same exception (the first bad element) follows a partial run: the report and
    /// <see cref="Output"/> are then unspecified until the next successful run.</exception>
    public void Run(ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (batch < 0 || (!_symbolic && batch != 1))
            throw new ArgumentOutOfRangeException(nameof(batch), batch, _symbolic ? "batch must be >= 0" : $"this model's batch is fixed at {Shapes.Format(InputShape.ToArray())}: pass one unit");
        long inLen = (long)batch * InputLength, outLen = (long)batch * OutputLength;
        if (input.Length != inLen)
            throw new ArgumentException($"input holds {input.Length} floats; {batch} sample(s) of {Shapes.Format(InputShape.ToArray())} need {inLen}", nameof(input));
        if (output.Length < outLen)
            throw new ArgumentException($"output holds {output.Length} floats; {batch} sample(s) need {outLen}", nameof(output));
        int chunks = Math.Min(_lanes.Length + 1, batch);
        if (chunks < 2)
        {
            if (Options.RejectNonFiniteInput) CheckFinite(input, 0); // before any buffer changes
            Stage(input, batch);
            Execute(batch, 0, check: false);
        }
        else RunSplit(input, batch, chunks);
        _buffers[_bufferOf[_output]].AsSpan(0, (int)outLen).CopyTo(output);
    }

    /// <summary>Copies one run's raw input into this session's input buffer (growing the buffers first if needed).</summary>
    private void Stage(ReadOnlySpan<float> input, int batch)
    {
        if (batch > _capacity) Grow(batch);
        if (Options.Trace) foreach (var l in _layers) l.EnsureTrace(batch * MaxSamplesPerUnit(l));
        input.CopyTo(_buffers[_bufferOf[_input]]);
    }

    /// <summary>Rejects a non-finite element of <paramref name="x"/>, the samples of the caller's batch from
    /// <paramref name="first"/> on, naming the element by its index in the caller's batch.</summary>
    private void CheckFinite(ReadOnlySpan<float> x, int first)
    {
        I8Quantizer.MaxAbs(x, out bool finite); // one vector pass; the element loop below only names the culprit
        if (finite) return;
        for (int i = 0; i < x.Length; i++)
            if (!float.IsFinite(x[i]))
            {
                long e = (long)first * InputLength + i;
                throw new EmaException($"input element {e} (sample {e / Math.Max(1, InputLength)}) is {x[i]}; inputs must be finite");
            }
    }

    /// <summary>Runs the staged input of <paramref name="batch"/> samples; <paramref name="first"/> is the index of its
    /// first sample in the caller's batch. A lane checks its own chunk's input (<paramref name="check"/>), in parallel.</summary>
    private void Execute(int batch, int first, bool check)
    {
        var x = _buffers[_bufferOf[_input]].AsSpan(0, batch * InputLength);
        if (check && Options.RejectNonFiniteInput) CheckFinite(x, first);
        if (_norm is not null) { _normShape[0] = _symbolic ? batch : _normShape[0]; _norm.Apply(x, _normShape); }
        foreach (var l in _layers) l.Report.Reset();
        LastReport.Batch = batch;
        foreach (var s in _steps) s.Run(this, batch);
    }

    /// <summary>
    /// Threads &gt; 1: contiguous chunks whose sizes differ by at most one; chunk 0 runs here, chunk i on worker lane i
    /// (or here too, after chunk 0, when worker i has not started it by then).
    /// The lanes' outputs are gathered into this session's buffers (so <see cref="Output"/> sees the whole batch) and
    /// their reports added to <see cref="LastReport"/>. Allocates nothing: the lanes, events and buffers are built once.
    /// </summary>
    private void RunSplit(ReadOnlySpan<float> input, int batch, int chunks)
    {
        int inLen = InputLength;
        int per = batch / chunks, rem = batch % chunks;
        int c0 = per + (rem > 0 ? 1 : 0);
        Stage(input[..(c0 * inLen)], batch); // grown for the whole batch: the lanes' outputs are gathered here
        // Arm the countdown before any chunk is posted: a worker still waking from an earlier call's signal may claim
        // a chunk the moment its State reads Posted, and its Signal must find this call's count (signalling the
        // spent countdown threw, and a later Reset would have lost the signal and hung the caller).
        _done!.Reset(chunks - 1);
        int start = c0;
        for (int i = 1; i < chunks; i++)
        {
            int c = per + (i < rem ? 1 : 0);
            var lane = _lanes[i - 1];
            lane.Session.Stage(input.Slice(start * inLen, c * inLen), c); // on this thread: the input is the caller's span
            lane.Batch = c;
            lane.First = start;
            lane.Error = null; // a previous call whose chunk 0 failed may have left one unread
            Volatile.Write(ref lane.State, Lane.Posted);
            start += c;
        }
        for (int i = 1; i < chunks; i++) _lanes[i - 1].Go.Set();
        try { Execute(c0, 0, check: true); }
        finally
        {
            // A chunk whose worker has not woken yet (a busy machine: its thread waits for a core) is run here, by
            // the same lane, so its samples get the same code and the same bits; then wait for the claimed ones.
            // Never leave a lane running into the next call.
            for (int i = 1; i < chunks; i++) _lanes[i - 1].TryRun();
            _done.Wait();
        }

        // A worker's exception surfaces here (the first chunk's first, as one thread would meet it); the lanes stay usable.
        Exception? error = null;
        for (int i = 1; i < chunks; i++)
        {
            var lane = _lanes[i - 1];
            error ??= lane.Error;
            lane.Error = null;
        }
        if (error is not null) ExceptionDispatchInfo.Throw(error);

        for (int i = 1; i < chunks; i++)
        {
            var lane = _lanes[i - 1];
            var ls = lane.Session;
            LastReport.Add(ls.LastReport);
            foreach (int v in _outputs)
            {
                int pu = (int)_perUnit[v];
                ls._buffers[ls._bufferOf[v]].AsSpan(0, lane.Batch * pu).CopyTo(_buffers[_bufferOf[v]].AsSpan(lane.First * pu, lane.Batch * pu));
            }
        }
    }

    /// <summary>The last run's values of output <paramref name="index"/> (valid until the next run).</summary>
    public ReadOnlySpan<float> Output(int index)
    {
        int v = Model.Graph.Outputs[index];
        return _buffers[_bufferOf[v]].AsSpan(0, (int)(LastReport.Batch * _perUnit[v]));
    }

    internal IReadOnlyList<LayerStep> Layers => _layers;

    /// <summary>The last run's fp32 values of graph value <paramref name="id"/> (a layer's input, for audits: Trace
    /// sessions only, which run on one thread; with Threads &gt; 1 an intermediate value holds chunk 0 only).</summary>
    internal ReadOnlySpan<float> Value(int id) =>
        _constants[id] is { } c ? c : _buffers[_bufferOf[id]].AsSpan(0, (int)(LastReport.Batch * _perUnit[id]));

    private int MaxSamplesPerUnit(LayerStep l)
    {
        var xs = Model.Graph.Values[l.Node.X].Shape;
        return _symbolic || xs.Length < 2 ? 1 : xs[0];
    }

    private void Grow(int batch)
    {
        int nv = _perUnit.Length;
        var buffers = new float[nv][];
        for (int v = 0; v < nv; v++)
        {
            if (_constants[v] is { } c) { buffers[v] = c; continue; }
            if (_bufferOf[v] != v) continue;
            long n = _perUnit[v] * batch;
            if (n > Array.MaxLength) throw new EmaException($"batch {batch} needs {n} floats for value '{Model.Graph.Values[v].Name}'");
            buffers[v] = new float[n];
        }
        for (int v = 0; v < nv; v++) buffers[v] ??= buffers[_bufferOf[v]];
        _buffers = buffers;
        _capacity = batch;
    }

    private bool _disposed;

    /// <summary>Stops and joins the worker threads (Threads &gt; 1) and unmaps the model file (when loaded with
    /// <see cref="Load"/>). A second call does nothing.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_lanes.Length > 0)
        {
            _stopping = true;
            foreach (var lane in _lanes) lane.Go.Set();
            foreach (var lane in _lanes) lane.Thread.Join();
            foreach (var lane in _lanes) lane.Dispose();
            _done?.Dispose();
        }
        ((IDisposable?)_mapped)?.Dispose();
    }

    private static int s_pools;

    /// <summary>The name prefix of this session's worker threads ("ema-w7-" for workers "ema-w7-1".., at most 15
    /// characters in all, Linux's thread-name limit), null for a one-thread session: one pool's threads are told
    /// apart from another's (in `top -H`, and by the tests).</summary>
    internal string? WorkerNamePrefix { get; private set; }

    /// <summary>A worker: an inner single-threaded session and the thread that runs its chunk when signalled.</summary>
    private sealed class Lane : IDisposable
    {
        private readonly Session _owner;
        public readonly Session Session;
        public readonly ManualResetEventSlim Go = new(false);
        public readonly Thread Thread;
        public int Batch, First;      // the chunk, set by the caller before Go
        public Exception? Error;      // set by whoever ran the chunk, read and cleared by the caller after _done
        public int State;             // Posted by the caller; Claimed (CAS) by the worker or the caller, whichever comes first
        public const int Posted = 1, Claimed = 2;

        public Lane(Session owner, Session session, int index)
        {
            _owner = owner;
            Session = session;
            Thread = new Thread(Loop) { IsBackground = true, Name = owner.WorkerNamePrefix + index };
        }

        private void Loop()
        {
            while (true)
            {
                Go.Wait();
                Go.Reset(); // a wake-up is a hint: the State read after the reset says whether there is a chunk
                if (_owner._stopping) return;
                TryRun();
            }
        }

        /// <summary>Runs the posted chunk if nobody has claimed it yet (on the worker, or on the caller done with chunk 0).</summary>
        public void TryRun()
        {
            if (Interlocked.CompareExchange(ref State, Claimed, Posted) != Posted) return;
            try { Session.Execute(Batch, First, check: true); }
            catch (Exception e) { Error = e; }
            finally { _owner._done!.Signal(); }
        }

        public void Dispose()
        {
            Go.Dispose();
            Session.Dispose();
        }
    }

    private abstract class Step
    {
        public abstract void Run(Session s, int batch);
    }

    private sealed class LayerRun(LayerStep step, int x, int y, int samplesPerUnit) : Step
    {
        public LayerStep Step => step;
        public int X => x;
        public int Y => y;
        public int SamplesPerUnit => samplesPerUnit;

        public override void Run(Session s, int batch)
        {
            int n = batch * samplesPerUnit;
            step.Run(s._buffers[x].AsSpan(0, n * step.InSample), s._buffers[y].AsSpan(0, n * step.OutSample), n);
        }
    }

    private sealed class OpRun(FloatOp op, int[] inputs, int output) : Step
    {
        private readonly ReadOnlyMemory<float>[] _ins = new ReadOnlyMemory<float>[inputs.Length];

        public override void Run(Session s, int batch)
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                int v = inputs[i];
                _ins[i] = s._constants[v] ?? s._buffers[v].AsMemory(0, (int)(batch * s._perUnit[v]));
            }
            op.Run(_ins, s._buffers[output].AsSpan(0, (int)(batch * s._perUnit[output])), batch);
        }
    }
}
