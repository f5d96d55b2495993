using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// fp32 gather-row recompute for the rows Algorithm 1 flagged: y[r] = sum_j w[rows[r]*k + j] * x[j], w being
/// the full fp32 weight matrix (row-major, k columns). rows may be empty, unordered or repeat an index.
/// Variants differ in summation order (each states its own); all are within gamma_k(2^-24) * sum|w||x| of
/// the exact value, and the scalar variant is the fixed-order (sequential, unfused) reference.
/// Each variant sums every row in exactly the order of the f32-gemm variant of the same Isa (F32GemmFamily),
/// so y[r] is bit-identical to that variant's output for row rows[r] and input vector x, whatever the row's
/// place in the list or the batch the gemm ran: the engine mixes the two (blocks through f32-gemm, batch-1
/// units and adaptive recompute through f32-gemv-rows) and fp32 results must not depend on which ran.
/// </summary>
public delegate void F32GemvRowsFn(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> rows, Span<float> y, int k);

/// <summary>The one variant list of the family (baseline first), read by the dispatcher, `ema selftest` and the
/// tests. Same Isa set and list order as F32GemmFamily.Variants, so KernelSelect.Best (last supported entry,
/// ForceGeneric and Allowed filters) picks the same Isa in both families on any CPU.</summary>
public sealed class F32GemvRowsFamily : IKernelFamily
{
    public static IReadOnlyList<KernelVariant<F32GemvRowsFn>> Variants { get; } =
    [
        new("f32-gemv-rows-scalar", Isa.Scalar, F32GemvRowsScalar.Run),
        new("f32-gemv-rows-8x4-vector128", Isa.Vector128, F32GemvRows8x4Vector128.Run),
        new("f32-gemv-rows-8x8-avx2", Isa.Avx2, F32GemvRows8x8Avx2.Run),
        // AVX-512F only; the Isa enum's one AVX-512 level is Avx512BW (in .NET 10 either implies the other).
        new("f32-gemv-rows-8x16-avx512f", Isa.Avx512BW, F32GemvRows8x16Avx512F.Run),
        new("f32-gemv-rows-8x4-advsimd", Isa.AdvSimd, F32GemvRows8x4AdvSimd.Run),
    ];

    public static F32GemvRowsFamily Instance { get; } = new();

    public string Name => "f32-gemv-rows";
    IReadOnlyList<(string Name, Isa Isa)> IKernelFamily.Variants { get; } = Variants.Select(v => (v.Name, v.Isa)).ToArray();
    public string Selected(KernelOptions options) => KernelSelect.Best(Variants, options).Name;

    public IEnumerable<SelfTestResult> SelfTest()
    {
        var pinned = F32GemvRowsGolden.VerifyPin();
        foreach (var v in Variants)
        {
            if (!v.Supported) continue;
            if (pinned is not null) { yield return new(Name, v.Name, v.Isa, false, pinned); continue; }
            var gemm = F32GemmFamily.Variants.FirstOrDefault(g => g.Isa == v.Isa);
            var failure = F32GemvRowsGolden.Check(v.Fn, bitExactToScalar: v.Isa == Isa.Scalar)
                ?? (gemm is null ? $"no f32-gemm variant for {v.Isa}" : F32GemvRowsGolden.CheckAgainstGemm(v.Fn, gemm.Fn, gemm.Name));
            yield return new(Name, v.Name, v.Isa, failure is null,
                failure ?? $"{F32GemvRowsGolden.Cases.Count} golden cases within gamma_k(2^-24)*sum|w||x|" + (v.Isa == Isa.Scalar ? ", bit-exact to the pinned order" : "")
                    + $", bit-identical to {gemm!.Name}");
        }
    }

    /// <summary>Per-call check, before any unchecked load: x holds k values, y one per listed row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(ReadOnlySpan<float> x, ReadOnlySpan<int> rows, Span<float> y, int k)
    {
        if (k < 0 || x.Length < k || y.Length < rows.Length)
            throw new ArgumentException($"f32-gemv-rows: k={k} needs x>={k} and y>={rows.Length} (rows listed); got x={x.Length} y={y.Length}");
    }

    /// <summary>Per-row check: row must lie wholly inside w, so the row's loads stay in [row*k, row*k + k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CheckRow(int row, int k, int wLength)
    {
        if (row < 0 || (long)row * k + k > wLength)
            throw new ArgumentOutOfRangeException(nameof(row), $"f32-gemv-rows: row {row} with k={k} lies outside w ({wLength} values)");
    }

    /// <summary>count (&lt; V) floats from src to dst: the k tail into a zero-padded V-wide buffer. A plain loop,
    /// not a memcpy helper call, so the row accumulators live in registers across it instead of being spilled
    /// to the stack on every step of the main loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Copy(ref float src, ref float dst, int count)
    {
        for (int t = 0; t < count; t++) Unsafe.Add(ref dst, t) = Unsafe.Add(ref src, t);
    }

    /// <summary>Horizontal sums in one stated order: a wide vector folds in halves (lower + upper) down to 128
    /// bits, then (e0 + e1) + (e2 + e3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum(Vector128<float> v) => (v.GetElement(0) + v.GetElement(1)) + (v.GetElement(2) + v.GetElement(3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum(Vector256<float> v) => Sum(v.GetLower() + v.GetUpper());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum(Vector512<float> v) => Sum(v.GetLower() + v.GetUpper());
}
