using EdgeMixedAccum.Converters.Passes;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Onnx;

/// <summary>What the model file says about itself.</summary>
/// <param name="Opset">The default-domain ("" / "ai.onnx") opset version the model imports.</param>
public sealed record OnnxModelInfo(long IrVersion, int Opset, string ProducerName, string ProducerVersion, string GraphName,
    string Domain, long ModelVersion, IReadOnlyDictionary<string, string> MetadataProps);

/// <summary>A graph input or output: its name and shape (dim 0 may be <see cref="Shapes.Batch"/>).</summary>
public sealed record OnnxTensorInfo(string Name, int[] Shape)
{
    public override string ToString() => $"{Name} {Shapes.Format(Shape)}";
}

/// <summary>The imported graph with the model's metadata.</summary>
/// <param name="Graph">Validated; every constant is fp32, every layer has the fp32 plan.</param>
/// <param name="Batch">How dim 0 of the inputs was treated (a fixed batch made symbolic is reported here and in <paramref name="Notes"/>).</param>
/// <param name="Notes">What the passes want the user to know (batch handling, removed nodes).</param>
public sealed record OnnxImportResult(ModelGraph Graph, OnnxModelInfo Model, IReadOnlyList<OnnxTensorInfo> Inputs,
    IReadOnlyList<OnnxTensorInfo> Outputs, BatchMode Batch, IReadOnlyList<string> Notes);

/// <summary>
/// ONNX import: reads a model (our own protobuf subset of the ONNX schema), runs <see cref="Passes"/> over the
/// import IR, and lowers the result to a <see cref="ModelGraph"/>. Every failure is an <see cref="EmaException"/>
/// whose message starts with the model's name.
/// </summary>
public static class OnnxImporter
{
    /// <summary>Ops that appear on runtime tensors and map to the IR (directly or through a pass).</summary>
    private static readonly string[] RuntimeOps =
    [
        "Gemm", "MatMul", "Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Tanh", "Sigmoid", "Gelu", "Erf",
        "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Sub", "Mul", "Div", "Flatten", "Reshape", "Squeeze", "Unsqueeze",
        "Softmax", "Concat", "Identity", "Dropout", "Pad", "Transpose", "LayerNormalization", "Max", "Min",
        // Only inside the decomposed LayerNorm pattern (LayerNormFusionPass); alone they fail at lowering, named.
        "ReduceMean", "Pow",
    ];

    /// <summary>Every default-domain op type the importer accepts, sorted: the runtime ops plus those it can
    /// only constant-fold (Shape, Gather, Cast, Slice, ...). Others fail at once, naming the node.</summary>
    public static IReadOnlyList<string> SupportedOps { get; } =
        RuntimeOps.Concat(ConstantEvaluator.Ops).Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>The passes in the order <see cref="Import(ReadOnlySpan{byte}, string)"/> runs them (a new list
    /// each time: passes hold no state, but callers may reorder or drop some).</summary>
    public static List<IImportPass> Passes =>
    [
        new IdentityRemovalPass(),
        new SymbolicBatchPass(),      // constant folding + shape inference at two batch sizes
        new LayerNormFusionPass(),
        new ClampPass(),
        new PadFoldingPass(),
        new LinearLayerPass(),
        new BatchNormFoldingPass(),
        new PatternFusionPass(),
        new ActivationFusionPass(),
        new DeadNodeRemovalPass(),
    ];

    public static OnnxImportResult Import(string path)
    {
        byte[] bytes;
        try
        {
            long length = new FileInfo(path).Length;
            if (length > Limits.MaxFileBytes) throw new EmaException($"'{path}' is {length} bytes, more than the limit {Limits.MaxFileBytes} (Limits.MaxFileBytes)");
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new EmaException($"cannot read '{path}': {e.Message}", e);
        }
        return Import(bytes, path);
    }

    public static OnnxImportResult Import(ReadOnlySpan<byte> bytes, string nameForErrors)
    {
        var (g, info) = Read(bytes, nameForErrors);
        return Guard(nameForErrors, () =>
        {
            foreach (var p in Passes) p.Run(g);
            return Lower(g, info);
        });
    }

    /// <summary>Parses a model into the import IR without running any pass (for running passes singly).</summary>
    public static (ImportGraph Graph, OnnxModelInfo Model) Read(ReadOnlySpan<byte> bytes, string nameForErrors)
    {
        var proto = OnnxModelReader.Parse(bytes, nameForErrors);
        return Guard(nameForErrors, () => OnnxModelReader.Read(proto, nameForErrors));
    }

    /// <summary>Lowers an import graph the passes have run over to a validated <see cref="ModelGraph"/>.</summary>
    public static OnnxImportResult Lower(ImportGraph g, OnnxModelInfo info)
    {
        var mg = ModelGraphLowering.Lower(g);
        Limits.CheckGraph(mg); // the .ema reader's limits (activation sizes the declared shapes imply), checked here, named by value
        var ins = mg.Inputs.Select(i => new OnnxTensorInfo(mg.Values[i].Name, mg.Values[i].Shape)).ToList();
        var outs = mg.Outputs.Select(o => new OnnxTensorInfo(mg.Values[o].Name, mg.Values[o].Shape)).ToList();
        return new OnnxImportResult(mg, info, ins, outs, g.Batch, g.Notes.ToList());
    }

    /// <summary>Prefixes errors with the model name; anything but an <see cref="EmaException"/> escaping the
    /// importer is a bug, reported as an <see cref="EmaException"/> that says so.</summary>
    private static T Guard<T>(string name, Func<T> f)
    {
        try { return f(); }
        catch (EmaException e) when (!e.Message.StartsWith($"'{name}'", StringComparison.Ordinal))
        {
            throw new EmaException($"'{name}': {e.Message}", e);
        }
        catch (OverflowException e)
        {
            throw new EmaException($"'{name}': a size or index in the model overflows ({e.Message})", e);
        }
        catch (Exception e) when (e is not EmaException and not OutOfMemoryException)
        {
            throw new EmaException($"'{name}': internal error in the ONNX importer ({e.GetType().Name}: {e.Message})", e);
        }
    }
}
