using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Tests.Format;

namespace EdgeMixedAccum.Tests.Graph;

/// <summary><see cref="ModelGraph.Validate"/>: each broken invariant fails naming the node or value.</summary>
public class ValidateTests
{
    /// <summary>x [N, 4] -> fc1 (fp32 W [3, 4], bias) -> act -> fc2 (fp32 W [2, 3]) -> out.</summary>
    private static ModelGraph Graph()
    {
        var rng = new Random(3);
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 4);
        int h = b.Dense(x, RandomModels.RandomTensor(rng, "w1", TensorDType.Float32, [3, 4]),
            RandomModels.RandomTensor(rng, "b1", TensorDType.Float32, [3]), name: "fc1");
        h = b.Act(h, Activation.Relu, "act");
        b.Output(b.Dense(h, RandomModels.RandomTensor(rng, "w2", TensorDType.Float32, [2, 3]), name: "fc2"));
        return b.Graph;
    }

    private static int Node(ModelGraph g, string name) => g.Nodes.FindIndex(n => n.Name == name);
    private static int Value(ModelGraph g, string name) => g.Values.FindIndex(v => v.Name == name);

    /// <summary>Validate fails at node <paramref name="node"/> (a <see cref="GraphValidationException"/> naming it).</summary>
    private static void FailsAtNode(ModelGraph g, string node, string fragment)
    {
        var e = Assert.Throws<GraphValidationException>(g.Validate);
        Assert.Equal(Node(g, node), e.NodeIndex);
        Assert.Contains($"node '{node}'", e.Message);
        Assert.Contains(fragment, e.Message);
    }

    /// <summary>Validate fails on a graph-level problem (exactly <see cref="EmaException"/>).</summary>
    private static void FailsOnGraph(ModelGraph g, string fragment)
    {
        var e = Assert.Throws<EmaException>(g.Validate);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void ValidGraphs_Validate()
    {
        Graph().Validate();
        for (int seed = 0; seed < 50; seed++) RandomModels.Generate(seed).Graph.Validate();
    }

    [Fact]
    public void UseBeforeDefine()
    {
        var g = Graph();
        (g.Nodes[1], g.Nodes[2]) = (g.Nodes[2], g.Nodes[1]); // fc2 now reads act's output before act runs
        FailsAtNode(g, "fc2", "reads value 'act:out' before it is produced");
    }

    [Fact]
    public void ReadsAValueNothingProduces()
    {
        var g = Graph();
        int orphan = g.AddValue("orphan", [Shapes.Batch, 3]);
        g.Nodes[Node(g, "act")].Inputs = [orphan];
        FailsAtNode(g, "act", "reads value 'orphan' before it is produced");
    }

    [Fact]
    public void DuplicateValueNames()
    {
        var g = Graph();
        int v = Value(g, "act:out");
        g.Values[v] = g.Values[v] with { Name = "x" };
        FailsOnGraph(g, "name 'x' is used twice");
    }

    [Fact]
    public void DoubleProducer()
    {
        var g = Graph();
        g.Nodes[Node(g, "fc2")].Output = Value(g, "act:out");
        FailsAtNode(g, "fc2", "output 'act:out' is already produced elsewhere");
    }

    [Fact]
    public void ProducingAnInputOrAConstant()
    {
        var g = Graph();
        g.Nodes[Node(g, "act")].Output = Value(g, "x");
        FailsAtNode(g, "act", "already produced");
        g = Graph();
        g.Nodes[Node(g, "act")].Output = Value(g, "w2");
        FailsAtNode(g, "act", "already produced");
    }

    [Fact]
    public void NonConstantWeight()
    {
        var g = Graph();
        // fc2 takes act:out [N, 3] as its weight: not a constant.
        g.Nodes[Node(g, "fc2")].Inputs = [Value(g, "act:out"), Value(g, "act:out")];
        FailsAtNode(g, "fc2", "weight must be a constant");
    }

    [Fact]
    public void NonConstantOrNonFp32Bias()
    {
        var g = Graph();
        var fc1 = (LayerNode)g.Nodes[Node(g, "fc1")];
        fc1.Inputs = [fc1.X, fc1.Weight, Value(g, "x")];
        FailsAtNode(g, "fc1", "bias must be a constant");

        g = Graph();
        fc1 = (LayerNode)g.Nodes[Node(g, "fc1")];
        int b16 = g.AddConstant(TensorData.FromFloat16("b16", [3], new Half[3]));
        fc1.Inputs = [fc1.X, fc1.Weight, b16];
        FailsAtNode(g, "fc1", "bias must be stored as fp32");
    }

    [Theory]
    [InlineData(Precision.I8, TensorDType.Float32, "i8 precision needs int8 weights, found Float32")]
    [InlineData(Precision.I8, TensorDType.Float16, "i8 precision needs int8 weights, found Float16")]
    [InlineData(Precision.F16Acc, TensorDType.Float32, "f16acc precision needs fp16 weights, found Float32")]
    [InlineData(Precision.F16Acc, TensorDType.Int8, "f16acc precision needs fp16 weights, found Int8")]
    public void PrecisionNeedsMatchingWeights(Precision precision, TensorDType weight, string fragment)
    {
        var g = Graph();
        var fc2 = (LayerNode)g.Nodes[Node(g, "fc2")];
        int w = g.AddConstant(RandomModels.RandomTensor(new Random(1), "w2x", weight, [2, 3]));
        fc2.Inputs = [fc2.X, w];
        fc2.Plan = new LayerPlan(precision);
        FailsAtNode(g, "fc2", fragment);
    }

    [Theory]
    [InlineData(TensorDType.Float32)]
    [InlineData(TensorDType.Float16)]
    [InlineData(TensorDType.Int8)]
    public void F32Precision_TakesAnyWeightType(TensorDType weight)
    {
        var g = Graph();
        var fc2 = (LayerNode)g.Nodes[Node(g, "fc2")];
        fc2.Inputs = [fc2.X, g.AddConstant(RandomModels.RandomTensor(new Random(1), "w2x", weight, [2, 3]))];
        g.Validate();
    }

    public static TheoryData<LayerPlan, string> BadPlans() => new()
    {
        { new LayerPlan(Tau: float.NaN), "tau must be >= 0" },
        { new LayerPlan(Tau: -1f), "tau must be >= 0" },
        { new LayerPlan(Tau: float.NegativeInfinity), "tau must be >= 0" },
        { new LayerPlan(TauNegative: float.NaN), "tau_negative" },
        { new LayerPlan(Estimator: EstimatorKind.Blocked, BlockSize: 0), "block size 0" },
        { new LayerPlan(Estimator: EstimatorKind.RowNorm, BlockSize: 8), "block size 8" },
        { new LayerPlan(InputScale: -0.5f), "input scale" },
        { new LayerPlan(InputScale: float.PositiveInfinity), "input scale" },
        { new LayerPlan((Precision)3), "unknown precision code 3" },
        { new LayerPlan(Estimator: (EstimatorKind)9), "unknown estimator code 9" },
    };

    [Theory]
    [MemberData(nameof(BadPlans))]
    public void InvalidPlan(LayerPlan plan, string fragment)
    {
        var g = Graph();
        ((LayerNode)g.Nodes[Node(g, "fc1")]).Plan = plan;
        FailsAtNode(g, "fc1", fragment);
    }

    public static TheoryData<Activation, string> BadActivations() => new()
    {
        { Activation.Clip(2f, 1f), "not ordered" },
        { Activation.Clip(float.NaN, 1f), "not ordered" },
        { Activation.Clip(0f, float.NaN), "not ordered" },
        { Activation.LeakyRelu(float.NaN), "alpha" },
        { Activation.LeakyRelu(float.PositiveInfinity), "alpha" },
        { new Activation((ActivationKind)9), "unknown activation code 9" },
        { new Activation(ActivationKind.Relu, Min: float.NaN), "NaN" },
    };

    [Theory]
    [MemberData(nameof(BadActivations))]
    public void InvalidActivation_InALayerOrStandAlone(Activation act, string fragment)
    {
        var g = Graph();
        ((LayerNode)g.Nodes[Node(g, "fc1")]).Activation = act;
        FailsAtNode(g, "fc1", fragment);
        g = Graph();
        ((ActivationNode)g.Nodes[Node(g, "act")]).Activation = act;
        FailsAtNode(g, "act", fragment);
    }

    [Fact]
    public void DeclaredShapeDiffersFromInference()
    {
        var g = Graph();
        int v = Value(g, "act:out");
        g.Values[v] = g.Values[v] with { Shape = [Shapes.Batch, 4] };
        // act itself now disagrees ([N, 3] inferred) -- the first node whose output is wrong is named.
        FailsAtNode(g, "act", "declared [N, 4] but infers to [N, 3]");
        g = Graph();
        v = Value(g, "fc2:out");
        g.Values[v] = g.Values[v] with { Shape = [2, 2] };
        FailsAtNode(g, "fc2", "declared [2, 2] but infers to [N, 2]");
    }

    [Fact]
    public void ShapeInferenceFailure_IsReportedAtItsNode()
    {
        var g = Graph();
        var fc2 = (LayerNode)g.Nodes[Node(g, "fc2")];
        fc2.Inputs = [fc2.X, Value(g, "w1")]; // W [3, 4] against x [N, 3]
        FailsAtNode(g, "fc2", "does not end in K = 4");
    }

    [Fact]
    public void ArityAndIdsOutOfRange()
    {
        var g = Graph();
        g.Nodes[Node(g, "act")].Inputs = [];
        FailsAtNode(g, "act", "has 0 inputs, expects 1..1");
        g = Graph();
        g.Nodes[Node(g, "fc1")].Inputs = [0];
        FailsAtNode(g, "fc1", "has 1 inputs, expects 2..3");
        g = Graph();
        g.Nodes[Node(g, "act")].Inputs = [g.Values.Count];
        FailsAtNode(g, "act", $"value id {g.Values.Count} is out of range");
        g = Graph();
        g.Nodes[Node(g, "act")].Inputs = [-1];
        FailsAtNode(g, "act", "value id -1 is out of range");
        g = Graph();
        g.Nodes[Node(g, "act")].Output = 1000;
        FailsAtNode(g, "act", "value id 1000 is out of range");
    }

    [Fact]
    public void GraphLevelErrors()
    {
        var g = Graph();
        g.Inputs.Clear();
        FailsOnGraph(g, "no inputs");
        g = Graph();
        g.Outputs.Clear();
        FailsOnGraph(g, "no outputs");
        g = Graph();
        g.Inputs.Add(Value(g, "w1"));
        FailsOnGraph(g, "graph input 'w1' is a constant or listed twice");
        g = Graph();
        g.Inputs.Add(g.Inputs[0]);
        FailsOnGraph(g, "listed twice");
        g = Graph();
        g.Inputs.Add(99);
        FailsOnGraph(g, "graph input: value id 99 is out of range");
        g = Graph();
        g.Outputs.Add(g.AddValue("never", [1]));
        FailsOnGraph(g, "graph output 'never' is never produced");
        g = Graph();
        g.Outputs.Add(-3);
        FailsOnGraph(g, "graph output: value id -3 is out of range");
    }

    [Fact]
    public void ValueShapesAndConstants()
    {
        var g = Graph();
        int v = Value(g, "w1");
        g.Values[v] = g.Values[v] with { Shape = [4, 3] };
        FailsOnGraph(g, "value 'w1': shape [4, 3] differs from its tensor's [3, 4]");
        g = Graph();
        g.Values[v] = g.Values[v] with { Constant = 99 };
        FailsOnGraph(g, "constant tensor 99 does not exist");
        g = Graph();
        g.AddValue("neg", [2, -1]);
        FailsOnGraph(g, "value 'neg': dimension 1 of [2, N] is negative");
        g = Graph();
        g.AddValue("deep", new int[9]);
        FailsOnGraph(g, "rank 9 exceeds the maximum of 8");
        g = Graph();
        g.AddValue("huge", [1 << 30, 1 << 30]);
        FailsOnGraph(g, "has more than 2147483648 elements");
        g = Graph();
        g.AddValue("batchHuge", [Shapes.Batch, 1 << 16, 1 << 15]); // 2^31 per batch item: allowed
        g.Validate();
        g.AddValue("batchHuger", [Shapes.Batch, 1 << 16, 1 << 16]);
        FailsOnGraph(g, "more than");
    }

    [Fact]
    public void Limits()
    {
        var g = Graph();
        for (int i = g.Values.Count; i <= ModelGraph.MaxValues; i++) g.Values.Add(new ValueInfo($"v{i}", [1]));
        FailsOnGraph(g, $"more than the limit {ModelGraph.MaxValues}");
    }
}
