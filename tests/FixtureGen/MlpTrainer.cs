namespace FixtureGen;

/// <summary>
/// A small fp64 MLP (ReLU hidden layers, softmax cross-entropy) trained by minibatch SGD with momentum.
/// Just enough to give the bundled model real, trained weights; real models come from PyTorch exports.
/// </summary>
public sealed class MlpTrainer
{
    public readonly int[] Sizes;
    public readonly double[][] W; // W[l] is [out, in], row-major
    public readonly double[][] B;

    public MlpTrainer(int[] sizes, int seed)
    {
        Sizes = sizes;
        var rng = new Random(seed);
        W = new double[sizes.Length - 1][];
        B = new double[sizes.Length - 1][];
        for (int l = 0; l < W.Length; l++)
        {
            int fin = sizes[l], fout = sizes[l + 1];
            double scale = Math.Sqrt(2.0 / fin); // He initialisation for ReLU
            W[l] = new double[fout * fin];
            for (int i = 0; i < W[l].Length; i++) W[l][i] = scale * (2 * rng.NextDouble() - 1) * Math.Sqrt(3);
            B[l] = new double[fout];
        }
    }

    public double[][] Forward(ReadOnlySpan<float> x)
    {
        var acts = new double[Sizes.Length][];
        acts[0] = new double[Sizes[0]];
        for (int i = 0; i < Sizes[0]; i++) acts[0][i] = x[i];
        for (int l = 0; l < W.Length; l++)
        {
            int fin = Sizes[l], fout = Sizes[l + 1];
            acts[l + 1] = new double[fout];
            for (int o = 0; o < fout; o++)
            {
                double s = B[l][o];
                for (int i = 0; i < fin; i++) s += W[l][o * fin + i] * acts[l][i];
                acts[l + 1][o] = l == W.Length - 1 ? s : Math.Max(0, s);
            }
        }
        return acts;
    }

    public void Train(float[] x, long[] y, int epochs, double lr, int batch, int seed)
    {
        int n = y.Length, f = Sizes[0];
        var rng = new Random(seed);
        var order = Enumerable.Range(0, n).ToArray();
        var gw = W.Select(w => new double[w.Length]).ToArray();
        var gb = B.Select(b => new double[b.Length]).ToArray();
        var vw = W.Select(w => new double[w.Length]).ToArray();
        var vb = B.Select(b => new double[b.Length]).ToArray();
        for (int e = 0; e < epochs; e++)
        {
            rng.Shuffle(order);
            for (int s = 0; s < n; s += batch)
            {
                foreach (var g in gw) Array.Clear(g);
                foreach (var g in gb) Array.Clear(g);
                int m = Math.Min(batch, n - s);
                for (int k = 0; k < m; k++)
                {
                    int idx = order[s + k];
                    var acts = Forward(x.AsSpan(idx * f, f));
                    var delta = Softmax(acts[^1]);
                    delta[y[idx]] -= 1;
                    for (int l = W.Length - 1; l >= 0; l--)
                    {
                        int fin = Sizes[l], fout = Sizes[l + 1];
                        var prev = new double[fin];
                        for (int o = 0; o < fout; o++)
                        {
                            gb[l][o] += delta[o];
                            for (int i = 0; i < fin; i++)
                            {
                                gw[l][o * fin + i] += delta[o] * acts[l][i];
                                prev[i] += W[l][o * fin + i] * delta[o];
                            }
                        }
                        if (l > 0) for (int i = 0; i < fin; i++) prev[i] = acts[l][i] > 0 ? prev[i] : 0;
                        delta = prev;
                    }
                }
                for (int l = 0; l < W.Length; l++)
                {
                    for (int i = 0; i < W[l].Length; i++) { vw[l][i] = 0.9 * vw[l][i] - lr * gw[l][i] / m; W[l][i] += vw[l][i]; }
                    for (int i = 0; i < B[l].Length; i++) { vb[l][i] = 0.9 * vb[l][i] - lr * gb[l][i] / m; B[l][i] += vb[l][i]; }
                }
            }
        }
    }

    public double Accuracy(float[] x, long[] y)
    {
        int f = Sizes[0], ok = 0;
        for (int n = 0; n < y.Length; n++)
        {
            var logits = Forward(x.AsSpan(n * f, f))[^1];
            int best = 0;
            for (int c = 1; c < logits.Length; c++) if (logits[c] > logits[best]) best = c;
            if (best == y[n]) ok++;
        }
        return (double)ok / y.Length;
    }

    private static double[] Softmax(double[] z)
    {
        double max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }
}
