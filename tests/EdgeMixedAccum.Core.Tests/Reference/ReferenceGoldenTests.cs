using System.Text.Json;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Reference;

namespace EdgeMixedAccum.Tests.Reference;

/// <summary>
/// The reference ops against golden vectors computed independently with numpy in fp64
/// (tests/golden/make_reference_golden.py): fp64 must agree to rounding, fp32 within its budget.
/// </summary>
public class ReferenceGoldenTests
{
    /// <summary>fp64 vs numpy fp64: both sum in a different order, so a few ulps of the terms' scale.</summary>
    private const double Fp64Budget = 1e-12;
    /// <summary>fp32 vs fp64, relative to the largest output: inputs rounded to fp32 (softmax inputs reach
    /// ~90, carrying 90 x 2^-24 = 5e-6 absolute error into a relative error of the output) plus
    /// n x 2^-24 accumulation error on inner products of n &lt;= 28 O(1) terms.</summary>
    private const double Fp32Budget = 1e-5;

    public static TheoryData<string> Cases()
    {
        var d = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(Path.Combine(TestPaths.Golden, "reference")).Order())
            d.Add(Path.GetFileName(dir));
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fp64MatchesNumpy(string name) => Check<double>(name, Fp64Budget);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fp32MatchesNumpyWithinBudget(string name) => Check<float>(name, Fp32Budget);

    [Fact]
    public void EveryOpHasAGoldenCase()
    {
        var ops = Directory.GetDirectories(Path.Combine(TestPaths.Golden, "reference"))
            .Select(d => JsonDocument.Parse(File.ReadAllText(Path.Combine(d, "case.json"))).RootElement.GetProperty("op").GetString())
            .ToHashSet();
        foreach (var op in new[] { "Dense", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Softmax", "Concat" })
            Assert.Contains(op, ops);
    }

    private static void Check<T>(string name, double budget) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        string dir = Path.Combine(TestPaths.Golden, "reference", name);
        var attrs = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json"))).RootElement;
        RefTensor<T> Load(string n)
        {
            var a = NpyFile.Read(Path.Combine(dir, n + ".npy"));
            var d = a.AsSpan<double>();
            var t = new T[d.Length];
            for (int i = 0; i < d.Length; i++) t[i] = T.CreateChecked(d[i]);
            return new RefTensor<T>(a.Shape, t);
        }
        RefTensor<T>? Opt(string n) => File.Exists(Path.Combine(dir, n + ".npy")) ? Load(n) : null;
        int[] Ints(string key) => attrs.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var x = Load("x");
        var expected = NpyFile.Read(Path.Combine(dir, "y.npy"));
        string op = attrs.GetProperty("op").GetString()!;
        Activation act = attrs.TryGetProperty("activation", out var a) && a.GetString() == "Relu" ? Activation.Relu : Activation.Identity;
        RefTensor<T> y;
        switch (op)
        {
            case "Dense":
            {
                var w = Load("w");
                var node = new DenseNode { Name = name };
                var shape = node.InferShape([x.Shape, w.Shape]);
                y = ReferenceOps<T>.Dense(x, w, Opt("b"), act, shape);
                break;
            }
            case "Conv":
            {
                var w = Load("w"); var b = Opt("b");
                var node = new ConvNode { Name = name, Strides = Ints("strides"), Pads = Ints("pads"), Dilations = Ints("dilations"), Groups = attrs.GetProperty("group").GetInt32() };
                var shape = node.InferShape(b is null ? [x.Shape, w.Shape] : [x.Shape, w.Shape, b.Shape]);
                y = ReferenceOps<T>.Conv(x, w, b, node, act, shape);
                break;
            }
            case "MaxPool" or "AveragePool":
            {
                var node = new PoolNode(op == "MaxPool")
                {
                    Name = name, Kernel = Ints("kernel"), Strides = Ints("strides"), Pads = Ints("pads"), Dilations = Ints("dilations"),
                    CeilMode = attrs.GetProperty("ceil_mode").GetInt32() == 1, CountIncludePad = attrs.GetProperty("count_include_pad").GetInt32() == 1,
                };
                y = ReferenceOps<T>.Pool(x, node, node.InferShape([x.Shape]));
                break;
            }
            case "GlobalAveragePool":
                y = ReferenceOps<T>.GlobalAveragePool(x, new GlobalAveragePoolNode { Name = name }.InferShape([x.Shape]));
                break;
            case "Softmax":
                y = ReferenceOps<T>.Softmax(x, attrs.GetProperty("axis").GetInt32());
                break;
            case "Add":
            {
                var x2 = Load("x2");
                y = ReferenceOps<T>.Add(x, x2, new AddNode { Name = name }.InferShape([x.Shape, x2.Shape]));
                break;
            }
            case "Concat":
            {
                var x2 = Load("x2");
                int axis = attrs.GetProperty("axis").GetInt32();
                y = ReferenceOps<T>.Concat([x, x2], axis, new ConcatNode { Name = name, Axis = axis }.InferShape([x.Shape, x2.Shape]));
                break;
            }
            default: throw new InvalidOperationException($"golden case {name}: unknown op {op}");
        }
        Assert.Equal(expected.Shape, y.Shape);
        var want = expected.AsSpan<double>();
        double scale = 1;
        foreach (double v in want) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < want.Length; i++)
        {
            double got = double.CreateChecked(y.Data[i]);
            Assert.True(Math.Abs(got - want[i]) <= budget * scale, $"{name}[{i}]: got {got}, numpy {want[i]} (budget {budget} x {scale})");
        }
    }
}
