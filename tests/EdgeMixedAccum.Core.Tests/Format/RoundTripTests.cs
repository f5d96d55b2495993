using System.Runtime.InteropServices;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Tests.Format;

public class RoundTripTests
{
    public const int Seeds = 250;

    private static void ForSeeds(int count, Action<int> body)
    {
        for (int seed = 0; seed < count; seed++)
        {
            try { body(seed); }
            catch (Exception e) { throw new Xunit.Sdk.XunitException($"seed {seed}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}"); }
        }
    }

    [Fact]
    public void RandomModels_RoundTrip_BitForBit_AndFieldByField()
    {
        ForSeeds(Seeds, seed =>
        {
            var model = RandomModels.Generate(seed);
            var bytes = EmaWriter.ToBytes(model);
            var read = EmaReader.Read(bytes, $"seed{seed}.ema");
            ModelAssert.Equivalent(model, read);
            Assert.Equal(bytes, EmaWriter.ToBytes(read));
        });
    }

    [Fact]
    public void RandomModels_WithoutDataCrc_ReadTheSame()
    {
        ForSeeds(40, seed =>
        {
            var model = RandomModels.Generate(seed);
            var read = EmaReader.Read(EmaWriter.ToBytes(model), options: new EmaReadOptions { VerifyDataCrc = false });
            ModelAssert.Equivalent(model, read);
        });
    }

    /// <summary>The test-side encoder follows ema-format.md independently of EmaWriter; both must agree on
    /// every byte, which checks the writer's layout (alignment, order, CRCs, attribute encoding) against the spec.</summary>
    [Fact]
    public void Writer_Matches_IndependentSpecEncoder()
    {
        ForSeeds(Seeds, seed =>
        {
            var model = RandomModels.Generate(seed);
            Assert.Equal(RawFile.From(model).Encode().Bytes, EmaWriter.ToBytes(model));
        });
    }

    [Fact]
    public void Writer_IsDeterministic()
    {
        ForSeeds(60, seed =>
        {
            var model = RandomModels.Generate(seed);
            var a = EmaWriter.ToBytes(model);
            Assert.Equal(a, EmaWriter.ToBytes(model));
            // A separately built but identical model gives the same bytes too.
            Assert.Equal(a, EmaWriter.ToBytes(RandomModels.Generate(seed)));
        });
        Assert.NotEqual(EmaWriter.ToBytes(RandomModels.Generate(1)), EmaWriter.ToBytes(RandomModels.Generate(2)));
    }

    [Fact]
    public void Reader_TensorsAreViewsIntoTheBuffer()
    {
        var model = RandomModels.Generate(7);
        var bytes = EmaWriter.ToBytes(model);
        var read = EmaReader.Read(bytes);
        Assert.NotEmpty(read.Graph.Tensors);
        foreach (var t in read.Graph.Tensors)
        {
            if (t.Data.Length == 0) continue;
            Assert.True(MemoryMarshal.TryGetArray(t.Data, out var seg));
            Assert.Same(bytes, seg.Array);
            Assert.Equal(0, seg.Offset % EmaWriter.Alignment);
        }
    }

    [Theory]
    [InlineData(11)] // no tensors: DATA is empty and may share its offset with the next section
    [InlineData(12)]
    [InlineData(13)]
    public void SectionsInAnyPhysicalOrder_ReadTheSame(int seed)
    {
        var model = RandomModels.Generate(seed);
        foreach (var order in new[] { new[] { 3, 2, 1, 0 }, [1, 3, 0, 2], [2, 0, 3, 1], [3, 0, 1, 2] })
        {
            var raw = RawFile.From(model);
            raw.Placement = order;
            var bytes = raw.Encode().Bytes;
            Assert.NotEqual(EmaWriter.ToBytes(model), bytes);
            ModelAssert.Equivalent(model, EmaReader.Read(bytes));
        }
    }

    [Fact]
    public void DataBlobsInAnyOrder_ReadTheSame()
    {
        var models = Enumerable.Range(0, 30).Select(s => RandomModels.Generate(s)).Append(EmptyTensorsModel()).ToList();
        var rng = new Random(3);
        foreach (var model in models)
        {
            foreach (var order in new Func<int, int[]>[]
            {
                n => Enumerable.Range(0, n).Reverse().ToArray(),
                n => Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray(),
            })
            {
                var raw = RawFile.From(model);
                raw.RelayoutData(order);
                ModelAssert.Equivalent(model, EmaReader.Read(raw.Encode().Bytes));
            }
        }
    }

    /// <summary>Zero-element tensors (whose empty blobs share an offset with the next blob) among more than
    /// 16 blobs, where List.Sort is no longer an insertion sort.</summary>
    private static EmaModel EmptyTensorsModel()
    {
        var rng = new Random(5);
        var b = new GraphBuilder();
        int y = b.Input("x", 2, 3);
        for (int i = 0; i < 12; i++)
        {
            int empty = b.Constant(TensorData.FromFloat32($"empty{i}", [2, 0], []));
            y = b.Concat(1, [y, empty]);
            y = b.Add(y, b.Constant(RandomModels.RandomTensor(rng, $"c{i}", (TensorDType)(1 + i % 3), [2, 3])));
        }
        b.Output(y);
        return new EmaModel(new ModelMetadata(), b.Graph);
    }

    [Fact]
    public void UnknownOptionalSection_IsSkipped_AndMinorVersionIsAccepted()
    {
        var model = RandomModels.Generate(12);
        var raw = RawFile.From(model);
        raw.Minor = 7;
        raw.Extra.Add((99, 1, [1, 2, 3, 4, 5]));
        raw.Extra.Add((1000, 1, []));
        ModelAssert.Equivalent(model, EmaReader.Read(raw.Encode().Bytes));
    }

    [Fact]
    public void OmittedAttributes_TakeTheSpecDefaults()
    {
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 2, 9, 9);
        var rng = new Random(1);
        int c = b.Conv(x, RandomModels.RandomTensor(rng, "w", TensorDType.Float32, [4, 2, 3, 3]), name: "conv");
        int p = b.MaxPool(c, [2, 2], strides: [1, 1], name: "pool");
        int a = b.AveragePool(p, [2, 2], strides: [1, 1], name: "avg");
        int f = b.Flatten(a, name: "flat");
        int s = b.Softmax(f, axis: -1, name: "sm");
        int cat = b.Concat(1, [s], name: "cat");
        b.Output(b.Act(cat, Activation.Identity, name: "id"));
        var model = new EmaModel(new ModelMetadata(), b.Graph);
        var raw = RawFile.From(model);
        foreach (var n in raw.Nodes)
            n.Attrs.RemoveAll(at => at.Name != "kernel"); // kernel is the only required attribute here
        var read = EmaReader.Read(raw.Encode().Bytes);
        ModelAssert.Equivalent(model, read);
    }

    [Fact]
    public void AttributesInAnyOrder_ReadTheSame()
    {
        var model = RandomModels.Generate(3);
        var raw = RawFile.From(model);
        foreach (var n in raw.Nodes) n.Attrs.Reverse();
        ModelAssert.Equivalent(model, EmaReader.Read(raw.Encode().Bytes));
    }

    [Fact]
    public void ModelWithoutTensors_AndEmptyTensors_RoundTrip()
    {
        var b = new GraphBuilder();
        int x = b.Input("x", 2, 3);
        b.Output(b.Softmax(b.Act(x, Activation.LeakyRelu(0.1f)), 0));
        var noTensors = new EmaModel(new ModelMetadata { ModelName = "∅" }, b.Graph);
        var bytes = EmaWriter.ToBytes(noTensors);
        var read = EmaReader.Read(bytes);
        ModelAssert.Equivalent(noTensors, read);
        Assert.Equal(bytes, EmaWriter.ToBytes(read));

        var empties = EmptyTensorsModel();
        bytes = EmaWriter.ToBytes(empties);
        read = EmaReader.Read(bytes);
        ModelAssert.Equivalent(empties, read);
        Assert.Equal(bytes, EmaWriter.ToBytes(read));
    }

    [Fact]
    public void Generator_CoversEveryOpAndOption()
    {
        var ops = new HashSet<OpKind>();
        var acts = new HashSet<ActivationKind>();
        var standaloneActs = new HashSet<ActivationKind>();
        var precisions = new HashSet<Precision>();
        var estimators = new HashSet<EstimatorKind>();
        var dtypes = new HashSet<TensorDType>();
        var seen = new HashSet<string>();
        for (int seed = 0; seed < Seeds; seed++)
        {
            var m = RandomModels.Generate(seed);
            var g = m.Graph;
            dtypes.UnionWith(g.Tensors.Select(t => t.DType));
            if (g.Inputs.Any(i => g.Values[i].Shape[0] == Shapes.Batch)) seen.Add("batch input");
            if (g.Values.Any(v => v.Name.Any(ch => ch > 127))) seen.Add("non-ASCII name");
            seen.Add(m.Metadata.Normalization is null ? "no norm" : "norm");
            seen.Add(m.Metadata.Labels.Count == 0 ? "no labels" : "labels");
            if (g.Outputs.Count > 1) seen.Add("several outputs");
            foreach (var n in g.Nodes)
            {
                ops.Add(n.Op);
                switch (n)
                {
                    case LayerNode l:
                        acts.Add(l.Activation.Kind);
                        precisions.Add(l.Plan.Precision);
                        estimators.Add(l.Plan.Estimator);
                        if (l.Plan.Tau == float.PositiveInfinity) seen.Add("tau inf");
                        if (l.Plan.Tau == 0) seen.Add("tau 0");
                        if (l.Plan.InputScale > 0) seen.Add("input scale");
                        if (l.Bias >= 0) seen.Add("bias");
                        if (n is DenseNode) seen.Add($"dense rank {g.Values[l.X].Shape.Length}");
                        if (n is ConvNode c)
                        {
                            int ch = g.Values[l.X].Shape[1];
                            seen.Add($"conv{c.Strides.Length}d");
                            if (c.Groups == ch && ch > 1) seen.Add("depthwise");
                            if (c.Groups > 1 && c.Groups < ch) seen.Add("grouped");
                            if (c.Strides.Any(s => s > 1)) seen.Add("conv stride");
                            if (c.Dilations.Any(s => s > 1)) seen.Add("conv dilation");
                            if (c.Pads.Any(s => s > 0)) seen.Add("conv pad");
                        }
                        break;
                    case PoolNode p:
                        if (p.CeilMode) seen.Add($"{p.Op} ceil");
                        if (p.CountIncludePad) seen.Add("count_include_pad");
                        if (p.Pads.Any(v => v > 0)) seen.Add($"{p.Op} pad");
                        break;
                    case ActivationNode a: standaloneActs.Add(a.Activation.Kind); break;
                    case ReshapeNode r:
                        if (r.Target.Contains(0)) seen.Add("reshape 0");
                        if (r.Target.Contains(-1)) seen.Add("reshape -1");
                        break;
                    case AddNode:
                        if (!Shapes.SameAs(g.Values[n.Inputs[0]].Shape, g.Values[n.Inputs[1]].Shape)) seen.Add("broadcast add");
                        break;
                    case ConcatNode cat:
                        if (cat.Inputs.Length > 1) seen.Add("concat many");
                        break;
                }
                if (n.Inputs.Any(i => g.Values[i].Shape.Length > 0 && g.Values[i].Shape[0] == Shapes.Batch)) seen.Add($"batch {n.Op}");
            }
        }
        Assert.Equal(Enum.GetValues<OpKind>().ToHashSet(), ops);
        Assert.Equal(Enum.GetValues<ActivationKind>().ToHashSet(), acts);
        Assert.Equal(Enum.GetValues<ActivationKind>().ToHashSet(), standaloneActs);
        Assert.Equal(Enum.GetValues<Precision>().ToHashSet(), precisions);
        Assert.Equal(Enum.GetValues<EstimatorKind>().ToHashSet(), estimators);
        Assert.Equal(Enum.GetValues<TensorDType>().ToHashSet(), dtypes);
        string[] expected =
        [
            "batch input", "non-ASCII name", "norm", "no norm", "labels", "no labels", "several outputs", "tau inf", "tau 0",
            "input scale", "bias", "dense rank 2", "dense rank 3", "conv1d", "conv2d", "depthwise", "grouped", "conv stride",
            "conv dilation", "conv pad", "MaxPool ceil", "AveragePool ceil", "count_include_pad", "MaxPool pad", "AveragePool pad",
            "reshape 0", "reshape -1", "broadcast add", "concat many",
        ];
        Assert.Empty(expected.Except(seen));
        Assert.Empty(Enum.GetValues<OpKind>().Select(o => $"batch {o}").Except(seen));
    }

    [Fact]
    public void ModelAssert_DetectsDifferences()
    {
        // The structural comparison must not be vacuous: every kind of change is reported.
        var model = RandomModels.Generate(21);
        var bytes = EmaWriter.ToBytes(model);
        EmaModel Fresh() => EmaReader.Read(bytes.ToArray());
        var layer = model.Graph.Nodes.OfType<LayerNode>().First();
        int li = model.Graph.Nodes.IndexOf(layer);
        var mutations = new List<Action<EmaModel>>
        {
            m => m.Metadata.ModelName += "x",
            m => m.Metadata.SourceSha256[31] ^= 1,
            m => m.Metadata.Labels.Add("extra"),
            m => ((LayerNode)m.Graph.Nodes[li]).Plan = ((LayerNode)m.Graph.Nodes[li]).Plan with { Tau = 0.5f },
            m => ((LayerNode)m.Graph.Nodes[li]).Plan = ((LayerNode)m.Graph.Nodes[li]).Plan with { InputScale = 3f },
            m => ((LayerNode)m.Graph.Nodes[li]).Activation = ((LayerNode)m.Graph.Nodes[li]).Activation with { Alpha = -0f },
            m => m.Graph.Nodes[0].Name += "x",
            m => m.Graph.Values[0] = m.Graph.Values[0] with { Shape = [.. m.Graph.Values[0].Shape, 1] },
            m => m.Graph.Outputs.Add(m.Graph.Inputs[0]),
            m => m.Graph.Tensors[0] = TensorData.FromFloat32(m.Graph.Tensors[0].Name, [1], [1f]),
        };
        foreach (var mutate in mutations)
        {
            var m = Fresh();
            ModelAssert.Equivalent(model, m);
            mutate(m);
            Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => ModelAssert.Equivalent(model, m));
        }
    }
}
