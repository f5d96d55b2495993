using BenchmarkDotNet.Attributes;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Benchmarks;

/// <summary>
/// BenchmarkDotNet over every supported variant of the int8 and fp32 GEMV/GEMM families, at the shapes of the
/// fixtures' first Dense layer (256 x 784) and a large square layer (1024 x 1024), batch 1 and 64
/// (`ema-bench kernels`; `ema-bench peak` prints the same kernels as GOPS against the measured peak).
/// </summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    [Params("256x784", "1024x1024")] public string Shape { get; set; } = "256x784";
    [Params(1, 64)] public int N { get; set; }

    private KernelData _d = null!;

    [GlobalSetup]
    public void Setup() => _d = new KernelData(Shape, N);

    public static IEnumerable<string> I8GemmVariants => I8GemmFamily.Variants.Where(v => v.Supported && v.Isa != Isa.Scalar).Select(v => v.Name);
    public static IEnumerable<string> F32GemmVariants => F32GemmFamily.Variants.Where(v => v.Supported && v.Isa != Isa.Scalar).Select(v => v.Name);

    [Benchmark(Description = "i8-gemv (best) x N")]
    public void I8Gemv() => _d.I8GemvN(KernelSelect.Best(I8GemvFamily.Variants).Fn);

    [Benchmark(Description = "i8-gemm (best)")]
    public void I8Gemm() => _d.I8Gemm(KernelSelect.Best(I8GemmFamily.Variants).Fn);

    [Benchmark(Description = "f32-gemv-rows (best) x N")]
    public void F32Rows() => _d.F32RowsN(KernelSelect.Best(F32GemvRowsFamily.Variants).Fn);

    [Benchmark(Description = "f32-gemm (best)")]
    public void F32Gemm() => _d.F32Gemm(KernelSelect.Best(F32GemmFamily.Variants).Fn);
}

/// <summary>Seeded operands of one shape, shared by BenchmarkDotNet and the peak report.</summary>
internal sealed class KernelData
{
    public readonly int Rows, K, N;
    private readonly sbyte[] _wq, _xq;
    private readonly float[] _w, _x, _y;
    private readonly int[] _dot, _all;

    public KernelData(string shape, int n)
    {
        var parts = shape.Split('x');
        Rows = int.Parse(parts[0]); K = int.Parse(parts[1]); N = n;
        var rng = new Random(42);
        _wq = new sbyte[Rows * K]; _xq = new sbyte[n * K];
        foreach (ref var v in _wq.AsSpan()) v = (sbyte)rng.Next(-127, 128);
        foreach (ref var v in _xq.AsSpan()) v = (sbyte)rng.Next(-127, 128);
        _w = new float[Rows * K]; _x = new float[n * K];
        foreach (ref var v in _w.AsSpan()) v = (float)(rng.NextDouble() - 0.5);
        foreach (ref var v in _x.AsSpan()) v = (float)(rng.NextDouble() - 0.5);
        _y = new float[n * Rows]; _dot = new int[n * Rows];
        _all = Enumerable.Range(0, Rows).ToArray();
    }

    public double Ops => 2.0 * Rows * K * N;

    public void I8GemvN(I8GemvFn f)
    {
        for (int s = 0; s < N; s++) f(_wq, _xq.AsSpan(s * K, K), _dot.AsSpan(s * Rows, Rows), default, Rows, K);
    }

    public void I8Gemm(I8GemmFn f) => f(_wq, _xq, _dot, Rows, K, N);

    public void F32RowsN(F32GemvRowsFn f)
    {
        for (int s = 0; s < N; s++) f(_w, _x.AsSpan(s * K, K), _all, _y.AsSpan(s * Rows, Rows), K);
    }

    public void F32Gemm(F32GemmFn f) => f(_w, _x, _y, Rows, K, N);
}
