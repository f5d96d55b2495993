namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>SplitMix64: the golden tables' input generator. Spelled out here (not System.Random) so the
/// inputs, and with them the pinned CRCs, can never change under a runtime upgrade.</summary>
internal struct GoldenRng(ulong seed)
{
    private ulong _s = seed;

    public ulong Next()
    {
        ulong z = _s += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [lo, hi] (the tiny modulo bias is irrelevant for test data).</summary>
    public int Int(int lo, int hi) => lo + (int)(Next() % (ulong)(hi - lo + 1));

    /// <summary>Uniform in [-1, 1) with 24 significant bits, so it is an exact float.</summary>
    public float Unit() => (int)(Next() >> 40) / (float)(1 << 23) - 1f;
}
