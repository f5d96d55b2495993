using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Tests;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>
/// docs/layernorm.md: a Dense feeding a LayerNorm runs Algorithm 1 with kappa_phi = 1 (identity), and the error its
/// low pass leaves propagates through the LayerNorm as
///   |z_hat_i - z_i| &lt;= (b_i + mean(b)) / sd_hat + (|c_hat_i| + b_i + mean(b)) rms(b) / (sd_hat (sd_hat - rms(b)))
/// (b the per-component bounds, c_hat = s_hat - mean(s_hat), sd_hat = sqrt(var(s_hat) + eps)), times |gamma_i| on the
/// output. Checked on the trained LayerNorm MLP (tests/fixtures/wild/ln-mlp-opset17-i8.ema, int8 weights) against an
/// fp64 evaluation of the same Dense (same stored weights, same fp32 input) and of the LayerNorm: the layer's own
/// bound must hold, and the runtime's LayerNorm output must stay within the propagated bound plus the fp32 rounding
/// of the LayerNorm itself. The bound is computed from what the runtime has (the low results and their bounds), not
/// from the reference.
/// </summary>
public class LayerNormBoundTests(ITestOutputHelper output)
{
    private const double U32 = 1.0 / (1 << 24);

    [Theory]
    [InlineData(RunMode.I8, null)]
    [InlineData(RunMode.Adaptive, 0.02f)]
    [InlineData(RunMode.Adaptive, 0.002f)]
    public void PostLayerNormErrorStaysWithinTheBoundPropagatedFromTheDenseLayer(RunMode mode, float? tau)
    {
        var model = EmaReader.Read(Path.Combine(TestPaths.Fixtures, "wild", "ln-mlp-opset17-i8.ema"));
        var npy = NpyFile.Read(Path.Combine(TestPaths.Fixtures, "fmnist-x.npy"));
        const int rows = 300;
        int per = npy.ToFloat32().Length / npy.Shape[0];
        var x = npy.ToFloat32().AsSpan(0, rows * per).ToArray();
        using var s = new Session(model, new SessionOptions { Mode = mode, Tau = tau, Trace = true, MaxBatch = rows });
        var y = new float[rows * s.OutputLength];
        s.Run(x, y, rows);

        var g = model.Graph;
        var ln = g.Nodes.OfType<LayerNormNode>().Single();
        var dense = s.Layers.Single(l => l.Node.Output == ln.Inputs[0]);
        Assert.Equal(Precision.I8, dense.Precision);
        int m = dense.Weights.M, k = dense.Weights.K;
        var xin = s.Value(dense.Node.X);
        var sOut = s.Value(dense.Node.Output);      // after the recompute of flagged components
        var yLn = s.Value(ln.Output);
        var gamma = g.Tensors[g.Values[ln.Inputs[1]].Constant].ToFloat32();
        var beta = g.Tensors[g.Values[ln.Inputs[2]].Constant].ToFloat32();
        var w = dense.Weights.W32; var bias = dense.Weights.Bias;
        var low = dense.TraceBound; var flagged = dense.TraceFlagged;
        double gammaK = k * U32 / (1 - k * U32);

        var b = new double[m]; var s64 = new double[m]; var z64 = new double[m];
        double worstLayer = 0, worstLn = 0, maxMeanToSd = 0, meanAmp = 0;
        long flaggedCount = 0;
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < m; i++)
            {
                double acc = bias[i], mag = Math.Abs(bias[i]);
                for (int j = 0; j < k; j++) { double t = (double)w[i * k + j] * xin[r * k + j]; acc += t; mag += Math.Abs(t); }
                s64[i] = acc;
                bool f = flagged[r * m + i];
                if (f) flaggedCount++;
                // Unflagged: the low pass's rigorous bound. Flagged: recomputed in fp32, gamma_K(u32) (|W||x| + |b|).
                b[i] = f ? gammaK * mag : low[r * m + i];
                double err = Math.Abs(sOut[r * m + i] - acc);
                Assert.True(err <= b[i] * (1 + 1e-9) + 1e-30, $"row {r} component {i}: Dense error {err:G3} exceeds its bound {b[i]:G3}");
                if (b[i] > 0) worstLayer = Math.Max(worstLayer, err / b[i]);
            }
            // fp64 LayerNorm of the exact Dense output.
            double mu = s64.Average(), var = s64.Sum(v => (v - mu) * (v - mu)) / m, sd = Math.Sqrt(var + ln.Epsilon);
            for (int i = 0; i < m; i++) z64[i] = (s64[i] - mu) / sd;
            // What the runtime knows: its own (final) Dense output and the bounds.
            var sh = sOut.Slice(r * m, m);
            double muh = 0; foreach (var v in sh) muh += v; muh /= m;
            double varh = 0; foreach (var v in sh) varh += (v - muh) * (v - muh); varh /= m;
            double sdh = Math.Sqrt(varh + ln.Epsilon);
            double mb = b.Average(), rms = Math.Sqrt(b.Sum(v => v * v) / m);
            Assert.True(rms < sdh, $"row {r}: rms bound {rms:G3} reaches the spread {sdh:G3}; the propagated bound does not apply");
            maxMeanToSd = Math.Max(maxMeanToSd, Math.Abs(muh) / sdh);
            for (int i = 0; i < m; i++)
            {
                double ch = Math.Abs(sh[i] - muh);
                double bz = (b[i] + mb) / sdh + (ch + b[i] + mb) * rms / (sdh * (sdh - rms));
                // The LayerNorm's own fp32 arithmetic (mean, 1/sd rounded to fp32, then a subtract, two products and an add).
                double slack = 8 * U32 * ((Math.Abs(sh[i]) + 2 * Math.Abs(muh)) / sdh * Math.Abs(gamma[i]) + Math.Abs(beta[i]));
                double predicted = Math.Abs(gamma[i]) * bz + slack;
                double actual = Math.Abs(yLn[r * m + i] - (z64[i] * gamma[i] + beta[i]));
                Assert.True(actual <= predicted, $"row {r} component {i}: LayerNorm output error {actual:G3} exceeds the propagated bound {predicted:G3}");
                worstLn = Math.Max(worstLn, actual / predicted);
                // The amplification the identity kappa leaves out (docs/layernorm.md): A_i = (|s_i| + mean|s| + |z_i| rms(s)) / sd.
                meanAmp += (Math.Abs(sh[i]) + sh.ToArray().Average(v => Math.Abs(v)) + ch / sdh * Math.Sqrt(varh + muh * muh)) / sdh / (rows * m);
            }
        }
        output.WriteLine($"{mode} tau {tau?.ToString() ?? "-"}: {flaggedCount} of {rows * m} Dense components flagged; worst Dense error/bound {worstLayer:G3}; " +
                         $"worst LayerNorm error/propagated bound {worstLn:G3}; max |mean|/sd of a row {maxMeanToSd:G3}; mean amplification A {meanAmp:G3}");
        Assert.True(worstLn > 0, "the LayerNorm output carries no error at all: the check would be vacuous");
    }
}
