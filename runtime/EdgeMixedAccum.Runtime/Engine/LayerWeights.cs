using System.Runtime.InteropServices;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// A Dense or Conv weight matrix (M rows of K) prepared once at load for the precisions a session runs:
/// the fp32 rows the recompute reads (the stored values, int8 dequantised), and the low-precision rows
/// with the row statistics their bounds need. Stored int8 or fp16 rows are used in place (from the mapped
/// file); other formats are converted here, and the conversion error is a term of the bound (<see cref="QDiff"/>, <see cref="HDiff"/>).
/// </summary>
internal sealed class LayerWeights
{
    public int M { get; }
    public int K { get; }
    /// <summary>fp32 weights w_ij: the recompute's, and the exact model the bounds speak of.</summary>
    public float[] W32 { get; }
    public float[] Bias { get; }

    // int8 low pass: q_ij * scale_i.
    private ReadOnlyMemory<byte> _q;
    public ReadOnlySpan<sbyte> Q => MemoryMarshal.Cast<byte, sbyte>(_q.Span);
    public float[] QScale { get; private set; } = [];
    /// <summary>||q_i scale_i||_1 and ||.||_2 rounded up.</summary>
    public float[] QL1 { get; private set; } = [];
    public float[] QL2 { get; private set; } = [];

    // f16acc low pass.
    private ReadOnlyMemory<byte> _h;
    public ReadOnlySpan<Half> H => MemoryMarshal.Cast<byte, Half>(_h.Span);
    public float[] HL1 { get; private set; } = [];
    /// <summary>Per-block ||w16_i[block]||_1, M x Blocks, for the blocked estimator.</summary>
    public float[] HBlockL1 { get; private set; } = [];
    public int BlockSize { get; private set; }
    public int Blocks { get; private set; }

    /// <summary>max_j |w_low_ij - w_ij| per row, rounded up: the int8 (QDiff) and fp16 (HDiff) weights'
    /// distance from the fp32 ones (a rounding error of 2^-24 for stored int8, larger when converted at load).</summary>
    public float[] QDiff { get; private set; } = [];
    public float[] HDiff { get; private set; } = [];

    public LayerWeights(TensorData w, TensorData? b, int m, int k)
    {
        M = m; K = k;
        W32 = w.ToFloat32();
        if (W32.Length != (long)m * k) throw new EmaException($"tensor '{w.Name}': {W32.Length} weights, expected {m} x {k}");
        Bias = b is null ? new float[m] : b.ToFloat32();
        if (Bias.Length != m) throw new EmaException($"tensor '{b!.Name}': {Bias.Length} biases, expected {m}");
        _stored = w;
    }

    private readonly TensorData _stored;

    /// <summary>W32 of a conv in tap-major order, each tap's cg channels padded with zeros to cgp (a multiple of 16):
    /// the sparse recompute's f32-dot-taps rows (<see cref="PrepareTaps"/>). Built once, shared by a session's lanes.</summary>
    public float[] W32Taps { get; private set; } = [];

    /// <summary>Builds <see cref="W32Taps"/> from W32's (c, kh, kw) rows: element (t, c) of row r is W32[r, c*taps + t].
    /// Called at session construction (one thread), so the lanes of a session see it built.</summary>
    public void PrepareTaps(int cg, int taps, int cgp)
    {
        if (W32Taps.Length > 0 || M == 0) return;
        if (cg * taps != K || cgp < cg) throw new EmaException($"tap-major weights: {cg} channels x {taps} taps is not the inner length {K}");
        long n = (long)M * taps * cgp;
        var w = new float[n <= Array.MaxLength ? (int)n : throw new EmaException($"tap-major weights: {n} elements exceed the array limit")];
        for (int r = 0; r < M; r++)
            for (int c = 0; c < cg; c++)
                for (int t = 0; t < taps; t++)
                    w[(r * taps + t) * cgp + c] = W32[r * K + c * taps + t]; // t = kh*KW + kw, as in (c, kh, kw)
        W32Taps = w;
    }

    /// <summary>Prepares the int8 rows: the stored ones, or a symmetric per-row quantisation of W32.</summary>
    public void PrepareI8()
    {
        if (QScale.Length == M && M > 0) return;
        if (_stored.DType == TensorDType.Int8)
        {
            _q = _stored.Data;
            QScale = _stored.Scales.ToArray();
        }
        else
        {
            var q = new sbyte[W32.Length];
            QScale = new float[M];
            for (int i = 0; i < M; i++)
            {
                var row = W32.AsSpan(i * K, K);
                float max = 0;
                foreach (float v in row) max = MathF.Max(max, MathF.Abs(v));
                float s = max / 127f;
                QScale[i] = s;
                for (int j = 0; j < K; j++)
                    q[i * K + j] = s == 0 ? (sbyte)0 : (sbyte)Math.Clamp(MathF.Round(row[j] / s, MidpointRounding.ToEven), -127, 127);
            }
            _q = MemoryMarshal.AsBytes(q.AsSpan()).ToArray();
        }
        var qs = Q;
        QL1 = new float[M]; QL2 = new float[M];
        QDiff = new float[M];
        var diff = QDiff;
        for (int i = 0; i < M; i++)
        {
            double l1 = 0, l2 = 0, d = 0, s = QScale[i];
            for (int j = 0; j < K; j++)
            {
                double v = qs[i * K + j] * s; // exact in fp64
                l1 += Math.Abs(v);
                l2 += v * v;
                d = Math.Max(d, Math.Abs(v - W32[i * K + j]));
            }
            // fp64 sums of K terms carry a relative error below K * 2^-53: inflate before rounding up.
            double inflate = 1 + (K + 2) * 1.2e-16;
            QL1[i] = ErrorModel.RoundUp(l1 * inflate);
            QL2[i] = ErrorModel.RoundUp(Math.Sqrt(l2 * inflate) * (1 + 2.3e-16));
            diff[i] = ErrorModel.RoundUp(d);
        }
    }

    /// <summary>Prepares the fp16 rows: the stored ones, or W32 rounded to nearest fp16.</summary>
    public void PrepareF16(int blockSize)
    {
        if (HL1.Length == M && M > 0) return;
        if (_stored.DType == TensorDType.Float16) _h = _stored.Data;
        else
        {
            var h = new Half[W32.Length];
            for (int i = 0; i < h.Length; i++) h[i] = (Half)W32[i];
            _h = MemoryMarshal.AsBytes(h.AsSpan()).ToArray();
        }
        BlockSize = Math.Max(1, Math.Min(blockSize, Math.Max(1, K)));
        Blocks = K == 0 ? 0 : (K + BlockSize - 1) / BlockSize;
        HL1 = new float[M];
        HBlockL1 = new float[M * Blocks];
        var hs = H;
        HDiff = new float[M];
        var diff = HDiff;
        double inflate = 1 + (K + 2) * 1.2e-16;
        for (int i = 0; i < M; i++)
        {
            double l1 = 0, d = 0, blk = 0;
            for (int j = 0; j < K; j++)
            {
                double v = (double)hs[i * K + j];
                l1 += Math.Abs(v);
                blk += Math.Abs(v);
                d = Math.Max(d, Math.Abs(v - W32[i * K + j]));
                if ((j + 1) % BlockSize == 0 || j == K - 1)
                {
                    HBlockL1[i * Blocks + j / BlockSize] = ErrorModel.RoundUp(blk * inflate);
                    blk = 0;
                }
            }
            HL1[i] = ErrorModel.RoundUp(l1 * inflate);
            diff[i] = ErrorModel.RoundUp(d);
        }
        if (!float.IsFinite(HL1.AsSpan().Length > 0 ? Max(HL1) : 0))
            throw new EmaException($"tensor '{_stored.Name}': weights overflow fp16 (|w| > 65504); run this layer in i8 or fp32");
    }

    private static float Max(float[] a) { float m = 0; foreach (var v in a) m = MathF.Max(m, v); return m; }
}
