using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>The authors' flag test in the runtime: a ReLU component is recomputed exactly when 0 &lt; s_hat &lt; 1/tau.</summary>
public class FlagCriterionTests
{
    // One ReLU Dense layer whose output is the graph's output, so the uniform low run shows every s_hat's sign and size.
    private static EmaModel OneReluLayer(Precision low, TensorDType dtype)
    {
        var r = new Random(5);
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 61);
        x = b.Dense(x, SessionTests.Weights(r, dtype, 97, 61), SessionTests.Bias(r, 97), new Activation(ActivationKind.Relu),
            new LayerPlan(low, 0.01f, EstimatorKind.Fused, 0, 1f), "d1");
        b.Output(x);
        return new EmaModel(new ModelMetadata { ModelName = "relu1" }, b.Graph);
    }

    [Theory]
    [InlineData(Precision.I8, TensorDType.Int8)]
    [InlineData(Precision.F16Acc, TensorDType.Float16)]
    public void AuthorsFlagExactlyThePositiveResultsBelowOneOverTau(Precision low, TensorDType dtype)
    {
        var m = OneReluLayer(low, dtype);
        var x = SessionTests.Inputs(3, 61, 2);
        var yLow = new float[97];
        using (var u = new Session(m, new SessionOptions { Mode = low == Precision.I8 ? RunMode.I8 : RunMode.F16Acc })) u.Run(x, yLow);
        foreach (float tau in new[] { 0f, 0.5f, 2f, float.PositiveInfinity })
        {
            using var s = new Session(m, new SessionOptions { Mode = RunMode.Adaptive, Criterion = FlagCriterion.Authors, Tau = tau });
            var y = new float[97];
            s.Run(x, y);
            // ReLU(s_hat) > 0 exactly where s_hat > 0; tau = 0 flags every positive result, +inf none.
            long expected = yLow.Count(v => v > 0 && v < 1 / tau);
            Assert.Equal(expected, s.LastReport.Layers[0].Flagged);
            for (int i = 0; i < 97; i++)
                if (!(yLow[i] > 0 && yLow[i] < 1 / tau)) Assert.Equal(yLow[i], y[i]); // kept at low precision, bit for bit
        }
        Assert.True(yLow.Count(v => v > 0) > 10 && yLow.Count(v => v == 0) > 10, "the fixture needs both signs");
    }

    [Fact]
    public void TheFullTestAlsoRecomputesUncertainNegativesWhichTheAuthorsNeverDo()
    {
        // Inputs large against the int8 grid: the bound reaches some negative results' distance to zero.
        var m = OneReluLayer(Precision.I8, TensorDType.Int8);
        var x = SessionTests.Inputs(9, 61, 50);
        var yLow = new float[97];
        using (var u = new Session(m, new SessionOptions { Mode = RunMode.I8 })) u.Run(x, yLow);
        using var full = new Session(m, new SessionOptions { Mode = RunMode.Adaptive, Tau = float.PositiveInfinity });
        using var authors = new Session(m, new SessionOptions { Mode = RunMode.Adaptive, Tau = float.PositiveInfinity, Criterion = FlagCriterion.Authors });
        var y = new float[97];
        full.Run(x, y);
        authors.Run(x, y);
        Assert.Equal(0, authors.LastReport.Layers[0].Flagged);
        Assert.True(full.LastReport.Layers[0].Flagged > 0, "the sign guard should flag some negative results with tau = inf");
    }
}
