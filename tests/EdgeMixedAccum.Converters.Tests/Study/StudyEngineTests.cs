using EdgeMixedAccum.Converters.Quantization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Study;

namespace EdgeMixedAccum.Converters.Tests.Study;

/// <summary>The study engine on the bundled tanh MLP: the methods relate as the algorithm says they must.</summary>
public class StudyEngineTests
{
    private static StudyEngine Engine(int samples, StudyOptions o)
    {
        var m = EmaReader.Read(Path.Combine(EdgeMixedAccum.Tests.TestPaths.Fixtures, "fmnist-mlp-tanh.ema"));
        var x = NpyFile.Read(Path.Combine(EdgeMixedAccum.Tests.TestPaths.Fixtures, "fmnist-x.npy"));
        var y = NpyFile.Read(Path.Combine(EdgeMixedAccum.Tests.TestPaths.Fixtures, "fmnist-y.npy")).ToInt64();
        int per = x.ToFloat32().Length / x.Shape[0];
        return new StudyEngine(m, x.ToFloat32()[..(samples * per)], samples, y[..samples], o);
    }

    [Theory]
    [InlineData("fp16")]
    [InlineData("bf16")]
    [InlineData("i8")]
    public void MixedBeatsRandomAtTheSameBudgetAndTheOracleBoundsBoth(string format)
    {
        var e = Engine(60, new StudyOptions { Formats = [format] });
        var low = e.Evaluate(format, StudyMethod.UniformLow, double.NaN);
        var high = e.Evaluate(format, StudyMethod.UniformHigh, double.NaN);
        Assert.Equal(1.0, high.Agreement);
        Assert.Equal(1.0, high.RecomputeFraction);
        Assert.Equal(0.0, low.RecomputeFraction);
        Assert.True(high.MeanRelError < 1e-5, $"fp32 error {high.MeanRelError}");
        foreach (double tau in new[] { 0.1, 0.01 })
        {
            var mixed = e.Evaluate(format, StudyMethod.Mixed, tau);
            var random = e.Evaluate(format, StudyMethod.Random, tau);
            var oracle = e.Evaluate(format, StudyMethod.Oracle, tau);
            // Random and oracle take as many components per layer and sample as mixed flagged. The MAC shares
            // agree exactly in the first layer; later layers see other inputs, so their counts may differ a little.
            Assert.Equal(mixed.LayerFractions[0], random.LayerFractions[0], 12);
            Assert.Equal(mixed.LayerFractions[0], oracle.LayerFractions[0], 12);
            Assert.True(mixed.MeanRelError < low.MeanRelError, $"{format} tau {tau}: mixed {mixed.MeanRelError} vs uniform low {low.MeanRelError}");
            Assert.True(mixed.MeanRelError < random.MeanRelError, $"{format} tau {tau}: mixed {mixed.MeanRelError} vs random {random.MeanRelError}");
            Assert.True(oracle.MeanRelError <= mixed.MeanRelError * 1.05, $"{format} tau {tau}: oracle {oracle.MeanRelError} vs mixed {mixed.MeanRelError}");
            Assert.InRange(mixed.Cost, 0, 2);
        }
    }

    [Fact]
    public void Fp8AccumulationOverLongRowsIsNeverTrustedByTheFirstOrderTest()
    {
        // With u = 2^-4 and rows of 784, sqrt(n) u (|W||x|)_i >= |s_i| for every component: the relative bound
        // reaches 1, where kappa_phi(s_hat) says nothing about kappa_phi(s), so the guard flags everything and
        // mixed is uniform fp32 with an extra low pass (docs/study.md). Random then takes the same components.
        var e = Engine(20, new StudyOptions { Formats = ["fp8-e4m3"] });
        var mixed = e.Evaluate("fp8-e4m3", StudyMethod.Mixed, 1);
        Assert.Equal(1.0, mixed.RecomputeFraction, 12);
        Assert.Equal(1.0, mixed.Agreement);
        var low = e.Evaluate("fp8-e4m3", StudyMethod.UniformLow, double.NaN);
        Assert.True(low.MeanRelError > 0.1, $"uniform fp8 error {low.MeanRelError}");
    }

    [Fact]
    public void RunGivesEverySeriesItsBaselinesAndEveryMethod()
    {
        var e = Engine(10, new StudyOptions { Formats = ["fp16", "i8"], Taus = [0.1, 0.01], Estimators = ["fused", "rownorm"] });
        var rows = e.Run();
        foreach (var series in new[] { "fp16", "fp16+rownorm", "i8", "i8+rownorm" })
        {
            var sr = rows.Where(r => r.Series == series).ToList();
            Assert.Single(sr, r => r.Method == StudyMethod.UniformLow);
            Assert.Single(sr, r => r.Method == StudyMethod.UniformHigh);
            foreach (var m in new[] { StudyMethod.Mixed, StudyMethod.Random, StudyMethod.Oracle })
                Assert.Equal(2, sr.Count(r => r.Method == m));
            Assert.All(sr, r => Assert.Equal(3, r.LayerFractions.Count));
        }
        // The row-norm bound is looser than the fused sum, so it recomputes at least as much.
        var fused = rows.Single(r => r.Series == "fp16" && r.Method == StudyMethod.Mixed && r.Tau == 0.1);
        var rownorm = rows.Single(r => r.Series == "fp16+rownorm" && r.Method == StudyMethod.Mixed && r.Tau == 0.1);
        Assert.True(rownorm.RecomputeFraction >= fused.RecomputeFraction, $"{rownorm.RecomputeFraction} < {fused.RecomputeFraction}");
    }

    private static StudyEngine ReluEngine(int samples, StudyOptions o)
    {
        var (m, _) = Converter.Convert(Path.Combine(EdgeMixedAccum.Tests.TestPaths.Fixtures, "fmnist-mlp-relu.onnx"),
            new ConvertOptions { Weights = WeightFormat.Fp32, Normalize = new InputNormalization([0.286f], [0.353f]) });
        var x = NpyFile.Read(Path.Combine(EdgeMixedAccum.Tests.TestPaths.Fixtures, "fmnist-x.npy"));
        var y = NpyFile.Read(Path.Combine(EdgeMixedAccum.Tests.TestPaths.Fixtures, "fmnist-y.npy")).ToInt64();
        int per = x.ToFloat32().Length / x.Shape[0];
        return new StudyEngine(m, x.ToFloat32()[..(samples * per)], samples, y[..samples], o);
    }

    [Fact]
    public void TheAuthorsCriterionKeepsReluResultsExactlyWhereNegativeOrAtLeastOneOverTau()
    {
        var relu = new Activation(ActivationKind.Relu);
        var identity = new Activation(ActivationKind.Identity);
        const double tau = 0.1; // 1/tau = 10
        foreach (double s in new[] { -50, -3, -1e-9, 1e-9, 0.5, 9.99, 10, 10.01, 400 })
        {
            double k = EdgeMixedAccum.Activations.ActivationMath.Kappa(relu, s);
            // No |W||x| and no unit roundoff: the bound passed in does not matter.
            foreach (double bound in new[] { 0.0, 1e-6, 1e3 })
                Assert.Equal(s > 0 && s < 10, StudyCriterion.Rejects(StudyCriterion.Authors, relu, s, k, bound, tau, 1, 0));
            Assert.Equal(Math.Abs(s) < 10, StudyCriterion.Rejects(StudyCriterion.Authors, identity, s,
                EdgeMixedAccum.Activations.ActivationMath.Kappa(identity, s), 1, tau, 1, 0));
        }
        // A negative ReLU result is never recomputed by full (kappa_phi = 0), but full+sign recomputes it once
        // the bound reaches its distance to zero: its sign is uncertain.
        Assert.False(StudyCriterion.Rejects(StudyCriterion.Full, relu, -0.5, 0, 1.0, 0.1, 1, 0));
        Assert.True(StudyCriterion.Rejects(StudyCriterion.FullSign, relu, -0.5, 0, 1.0, 0.1, 1, 0));
        Assert.False(StudyCriterion.Rejects(StudyCriterion.FullSign, relu, -0.5, 0, 0.4, 0.1, 1, 0));
        // Full on a positive component: kappa_phi * bound / |s| against tau.
        Assert.True(StudyCriterion.Rejects(StudyCriterion.Full, relu, 2, 1, 0.3, 0.1, 1, 0));
        Assert.False(StudyCriterion.Rejects(StudyCriterion.Full, relu, 2, 1, 0.1, 0.1, 1, 0));
        // Normwise: the absolute error after the activation (slope 1 once the interval reaches the positive side) against tau * scale.
        Assert.True(StudyCriterion.Rejects(StudyCriterion.Normwise, relu, -0.5, 0, 1.0, 0.1, 1, 5));
        Assert.False(StudyCriterion.Rejects(StudyCriterion.Normwise, relu, -0.5, 0, 0.4, 0.1, 1, 5));
        Assert.Throws<EmaException>(() => StudyCriterion.Parse("oracle"));
    }

    [Theory]
    [InlineData("fp16", "fp16:fp32")]
    [InlineData("fp8-e4m3:fp16", "fp8-e4m3:fp16")]
    [InlineData("i8:fp16:fp32", "i8:fp16:fp32")]
    public void LaddersParse(string text, string name) => Assert.Equal(name, StudyLadder.Parse(text).Name);

    [Theory]
    [InlineData("fp16:i8")]
    [InlineData("fp32:fp16")]
    [InlineData("fp16:bf16")]
    [InlineData("fp16:fp16")]
    [InlineData("fp32")]
    [InlineData("fp12:fp32")]
    public void BadLaddersAreRefusedWithTheirName(string text)
    {
        var e = Assert.Throws<EmaException>(() => StudyLadder.Parse(text));
        Assert.Contains(text.Split(':')[0] == "fp12" ? "fp12" : text, e.Message);
    }

    [Fact]
    public void TheAuthorsLadderRecomputesInFp16AndSitsBetweenItsEnds()
    {
        // The authors' setup on our ReLU MLP: E4M3 weights, fp32 inputs to every multiply-add, E4M3 accumulation, fp16 recompute.
        var o = new StudyOptions { Formats = [], Ladders = ["fp8-e4m3:fp16"], WeightsFormat = "fp8-e4m3", RoundInputs = false, HeadHigh = false,
            Criteria = [StudyCriterion.Authors, StudyCriterion.Full], Taus = [0.1] };
        var e = ReluEngine(30, o);
        var low = e.Evaluate("fp8-e4m3:fp16", StudyMethod.UniformLow, double.NaN);
        var high = e.Evaluate("fp8-e4m3:fp16", StudyMethod.UniformHigh, double.NaN);
        Assert.Equal(0.25, low.Cost, 12);   // c_fp8 = 1/4
        Assert.Equal(0.5, high.Cost, 12);   // c_fp16 = 1/2
        Assert.Equal(1.0, high.RecomputeFraction, 12);
        Assert.True(high.MeanRelError < low.MeanRelError / 10, $"fp16 {high.MeanRelError} vs fp8 {low.MeanRelError}");
        // fp16 accumulation is not exact: the fp64 reference (with the same rounded weights) is more precise still.
        Assert.True(high.MeanRelError > e.Fp32.MeanRelError * 10, $"fp16 {high.MeanRelError} vs fp32 {e.Fp32.MeanRelError}");
        Assert.True(e.Fp32.MeanRelError < 1e-5, $"fp32 against the rounded weights' fp64 reference: {e.Fp32.MeanRelError}");

        var authors = e.Evaluate("fp8-e4m3:fp16", StudyMethod.Mixed, 0.1, "fused", StudyCriterion.Authors);
        var random = e.Evaluate("fp8-e4m3:fp16", StudyMethod.Random, 0.1, "fused", StudyCriterion.Authors);
        Assert.InRange(authors.ComponentFraction, 0.01, 0.99);
        Assert.True(authors.MeanRelError < low.MeanRelError && authors.MeanRelError < random.MeanRelError,
            $"authors {authors.MeanRelError}, random {random.MeanRelError}, uniform fp8 {low.MeanRelError}");
        // No estimate: the authors' rows pay the fp8 pass and the fp16 recompute only.
        Assert.Equal(0.25 * (1 - 0) + authors.RecomputeFraction * 0.5, authors.Cost, 9);
        var full = e.Evaluate("fp8-e4m3:fp16", StudyMethod.Mixed, 0.1, "fused", StudyCriterion.Full);
        Assert.Equal(0.25 * 2 + full.RecomputeFraction * 0.5, full.Cost, 9);
        Assert.Throws<EmaException>(() => e.Evaluate("i8:fp16:fp32", StudyMethod.Mixed, 0.1, "fused", StudyCriterion.Authors));
    }

    [Fact]
    public void AThreeLevelLadderPutsComponentsOnTheMiddleLevelAndCostsWhatItComputes()
    {
        // fp8 under fp16 under fp32: fp16 accumulation is far more precise than fp8's, so the middle level is used.
        // (Under int8 it hardly is: int8 sums exactly, and fp16's accumulation error over 784 terms is as large as
        // int8's input quantisation; docs/study-authors.md.)
        const string ladder = "fp8-e4m3:fp16:fp32";
        var e = Engine(20, new StudyOptions { Formats = [], Ladders = [ladder], HeadHigh = false });
        var three = e.Evaluate(ladder, StudyMethod.Mixed, 1, "running", StudyCriterion.Full);
        var low = e.Evaluate(ladder, StudyMethod.UniformLow, double.NaN);
        Assert.True(three.MidFraction > 0, "nothing on the fp16 level");
        Assert.True(three.RecomputeFraction > three.MidFraction, "nothing on the fp32 level");
        // The running estimate is one more accumulation: cost = 2 fp8 passes + fp16 share / 2 + fp32 share.
        Assert.Equal(0.25 * 2 + three.MidFraction * 0.5 + (three.RecomputeFraction - three.MidFraction), three.Cost, 9);
        Assert.True(three.MeanRelError < low.MeanRelError, $"{three.MeanRelError} vs uniform fp8 {low.MeanRelError}");
        foreach (var m in new[] { StudyMethod.Random, StudyMethod.Oracle })
        {
            var r = e.Evaluate(ladder, m, 1, "running", StudyCriterion.Full);
            Assert.Equal(three.LayerFractions[0], r.LayerFractions[0], 12); // same budget per level in the first layer
            Assert.True(r.MidFraction > 0);
        }
    }

    [Fact]
    public void ARunGivesTheAuthorsCriterionToTwoLevelLaddersOnly()
    {
        var e = Engine(4, new StudyOptions { Formats = ["fp16"], Ladders = ["fp8-e4m3:fp16:fp32"], Taus = [0.1],
            Criteria = [StudyCriterion.Authors, StudyCriterion.FullSign] });
        var rows = e.Run();
        Assert.Equal(3, rows.Count(r => r.Ladder == "fp16:fp32" && r.Criterion == StudyCriterion.Authors));
        Assert.DoesNotContain(rows, r => r.Ladder == "fp8-e4m3:fp16:fp32" && r.Criterion == StudyCriterion.Authors);
        Assert.Equal(3, rows.Count(r => r.Ladder == "fp8-e4m3:fp16:fp32" && r.Criterion == StudyCriterion.FullSign));
        // Its top is fp32: its uniform_high is the fp32 reference (cost 1), which also closes the list.
        Assert.Equal(1, rows.Single(r => r.Ladder == "fp8-e4m3:fp16:fp32" && r.Method == StudyMethod.UniformHigh).Cost, 12);
        Assert.Equal("fp32", rows[^1].Ladder);
        Assert.Throws<EmaException>(() => Engine(1, new StudyOptions { Formats = [], Ladders = ["i8:fp16:fp32"], Criteria = [StudyCriterion.Authors] }).Run());
    }

    [Fact]
    public void BlockedAccumulationHasSmallerErrorsAndRunsAreReproducible()
    {
        var rec = Engine(20, new StudyOptions { Formats = ["fp16"] });
        var blk = Engine(20, new StudyOptions { Formats = ["fp16"], BlockSize = 32 });
        var r = rec.Evaluate("fp16", StudyMethod.UniformLow, double.NaN);
        var b = blk.Evaluate("fp16", StudyMethod.UniformLow, double.NaN);
        Assert.True(b.MeanRelError < r.MeanRelError, $"blocked {b.MeanRelError} vs recursive {r.MeanRelError}");
        // Random selection is seeded from the sample, ladder, criterion and tau only: another engine draws the same.
        var again = Engine(20, new StudyOptions { Formats = ["fp16"] });
        Assert.Equal(rec.Evaluate("fp16", StudyMethod.Random, 0.01).MeanRelError, again.Evaluate("fp16", StudyMethod.Random, 0.01).MeanRelError);
        Assert.Throws<EmaException>(() => Engine(1, new StudyOptions { BlockSize = 0 }));
    }

    [Fact]
    public void TheRunningEstimateIsTighterThanTheFusedBound()
    {
        var e = Engine(20, new StudyOptions { Formats = ["fp16"] });
        var fused = e.Evaluate("fp16", StudyMethod.Mixed, 0.01, "fused", StudyCriterion.Full);
        var running = e.Evaluate("fp16", StudyMethod.Mixed, 0.01, "running", StudyCriterion.Full);
        Assert.True(running.RecomputeFraction < fused.RecomputeFraction, $"running {running.RecomputeFraction} vs fused {fused.RecomputeFraction}");
        Assert.Equal(running.Cost - running.RecomputeFraction, fused.Cost - fused.RecomputeFraction, 9); // both pay one more accumulation
    }
}
