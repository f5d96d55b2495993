using System.Diagnostics;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>Small hand-made models for the corruption suites, and the assertion every bad file must meet.</summary>
public static class CorruptFiles
{
    /// <summary>
    /// x [N, 4] -> Dense (int8 W [3, 4], fp32 bias, i8 plan, ReLU) -> LeakyReLU -> Dense (fp32 W [2, 3], f32 plan)
    /// -> Softmax; labels and normalisation present. Small enough to corrupt at every byte.
    /// </summary>
    public static EmaModel Small()
    {
        var rng = new Random(42);
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 4);
        int h = b.Dense(x, RandomModels.RandomTensor(rng, "w1", TensorDType.Int8, [3, 4]),
            RandomModels.RandomTensor(rng, "b1", TensorDType.Float32, [3]), Activation.Relu,
            new LayerPlan(Precision.I8, Tau: 0.25f, Estimator: EstimatorKind.Blocked, BlockSize: 2, InputScale: 0.02f), "fc1");
        h = b.Act(h, Activation.LeakyRelu(0.125f), "leaky");
        h = b.Dense(h, RandomModels.RandomTensor(rng, "w2", TensorDType.Float32, [2, 3]), name: "fc2");
        b.Output(b.Softmax(h, name: "prob"));
        var meta = new ModelMetadata
        {
            ModelName = "small", ConverterVersion = "t",
            Normalization = new InputNormalization([0.5f], [0.25f]),
            Labels = ["cat", "dog"],
        };
        return new EmaModel(meta, b.Graph);
    }

    /// <summary>
    /// x [N, 2, 7, 7] -> Conv (fp16 W [4, 2, 3, 3], f16acc, pads 1) -> MaxPool -> AveragePool (ceil) -> GAP ->
    /// Flatten -> Reshape [0, -1] -> Concat with itself -> Add a constant -> Dense (fp32) -> output.
    /// </summary>
    public static EmaModel Conv()
    {
        var rng = new Random(7);
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 2, 7, 7);
        int c = b.Conv(x, RandomModels.RandomTensor(rng, "k", TensorDType.Float16, [4, 2, 3, 3]), pads: [1, 1, 1, 1],
            activation: Activation.Relu6, plan: new LayerPlan(Precision.F16Acc, Tau: 1f), name: "conv");
        int p = b.MaxPool(c, [2, 2], name: "max");
        int a = b.AveragePool(p, [2, 2], strides: [2, 2], countIncludePad: true, ceilMode: true, name: "avg");
        int g = b.GlobalAveragePool(a, "gap");
        int f = b.Flatten(g, name: "flat");
        int r = b.Reshape(f, [0, -1], "reshape");
        int cat = b.Concat(1, [r, r], "cat");
        int add = b.Add(cat, b.Constant(RandomModels.RandomTensor(rng, "shift", TensorDType.Float32, [8])), "add");
        b.Output(b.Dense(add, RandomModels.RandomTensor(rng, "w", TensorDType.Float32, [3, 8]), name: "fc"));
        return new EmaModel(new ModelMetadata { ModelName = "conv" }, b.Graph);
    }

    public const string FileName = "bad.ema";

    /// <summary>
    /// Reads <paramref name="bytes"/> and asserts it fails with exactly <see cref="EmaFormatException"/> (no other
    /// type), quickly and without large allocations, naming <paramref name="section"/> and, when given,
    /// <paramref name="offset"/> both in the properties and in the message; <paramref name="what"/> is a
    /// fragment of the message that shows which check fired.
    /// </summary>
    public static EmaFormatException AssertCorrupt(byte[] bytes, string section, long? offset, string? what = null, EmaReadOptions? options = null)
    {
        long alloc = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        var e = Record.Exception(() => EmaReader.Read(bytes, FileName, options));
        sw.Stop();
        alloc = GC.GetAllocatedBytesForCurrentThread() - alloc;
        Assert.NotNull(e);
        var fe = Assert.IsType<EmaFormatException>(e);
        Assert.True(section == fe.Section && (offset is null || offset == fe.Offset) && (what is null || fe.Message.Contains(what, StringComparison.Ordinal)),
            $"expected section {section} at {offset?.ToString() ?? "any offset"}{(what is null ? "" : $" mentioning '{what}'")}, got: {fe.Message}");
        Assert.Contains($"'{FileName}': section {fe.Section} at byte {fe.Offset}: ", fe.Message);
        Assert.InRange(fe.Offset, 0, Math.Max(0, bytes.Length));
        Assert.True(sw.ElapsedMilliseconds < 500, $"reading took {sw.ElapsedMilliseconds} ms");
        Assert.True(alloc < 4 * bytes.Length + (1 << 18), $"reading allocated {alloc} bytes for a {bytes.Length}-byte file");
        return fe;
    }

    /// <summary>Bytes of the file that no CRC protects: gaps between the table and the sections (zero padding).</summary>
    public static bool[] Unprotected(byte[] f)
    {
        var free = new bool[f.Length];
        int count = RawFile.SectionCount(f);
        for (long i = 64 + 32L * count; i < f.Length; i++) free[i] = true;
        for (int s = 0; s < count; s++)
        {
            var (_, _, off, len) = RawFile.Entry(f, s);
            for (long i = off; i < off + len; i++) free[i] = false;
        }
        return free;
    }

    /// <summary>Encodes <paramref name="raw"/> after <paramref name="patch"/> changed its fields.</summary>
    public static RawFile.Encoded Patched(EmaModel model, Action<RawFile> patch)
    {
        var raw = RawFile.From(model);
        patch(raw);
        return raw.Encode();
    }
}
