using EdgeMixedAccum.Benchmarks;

// ema-bench: the performance harnesses of docs/performance.md.
//   compare [--models a,b] [--batches 1,64] [--rounds N] [--out FILE.md] [--json FILE]   whole models vs ONNX Runtime
//   kernels [BenchmarkDotNet args]                                                         kernel micro-benchmarks
//   peak                                                                                   GOPS of large GEMV/GEMM against the measured peak
try
{
    return args.FirstOrDefault() switch
    {
        "compare" => ModelCompare.Run(args[1..]),
        "kernels" => RunKernels(args[1..]),
        "peak" => PeakProbe.Run(args[1..]),
        _ => Usage(),
    };
}
catch (Exception e) when (e is ArgumentException or FormatException or IOException or EdgeMixedAccum.EmaException)
{
    Console.Error.WriteLine($"ema-bench: {e.Message}");
    return 2;
}

static int RunKernels(string[] rest)
{
    BenchmarkDotNet.Running.BenchmarkRunner.Run<KernelBenchmarks>(args: rest);
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("usage: ema-bench compare|kernels|peak [options]   (docs/performance.md)");
    return 2;
}
