using EdgeMixedAccum.Runtime.Kernels;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>The order contract between f32-gemv-rows and f32-gemm: for each Isa, the gemv-rows variant gives
/// for every listed row the same bits as the gemm variant of that Isa gives for that row and input vector,
/// whatever the shape, the row's place in the list or the batch. The engine runs fp32 blocks through f32-gemm
/// and batch-1 units and adaptive recompute through f32-gemv-rows, so fp32 output for a sample must not depend
/// on which ran; and both families must select the same Isa under every option set.</summary>
public class F32RowsGemmOrderTests(ITestOutputHelper output)
{
    /// <summary>Every Isa with a variant in both families (a variant lacking its partner fails below).</summary>
    public static TheoryData<Isa> Isas() => [.. F32GemvRowsFamily.Variants.Select(v => v.Isa)];

    /// <summary>The V of each Isa's gemm (and so of its gemv-rows) variant, for the k values around it.</summary>
    private static int VectorWidth(Isa isa) => isa switch
    {
        Isa.Avx512BW => 16,
        Isa.Avx2 => 8,
        Isa.Vector128 or Isa.AdvSimd => 4,
        _ => 1,
    };

    [Fact]
    public void FamiliesListTheSameIsasInTheSameOrder() =>
        Assert.Equal(F32GemmFamily.Variants.Select(v => v.Isa), F32GemvRowsFamily.Variants.Select(v => v.Isa));

    [Theory, MemberData(nameof(Isas))]
    public void GemvRowsIsBitIdenticalToGemmOfTheSameIsa(Isa isa)
    {
        var rowsV = F32GemvRowsFamily.Variants.Single(v => v.Isa == isa);
        var gemmV = F32GemmFamily.Variants.Single(v => v.Isa == isa);
        if (!rowsV.Supported) { output.WriteLine($"SKIPPED {isa}: this CPU lacks it ({CpuFeatures.Describe()})"); return; }
        output.WriteLine($"{rowsV.Name} vs {gemmV.Name}");
        int vw = VectorWidth(isa);
        int[] edgeKs = [0, 1, 2, 3, vw - 1, vw, vw + 1, 2 * vw - 1, 2 * vw + 1, 4 * vw, 4 * vw + 3, 63, 64, 65, 255, 300, 784];
        var rng = new Random(20261203 + (int)isa);
        int compared = 0;
        for (int t = 0; t < 400; t++)
        {
            int m = rng.Next(0, 14);
            int k = t < edgeKs.Length * 3 ? edgeKs[t % edgeKs.Length] : rng.Next(0, 301);
            int n = rng.Next(1, 10);
            int pattern = t % 4;
            var w = Fill(rng, m * k, pattern);
            var x = Fill(rng, n * k, pattern);
            var g = new float[n * m];
            Array.Fill(g, float.NaN);
            gemmV.Fn(w, x, g, m, k, n);
            for (int s = 0; s < n; s++)
            {
                // A random list over the m rows: any length, unordered, with repeats (empty when m = 0).
                int len = m == 0 ? 0 : rng.Next(0, 2 * m + 6);
                var list = new int[len];
                for (int r = 0; r < len; r++) list[r] = rng.Next(0, m);
                var y = new float[len];
                Array.Fill(y, float.NaN);
                rowsV.Fn(w, x.AsSpan(s * k, k), list, y, k);
                for (int r = 0; r < len; r++)
                {
                    float want = g[s * m + list[r]];
                    Assert.True(BitConverter.SingleToInt32Bits(y[r]) == BitConverter.SingleToInt32Bits(want),
                        $"rows={m} k={k} n={n} pattern={pattern} s={s} list[{r}]={list[r]}: {rowsV.Name} {y[r]:R} " +
                        $"(0x{BitConverter.SingleToInt32Bits(y[r]):X8}), {gemmV.Name} {want:R} (0x{BitConverter.SingleToInt32Bits(want):X8})");
                    compared++;
                }
            }
        }
        output.WriteLine($"{compared} outputs compared bit for bit");
        Assert.True(compared > 10000);
    }

    /// <summary>0: uniform [-1, 1); 1: spread over 2^-20..2^20; 2: signed zeros and a few values (the sign of a
    /// zero sum depends on the order and on padding); 3: large values whose sums round heavily.</summary>
    private static float[] Fill(Random rng, int count, int pattern)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++)
        {
            float u = (float)(rng.NextDouble() * 2 - 1);
            v[i] = pattern switch
            {
                1 => u * MathF.ScaleB(1f, rng.Next(-20, 21)),
                2 => rng.Next(8) switch { 0 => u, 1 => 1f, 2 or 3 => -0f, _ => 0f },
                3 => u * 1e16f + (float)rng.Next(-3, 4),
                _ => u,
            };
        }
        return v;
    }

    public static TheoryData<string> OptionSets()
    {
        var d = new TheoryData<string> { "default", "force-generic", "allowed:none", "allowed:all" };
        foreach (var isa in Enum.GetValues<Isa>()) d.Add($"allowed:{isa}");
        return d;
    }

    private static KernelOptions Options(string name) => name switch
    {
        "default" => KernelOptions.Default,
        "force-generic" => new KernelOptions { ForceGeneric = true },
        "allowed:none" => new KernelOptions { Allowed = new HashSet<Isa>() },
        "allowed:all" => new KernelOptions { Allowed = Enum.GetValues<Isa>().ToHashSet() },
        _ => new KernelOptions { Allowed = new HashSet<Isa> { Enum.Parse<Isa>(name["allowed:".Length..]) } },
    };

    [Theory, MemberData(nameof(OptionSets))]
    public void BothFamiliesSelectTheSameIsa(string options)
    {
        var o = Options(options);
        var rows = KernelSelect.Best(F32GemvRowsFamily.Variants, o);
        var gemm = KernelSelect.Best(F32GemmFamily.Variants, o);
        output.WriteLine($"{options}: {rows.Name}, {gemm.Name}");
        Assert.Equal(gemm.Isa, rows.Isa);
        Assert.Equal(F32GemmFamily.Instance.Selected(o).Split('-')[^1], F32GemvRowsFamily.Instance.Selected(o).Split('-')[^1]);
    }
}
