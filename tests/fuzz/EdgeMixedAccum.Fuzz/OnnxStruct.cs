using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Converters.Onnx.Proto;
using Google.Protobuf;

namespace EdgeMixedAccum.Fuzz;

/// <summary>
/// The `onnx-struct` target: structure-aware ONNX fuzzing. Byte-level mutations of a protobuf mostly break the
/// encoding and stop in the parser; here the input is a script of edits applied to a valid seed model (attribute
/// values, tensor dims, raw data lengths, op types, wiring, input shapes, removed or repeated nodes), so the
/// importer's passes see well-formed messages with hostile contents. The seeds are the valid models of
/// tests/fuzz/corpus/onnx (EMA_FUZZ_ONNX_SEEDS overrides the folder); the AFL seeds for this target are a few
/// short scripts (tests/fuzz/corpus/onnx-struct).
/// </summary>
internal static class OnnxStruct
{
    private static readonly ModelProto[] Seeds = LoadSeeds();

    private static ModelProto[] LoadSeeds()
    {
        string dir = Environment.GetEnvironmentVariable("EMA_FUZZ_ONNX_SEEDS") ?? Path.Combine("tests", "fuzz", "corpus", "onnx");
        var seeds = new List<ModelProto>();
        foreach (var f in Directory.EnumerateFiles(dir, "*.onnx").Order(StringComparer.Ordinal))
        {
            var bytes = File.ReadAllBytes(f);
            try { OnnxImporter.Import(bytes, f); } catch (EmaException) { continue; } // only models that import
            seeds.Add(ModelProto.Parser.ParseFrom(bytes));
        }
        if (seeds.Count == 0) throw new InvalidOperationException($"no importable ONNX seed in '{dir}'");
        return seeds.ToArray();
    }

    private static readonly long[] Special =
        [0, 1, -1, 2, 3, 4, 7, 8, 16, 64, 255, 256, 1 << 15, 1 << 16, 1 << 20, 1 << 30, int.MaxValue, int.MinValue, -2, -3,
         (long)int.MaxValue + 1, long.MaxValue, long.MinValue, 1L << 40, 65535, 127, 128, -128];

    private static long Value(byte z) => z < 128 ? Special[z % Special.Length] : z - 192;

    private static readonly float[] SpecialF = [0f, -0f, 1f, -1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity,
        float.MaxValue, float.Epsilon, 1e-40f, 65504f, 65520f, 0.5f, 1e30f];

    private static readonly string[] AttrNames =
        ["axis", "axes", "pads", "strides", "kernel_shape", "dilations", "group", "perm", "transA", "transB", "alpha",
         "beta", "epsilon", "ceil_mode", "count_include_pad", "keepdims", "value", "to", "min", "max", "auto_pad", "allowzero"];

    public static bool Run(byte[] script) => Build(script) is { } model && Targets.Onnx(model);

    /// <summary>The ONNX model a script makes (null for an empty script): what `dump` writes, for regression tests.</summary>
    public static byte[]? Build(byte[] script)
    {
        if (script.Length == 0) return null;
        var m = Seeds[script[0] % Seeds.Length].Clone();
        var g = m.Graph;
        for (int p = 1; p + 4 <= script.Length; p += 4)
        {
            byte op = script[p], x = script[p + 1], y = script[p + 2], z = script[p + 3];
            switch (op % 11)
            {
                case 0 when g.Node.Count > 0:
                {
                    var n = g.Node[x % g.Node.Count];
                    if (n.Attribute.Count == 0) break;
                    var a = n.Attribute[y % n.Attribute.Count];
                    if (a.Ints.Count > 0) a.Ints[z % a.Ints.Count] = Value(z); else a.I = Value(z);
                    break;
                }
                case 1 when g.Initializer.Count > 0:
                {
                    var t = g.Initializer[x % g.Initializer.Count];
                    if (t.Dims.Count > 0) t.Dims[y % t.Dims.Count] = Value(z); else t.Dims.Add(Value(z));
                    break;
                }
                case 2 when g.Initializer.Count > 0:
                {
                    var t = g.Initializer[x % g.Initializer.Count];
                    int len = t.RawData.Length;
                    int newLen = (y * 256 + z) % (len + 9);
                    var raw = new byte[newLen];
                    t.RawData.Span[..Math.Min(len, newLen)].CopyTo(raw);
                    t.RawData = ByteString.CopyFrom(raw);
                    break;
                }
                case 3 when g.Node.Count > 0:
                    g.Node[x % g.Node.Count].OpType = OnnxImporter.SupportedOps[z % OnnxImporter.SupportedOps.Count];
                    break;
                case 4 when g.Node.Count > 0:
                {
                    var n = g.Node[x % g.Node.Count];
                    var names = g.Node.SelectMany(k => k.Output).Concat(g.Input.Select(i => i.Name)).Concat(g.Initializer.Select(i => i.Name)).ToList();
                    string name = z % 17 == 16 ? "" : names[z % names.Count];
                    if (n.Input.Count > 0 && y % 5 != 4) n.Input[y % n.Input.Count] = name; else n.Input.Add(name);
                    break;
                }
                case 5 when g.Node.Count > 1:
                    g.Node.RemoveAt(x % g.Node.Count);
                    break;
                case 6 when g.Node.Count > 0:
                {
                    var n = g.Node[x % g.Node.Count].Clone();
                    for (int i = 0; i < n.Output.Count; i++) n.Output[i] = n.Output[i] + "_dup" + p;
                    n.Name += "_dup" + p;
                    g.Node.Insert(y % (g.Node.Count + 1), n);
                    break;
                }
                case 7 when g.Input.Count > 0:
                {
                    var dims = g.Input[x % g.Input.Count].Type?.TensorType?.Shape?.Dim;
                    if (dims is null) break;
                    if (dims.Count == 0 || y % 9 == 8) dims.Add(new TensorShapeProto.Types.Dimension { DimValue = Value(z) });
                    else dims[y % dims.Count].DimValue = Value(z);
                    break;
                }
                case 8 when g.Node.Count > 0:
                {
                    var n = g.Node[x % g.Node.Count];
                    if (n.Attribute.Count == 0) break;
                    var a = n.Attribute[y % n.Attribute.Count];
                    float f = SpecialF[z % SpecialF.Length];
                    if (a.Floats.Count > 0) a.Floats[z % a.Floats.Count] = f; else a.F = f;
                    break;
                }
                case 9 when g.Node.Count > 0:
                {
                    var n = g.Node[x % g.Node.Count];
                    var a = new AttributeProto { Name = AttrNames[y % AttrNames.Length] };
                    int count = z % 5;
                    if (count == 0) { a.Type = AttributeProto.Types.AttributeType.Int; a.I = Value(z); }
                    else { a.Type = AttributeProto.Types.AttributeType.Ints; for (int i = 0; i < count; i++) a.Ints.Add(Value((byte)(z + 37 * i))); }
                    n.Attribute.Add(a);
                    break;
                }
                case 10 when g.Initializer.Count > 0:
                {
                    // A typed-field tensor in place of raw data (or the other way round).
                    var t = g.Initializer[x % g.Initializer.Count];
                    t.RawData = ByteString.Empty;
                    t.FloatData.Clear();
                    for (int i = 0; i < z % 9; i++) t.FloatData.Add(SpecialF[(y + i) % SpecialF.Length]);
                    break;
                }
            }
        }
        return m.ToByteArray();
    }
}
