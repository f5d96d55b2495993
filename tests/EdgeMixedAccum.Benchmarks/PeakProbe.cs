using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Benchmarks;

/// <summary>
/// The machine's peak for each path, measured rather than taken from a data sheet (a VM's clock is not known):
/// a loop of independent multiply-accumulates on registers only (8 accumulators hide the latency), so its rate
/// is the core's issue limit for that instruction. int8 ops/s (2 per MAC) for VPDPBUSD (AVX-VNNI 256-bit, AVX-512
/// VNNI), or without VNNI for the AVX2 kernels' VPMADDWD + VPADDD, fp32 FLOPs/s for VFMADD (256 and 512-bit).
/// </summary>
internal static class PeakProbe
{
    public sealed record Peak(string Path, double OpsPerSecond, string Unit);

    /// <summary>One register-only loop: its path, ops per iteration (2 per multiply-add), and a run of n iterations
    /// returning its seconds.</summary>
    public sealed record Probe(string Path, string Unit, double OpsPerIteration, Func<int, double> Seconds);

    /// <summary>The loops this CPU runs: fp32 FMA 256/512-bit, int8 VPDPBUSD (AVX-VNNI) and VPMADDWD + VPADDD (AVX2).</summary>
    public static IReadOnlyList<Probe> Probes()
    {
        var list = new List<Probe>();
        if (Fma.IsSupported) list.Add(new("fp32 FMA 256-bit", "FLOP/s", 8.0 * 8 * 2, n => Timed(Fma256Loop, n)));
        if (Avx512F.IsSupported) list.Add(new("fp32 FMA 512-bit", "FLOP/s", 8.0 * 16 * 2, n => Timed(Fma512Loop, n)));
        if (AvxVnni.IsSupported) list.Add(new("int8 VPDPBUSD 256-bit (AVX-VNNI)", "OP/s", 8.0 * 32 * 2, n => Timed(Vnni256Loop, n)));
        // Without VNNI the int8 kernels issue VPMADDWD (16 int16 products summed in pairs) and VPADDD per 16 MACs.
        if (Avx2.IsSupported) list.Add(new("int8 VPMADDWD+VPADDD 256-bit (AVX2)", "OP/s", 12.0 * 16 * 2, n => Timed(Madd256Loop, n)));
        return list;
    }

    /// <summary>The probes of the int8 kernels' path (VPDPBUSD with AVX-VNNI, else VPMADDWD + VPADDD) and of fp32 (512-bit
    /// FMA with AVX-512F, else 256-bit); null where this CPU has none (ARM64).</summary>
    public static (Probe? I8, Probe? F32) KernelPaths()
    {
        var probes = Probes();
        Probe? Find(params string[] prefixes) =>
            prefixes.Select(x => probes.FirstOrDefault(p => p.Path.StartsWith(x, StringComparison.Ordinal))).FirstOrDefault(p => p is not null);
        return (Find("int8 VPDPBUSD", "int8 VPMADDWD"), Find("fp32 FMA 512", "fp32 FMA 256"));
    }

    public static IReadOnlyList<Peak> Measure()
    {
        const int iters = 2_000_000;
        return Probes().Select(p => new Peak(p.Path, p.OpsPerIteration * iters / Median(() => p.Seconds(iters)), p.Unit)).ToList();
    }

    /// <summary>The peaks, then the best variant of each family on large shapes as GOPS and share of its path's peak
    /// (int8: 256-bit VPDPBUSD, which the AVX-512 VNNI kernel also issues, .NET 10 having no 512-bit form;
    /// fp32: 512-bit FMA where AVX-512F is present, else 256-bit). Medians of 15 timed rounds.</summary>
    public static int Run(string[] args)
    {
        var peaks = Measure();
        Console.WriteLine("| path | measured peak |");
        Console.WriteLine("|---|---|");
        foreach (var p in peaks) Console.WriteLine($"| {p.Path} | {p.OpsPerSecond / 1e9:0.0} G{p.Unit} |");
        var (i8Path, f32Path) = KernelPaths();
        double Peak(Probe? probe) => peaks.FirstOrDefault(p => p.Path == probe?.Path)?.OpsPerSecond ?? double.NaN;
        double i8Peak = Peak(i8Path), f32Peak = Peak(f32Path);
        Console.WriteLine();
        Console.WriteLine("| kernel (best variant here) | shape (rows x k, n) | GOPS | share of the path's peak |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (shape, n) in new[] { ("256x784", 1), ("1024x1024", 1), ("256x784", 64), ("1024x1024", 64) })
        {
            var d = new KernelData(shape, n);
            var gemv = KernelSelect.Best(EdgeMixedAccum.Runtime.Kernels.I8GemvFamily.Variants);
            var gemm = KernelSelect.Best(EdgeMixedAccum.Runtime.Kernels.I8GemmFamily.Variants);
            var rows = KernelSelect.Best(EdgeMixedAccum.Runtime.Kernels.F32GemvRowsFamily.Variants);
            var fgemm = KernelSelect.Best(EdgeMixedAccum.Runtime.Kernels.F32GemmFamily.Variants);
            Row(n == 1 ? gemv.Name : gemm.Name, shape, n, d.Ops / Time(() => { if (n == 1) d.I8GemvN(gemv.Fn); else d.I8Gemm(gemm.Fn); }), i8Peak);
            Row(n == 1 ? rows.Name : fgemm.Name, shape, n, d.Ops / Time(() => { if (n == 1) d.F32RowsN(rows.Fn); else d.F32Gemm(fgemm.Fn); }), f32Peak);
        }
        ConvGemms(i8Peak, f32Peak);
        return 0;
    }

    /// <summary>Every vector variant of the conv GEMM families (output layout) on the audio CNN's three conv shapes
    /// (channels x k, positions per tile): the int8 pair layout, the quad layout and fp32, as GOPS and share of the
    /// path's peak. Values are random in [-127, 127] (int8) and [-1, 1) (fp32); results are not checked here (the
    /// tests do).</summary>
    private static void ConvGemms(double i8Peak, double f32Peak)
    {
        Console.WriteLine();
        Console.WriteLine("| conv GEMM variant | shape (rows x k, n) | GOPS | share of the path's peak |");
        Console.WriteLine("|---|---|---|---|");
        var rng = new Random(7);
        foreach (var (rows, k, n) in new[] { (24, 72, 896), (48, 144, 448), (96, 288, 160) })
        {
            double ops = 2.0 * rows * k * n;
            int kp = (k + 1) / 2, kq = (k + 3) / 4;
            var wp = new int[rows * kp]; var xp = new int[kp * n];
            var wq = new int[rows * kq]; var xq = new int[kq * n];
            var w32 = new float[rows * k]; var x32 = new float[k * n];
            var dot = new int[rows * n]; var y = new float[rows * n];
            int B() => rng.Next(-127, 128);
            for (int i = 0; i < wp.Length; i++) wp[i] = I8GemmNnPack.Pair(B(), B());
            for (int i = 0; i < xp.Length; i++) xp[i] = I8GemmNnPack.Pair(B(), B());
            for (int i = 0; i < wq.Length; i++) wq[i] = I8GemmNn4Pack.Quad(B(), B(), B(), B());
            for (int i = 0; i < xq.Length; i++) xq[i] = I8GemmNn4Pack.Quad(B(), B(), B(), B());
            for (int i = 0; i < w32.Length; i++) w32[i] = (float)rng.NextDouble() * 2 - 1;
            for (int i = 0; i < x32.Length; i++) x32[i] = (float)rng.NextDouble() * 2 - 1;
            string shape = $"{rows}x{k}";
            foreach (var v in I8GemmNnFamily.Variants.Where(v => v.Supported && v.Isa != Isa.Scalar))
                Row(v.Name, shape, n, ops / Time(() => v.Fn(wp, xp, dot, rows, kp, n, n)), i8Peak);
            foreach (var v in I8GemmNn4Family.Variants.Where(v => v.Supported && v.Isa != Isa.Scalar))
                Row(v.Name, shape, n, ops / Time(() => v.Fn(wq, xq, dot, rows, kq, n, n)), i8Peak);
            foreach (var v in F32GemmNnFamily.Variants.Where(v => v.Supported && v.Isa != Isa.Scalar))
                Row(v.Name, shape, n, ops / Time(() => v.Fn(w32, x32, y, rows, k, n, n)), f32Peak);
        }
    }

    private static void Row(string name, string shape, int n, double ops, double peak) =>
        Console.WriteLine($"| {name} | {shape}, {n} | {ops / 1e9:0.0} | {ops / peak:P0} |");

    /// <summary>Median seconds per call over 15 rounds of ~20 ms, after a warm-up that lets tiered compilation finish.</summary>
    private static double Time(Action a)
    {
        var sw = Stopwatch.StartNew();
        int calls = 0;
        for (; calls < 50 || sw.Elapsed.TotalMilliseconds < 300; calls++) a();
        Thread.Sleep(150);
        double per = sw.Elapsed.TotalSeconds / calls;
        int reps = Math.Max(1, (int)(0.02 / per));
        var t = new List<double>();
        for (int r = 0; r < 15; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < reps; i++) a();
            t.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / reps);
        }
        t.Sort();
        return t[7];
    }

    /// <summary>Seconds for one call of a register-only loop of n iterations; its result is kept (a static sink) so
    /// the loop is not removed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double Timed<TV>(Func<int, TV> loop, int n) where TV : struct
    {
        long t0 = Stopwatch.GetTimestamp();
        var r = loop(n);
        double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        Sink = r.GetHashCode();
        return s;
    }

    private static double Median(Func<double> f)
    {
        f();
        var t = new List<double>();
        for (int i = 0; i < 9; i++) t.Add(f());
        t.Sort();
        return t[4];
    }


    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)] // no OSR, and no call in the loop's method: either makes the JIT keep the accumulators in memory
    private static Vector256<float> Fma256Loop(int n)
    {
        var m = Vector256.Create(1.0000001f);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int i = 0; i < n; i++)
        {
            a0 = Fma.MultiplyAdd(m, m, a0); a1 = Fma.MultiplyAdd(m, m, a1); a2 = Fma.MultiplyAdd(m, m, a2); a3 = Fma.MultiplyAdd(m, m, a3);
            a4 = Fma.MultiplyAdd(m, m, a4); a5 = Fma.MultiplyAdd(m, m, a5); a6 = Fma.MultiplyAdd(m, m, a6); a7 = Fma.MultiplyAdd(m, m, a7);
        }
        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)] // no OSR, and no call in the loop's method: either makes the JIT keep the accumulators in memory
    private static Vector512<float> Fma512Loop(int n)
    {
        var m = Vector512.Create(1.0000001f);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int i = 0; i < n; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(m, m, a0); a1 = Avx512F.FusedMultiplyAdd(m, m, a1); a2 = Avx512F.FusedMultiplyAdd(m, m, a2); a3 = Avx512F.FusedMultiplyAdd(m, m, a3);
            a4 = Avx512F.FusedMultiplyAdd(m, m, a4); a5 = Avx512F.FusedMultiplyAdd(m, m, a5); a6 = Avx512F.FusedMultiplyAdd(m, m, a6); a7 = Avx512F.FusedMultiplyAdd(m, m, a7);
        }
        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)] // no OSR, and no call in the loop's method: either makes the JIT keep the accumulators in memory
    private static Vector256<int> Vnni256Loop(int n)
    {
        var u = Vector256.Create((byte)3); var s8 = Vector256.Create((sbyte)-5);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int i = 0; i < n; i++)
        {
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, u, s8); a1 = AvxVnni.MultiplyWideningAndAdd(a1, u, s8);
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, u, s8); a3 = AvxVnni.MultiplyWideningAndAdd(a3, u, s8);
            a4 = AvxVnni.MultiplyWideningAndAdd(a4, u, s8); a5 = AvxVnni.MultiplyWideningAndAdd(a5, u, s8);
            a6 = AvxVnni.MultiplyWideningAndAdd(a6, u, s8); a7 = AvxVnni.MultiplyWideningAndAdd(a7, u, s8);
        }
        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    }

    // The products read each accumulator (a dependency the JIT cannot hoist out of the loop, as it could a product
    // of constants); 12 chains of VPMADDWD + VPADDD latency (5-6 cycles) cover two issues per cycle.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)] // as Vnni256Loop
    private static Vector256<int> Madd256Loop(int n)
    {
        var b = Vector256.Create((short)1);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default,
            a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        for (int i = 0; i < n; i++)
        {
            a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(a0.AsInt16(), b)); a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(a1.AsInt16(), b));
            a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(a2.AsInt16(), b)); a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(a3.AsInt16(), b));
            a4 = Avx2.Add(a4, Avx2.MultiplyAddAdjacent(a4.AsInt16(), b)); a5 = Avx2.Add(a5, Avx2.MultiplyAddAdjacent(a5.AsInt16(), b));
            a6 = Avx2.Add(a6, Avx2.MultiplyAddAdjacent(a6.AsInt16(), b)); a7 = Avx2.Add(a7, Avx2.MultiplyAddAdjacent(a7.AsInt16(), b));
            a8 = Avx2.Add(a8, Avx2.MultiplyAddAdjacent(a8.AsInt16(), b)); a9 = Avx2.Add(a9, Avx2.MultiplyAddAdjacent(a9.AsInt16(), b));
            a10 = Avx2.Add(a10, Avx2.MultiplyAddAdjacent(a10.AsInt16(), b)); a11 = Avx2.Add(a11, Avx2.MultiplyAddAdjacent(a11.AsInt16(), b));
        }
        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    }

    public static int Sink;
}
