// f16acc GEMV golden vectors: a deterministic table (own SplitMix64 generator, no System.Random) whose
// expected output bits were computed by an independent exact reference (BigInteger rational arithmetic,
// tests/EdgeMixedAccum.Runtime.Tests/Kernels/F16GemvReference.cs) and are pinned by ExpectedChecksum.
// Every variant (emulated on x64 and Cortex-A72/A57, native FMLA .8H on Cortex-A76) must reproduce them.
//
// Order (defined in F16Gemv.cs): 8 fp16 lanes from +0; acc_(j mod 8) = fma16(w[j], x[j], acc_(j mod 8))
// for j = 0..k-1; y = ((a0+a1)+(a2+a3)) + ((a4+a5)+(a6+a7)) in fp16. absDot: same lanes and tree in fp32.
namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>One golden case: w is rows x k row-major; WantAbs says whether absDot is requested.</summary>
public sealed record F16GemvCase(string Kind, int Rows, int K, Half[] W, Half[] X, bool WantAbs);

public static class F16GemvGolden
{
    /// <summary>FNV-1a 64 of every case's output bits (y as 2 bytes each, then absDot as 4 bytes each when
    /// requested), computed by the independent exact reference.</summary>
    public const ulong ExpectedChecksum = 0x43B0F29010504BA4UL;

    /// <summary>Value kinds, one per case (cycled): each spans a different corner of fp16.</summary>
    public static readonly string[] Kinds = ["moderate", "subnormal", "overflow", "cancel", "ties", "anybits", "edges"];

    private static readonly Lazy<IReadOnlyList<F16GemvCase>> LazyCases = new(Build);

    public static IReadOnlyList<F16GemvCase> Cases => LazyCases.Value;

    /// <summary>Runs fn on every case and hashes the output bits.</summary>
    public static ulong Checksum(F16GemvFn fn)
    {
        ulong h = FnvOffset;
        foreach (var c in Cases)
        {
            var y = new Half[c.Rows];
            var a = c.WantAbs ? new float[c.Rows] : [];
            fn(c.W, c.X, y, a, c.Rows, c.K);
            h = Hash(h, y, a);
        }
        return h;
    }

    public const ulong FnvOffset = 0xCBF29CE484222325UL;
    private const ulong FnvPrime = 0x100000001B3UL;

    /// <summary>Folds one case's outputs into the running hash.</summary>
    public static ulong Hash(ulong h, ReadOnlySpan<Half> y, ReadOnlySpan<float> absDot)
    {
        foreach (var v in y)
        {
            ushort b = BitConverter.HalfToUInt16Bits(v);
            h = (h ^ (byte)b) * FnvPrime;
            h = (h ^ (byte)(b >> 8)) * FnvPrime;
        }
        foreach (var v in absDot)
        {
            uint b = BitConverter.SingleToUInt32Bits(v);
            for (int s = 0; s < 32; s += 8)
                h = (h ^ (byte)(b >> s)) * FnvPrime;
        }
        return h;
    }

    private static IReadOnlyList<F16GemvCase> Build()
    {
        var list = new List<F16GemvCase>();
        var rng = new SplitMix64(0x5EED_F16A_CC00_0001UL);
        int idx = 0;
        void Add(int kind, int rows, int k)
        {
            var (w, x) = Generate(ref rng, kind, rows, k);
            list.Add(new F16GemvCase(Kinds[kind], rows, k, w, x, idx % 2 == 0));
            idx++;
        }
        for (int k = 0; k <= 40; k++)
            Add(k % Kinds.Length, (k * 5 + 1) % 6, k);   // rows 0..5 all appear
        for (int kind = 0; kind < Kinds.Length; kind++)
        {
            Add(kind, 3, 256);
            Add(kind, 2, 1000);
        }
        Add(0, 5, 1000);
        Add(5, 4, 1003);
        return list;
    }

    private static (Half[] W, Half[] X) Generate(ref SplitMix64 rng, int kind, int rows, int k)
    {
        var w = new Half[rows * k];
        var x = new Half[k];
        switch (Kinds[kind])
        {
            case "moderate":
                for (int j = 0; j < k; j++) x[j] = Make(ref rng, -4, 4);
                for (int i = 0; i < w.Length; i++) w[i] = Make(ref rng, -4, 4);
                break;
            case "subnormal":
                // w subnormal or barely normal, x in [2^-6, 2): products and lane sums live near 2^-24..2^-8.
                for (int j = 0; j < k; j++) x[j] = Make(ref rng, -6, 0);
                for (int i = 0; i < w.Length; i++)
                    w[i] = rng.Next(4) == 0 ? Make(ref rng, -14, -12) : Bits((ushort)(rng.Next(2) << 15 | rng.Next(1024)));
                break;
            case "overflow":
                // products 2^10..2^18: lanes overflow to +-inf (row sign mode: all +, all -, mixed -> inf - inf = NaN).
                for (int j = 0; j < k; j++) x[j] = Abs(Make(ref rng, 5, 8));
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < k; j++)
                    {
                        Half v = Abs(Make(ref rng, 5, 8));
                        bool neg = (r % 3) switch { 0 => false, 1 => true, _ => rng.Next(2) == 0 };
                        w[r * k + j] = neg ? -v : v;
                    }
                break;
            case "cancel":
                // Big terms that come back negated 8 elements later (same lane), among small ones.
                for (int j = 0; j < k; j++) x[j] = j >= 8 && rng.Next(4) != 0 ? x[j - 8] : Make(ref rng, 2, 7);
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < k; j++)
                        w[r * k + j] = j >= 8 && x[j] == x[j - 8] && rng.Next(8) != 0 ? -w[r * k + j - 8]
                            : rng.Next(3) == 0 ? Make(ref rng, -12, -4) : Make(ref rng, 3, 8);
                break;
            case "ties":
                // x = +-2^e, w with 2-bit significands: many partial sums land exactly halfway.
                for (int j = 0; j < k; j++) x[j] = Pow2(ref rng, -2, 2);
                for (int i = 0; i < w.Length; i++)
                {
                    int j = i % Math.Max(k, 1);
                    w[i] = j < 8 ? Make(ref rng, 8, 10) : Short(ref rng, -3, 3);
                }
                break;
            case "anybits":
                for (int j = 0; j < k; j++) x[j] = AnyFinite(ref rng);
                for (int i = 0; i < w.Length; i++) w[i] = AnyFinite(ref rng);
                break;
            case "edges":
                for (int j = 0; j < k; j++) x[j] = Edge(ref rng);
                for (int i = 0; i < w.Length; i++) w[i] = Edge(ref rng);
                break;
        }
        return (w, x);
    }

    private static Half Bits(ushort b) => BitConverter.UInt16BitsToHalf(b);
    private static Half Abs(Half h) => Bits((ushort)(BitConverter.HalfToUInt16Bits(h) & 0x7FFF));

    /// <summary>Random sign and mantissa, unbiased exponent in [eLo, eHi] (normal range).</summary>
    private static Half Make(ref SplitMix64 rng, int eLo, int eHi)
    {
        int e = eLo + rng.Next(eHi - eLo + 1);
        return Bits((ushort)(rng.Next(2) << 15 | (e + 15) << 10 | rng.Next(1024)));
    }

    /// <summary>+-(1 + m/4) * 2^e: two significand bits.</summary>
    private static Half Short(ref SplitMix64 rng, int eLo, int eHi)
    {
        int e = eLo + rng.Next(eHi - eLo + 1);
        return Bits((ushort)(rng.Next(2) << 15 | (e + 15) << 10 | rng.Next(4) << 8));
    }

    private static Half Pow2(ref SplitMix64 rng, int eLo, int eHi)
    {
        int e = eLo + rng.Next(eHi - eLo + 1);
        return Bits((ushort)(rng.Next(2) << 15 | (e + 15) << 10));
    }

    private static Half AnyFinite(ref SplitMix64 rng)
    {
        ushort b;
        do b = (ushort)rng.Next(65536); while ((b & 0x7C00) == 0x7C00);
        return Bits(b);
    }

    /// <summary>Signed zeros, extremes, ones, and (rarely) infinities: inf * 0 = NaN, inf + -inf = NaN.</summary>
    private static Half Edge(ref SplitMix64 rng)
    {
        ushort[] table = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x3C00, 0xBC00, 0x3BFF, 0x4000, 0x5BFF, 0xDBFF];
        int n = rng.Next(64);
        if (n == 0) return Bits(0x7C00);
        if (n == 1) return Bits(0xFC00);
        if (n < 2 + 2 * table.Length) return Bits(table[(n - 2) % table.Length]);
        return AnyFinite(ref rng);
    }

    /// <summary>SplitMix64 (Steele, Lea, Flood): fixed forever so the table never changes.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _s = seed;

        public ulong NextULong()
        {
            ulong z = _s += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, n) (n small: modulo bias is irrelevant for test data).</summary>
        public int Next(int n) => (int)(NextULong() % (ulong)n);
    }
}
