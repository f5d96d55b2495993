using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using static EdgeMixedAccum.Tests.Format.CorruptFiles;
using RawAttr = EdgeMixedAccum.Tests.Format.RawFile.RawAttr;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>
/// Semantic corruption inside META, GRAPH and TENSORS. Each case changes one field of an otherwise valid file
/// (with correct CRCs, lengths and layout), so the check under test is the one that fires; the expected offset
/// is the one recorded by the test-side encoder for that field.
/// </summary>
/// <remarks>Small(): values 0 x [N,4], 1 w1, 2 b1, 3 fc1:out, 4 leaky:out, 5 w2, 6 fc2:out, 7 prob:out;
/// nodes 0 fc1 (Dense, int8 W, bias, i8), 1 leaky (Activation), 2 fc2 (Dense, fp32 W, f32), 3 prob (Softmax);
/// tensors 0 w1 int8 [3, 4], 1 b1 fp32 [3], 2 w2 fp32 [2, 3].</remarks>
public class SectionCorruptionTests
{
    /// <summary>Patches the raw fields and expects an error in <paramref name="section"/> at field
    /// <paramref name="at"/> (+ <paramref name="delta"/>) mentioning <paramref name="what"/>.</summary>
    private static EmaFormatException Bad(Action<RawFile> patch, string section, string? at, string what, int delta = 0, EmaModel? model = null)
    {
        var enc = Patched(model ?? Small(), patch);
        return AssertCorrupt(enc.Bytes, section, at is null ? null : enc[at] + delta, what);
    }

    /// <summary>Patches the encoded bytes (then re-fixes the CRCs).</summary>
    private static EmaFormatException BadBytes(Action<RawFile.Encoded> patch, string section, Func<RawFile.Encoded, long>? at, string what, EmaModel? model = null)
    {
        var enc = RawFile.From(model ?? Small()).Encode();
        patch(enc);
        RawFile.FixCrcs(enc.Bytes);
        return AssertCorrupt(enc.Bytes, section, at?.Invoke(enc), what);
    }

    [Fact]
    public void Unpatched_Reads()
    {
        ModelAssert.Equivalent(Small(), EmaReader.Read(RawFile.From(Small()).Encode().Bytes));
        ModelAssert.Equivalent(Conv(), EmaReader.Read(RawFile.From(Conv()).Encode().Bytes));
    }

    // ================================================================ TENSORS

    [Theory]
    [InlineData(new[] { 1 << 30, 1 << 30 }, "more than 2147483648 elements")]
    [InlineData(new[] { 65536, 65536, 0 }, "more than 2147483648 elements")]
    [InlineData(new[] { -1, 3 }, "negative")]
    [InlineData(new[] { 2, -3 }, "negative")]
    [InlineData(new[] { int.MinValue, 3 }, "negative")]
    [InlineData(new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, "exceeds the limit 8")]
    public void Tensors_AbsurdShape(int[] shape, string what)
        => Bad(r => r.Tensors[2].Shape = shape, "TENSORS", "TENSORS.tensor[2].shape", what);

    [Fact]
    public void Tensors_Rank100()
        => Bad(r => r.Tensors[2].Shape = Enumerable.Repeat(1, 100).ToArray(), "TENSORS", "TENSORS.tensor[2].shape", "100 exceeds the limit 8");

    [Fact]
    public void Tensors_RankCountInflated()
        => BadBytes(e => RawFile.SetU32(e.Bytes, e["TENSORS.tensor[2].shape"], uint.MaxValue), "TENSORS",
            e => e["TENSORS.tensor[2].shape"], "4294967295 exceeds the limit 8");

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(255)]
    public void Tensors_UnknownDType(byte dtype)
        => Bad(r => r.Tensors[1].DType = dtype, "TENSORS", "TENSORS.tensor[1].dtype", $"unknown dtype code {dtype}");

    [Fact]
    public void Tensors_DTypeChangedSoTheLengthNoLongerFits()
        => Bad(r => r.Tensors[2].DType = 2, "TENSORS", "TENSORS.tensor[2].data", "data length 24 does not match", delta: 8);

    [Fact]
    public void Tensors_DataLengthMismatch()
    {
        Bad(r => r.Tensors[2].DataLen += 1, "TENSORS", "TENSORS.tensor[2].data", "does not match shape", delta: 8);
        Bad(r => r.Tensors[2].DataLen = ulong.MaxValue, "TENSORS", "TENSORS.tensor[2].data", "does not match shape", delta: 8);
    }

    [Fact]
    public void Tensors_DataOffset()
    {
        Bad(r => r.Tensors[2].DataOff += 4, "TENSORS", "TENSORS.tensor[2].data", "not a multiple of 64");
        Bad(r => r.Tensors[2].DataOff = (ulong)r.Data.Length, "TENSORS", "TENSORS.tensor[2].data", "lies outside the DATA section");
        Bad(r => r.Tensors[2].DataOff = ulong.MaxValue - 63, "TENSORS", "TENSORS.tensor[2].data", "lies outside the DATA section");
    }

    [Fact]
    public void Tensors_Scales()
    {
        // Int8 [3, 4] needs 3 scales.
        Bad(r => r.Tensors[0].ScaleCount = 2, "TENSORS", "TENSORS.tensor[0].scales", "2 scales, expected 3", delta: 8);
        Bad(r => r.Tensors[0].ScaleCount = uint.MaxValue, "TENSORS", "TENSORS.tensor[0].scales", "expected 3", delta: 8);
        Bad(r => r.Tensors[0].ScalesOff += 32, "TENSORS", "TENSORS.tensor[0].scales", "not a multiple of 64");
        Bad(r => r.Tensors[0].ScalesOff = (ulong)r.Data.Length, "TENSORS", "TENSORS.tensor[0].scales", "outside the DATA section");
        // fp32 tensors have none.
        Bad(r => r.Tensors[2].ScaleCount = 2, "TENSORS", "TENSORS.tensor[2].scales", "2 scales, expected 0", delta: 8);
        Bad(r => r.Tensors[2].ScalesOff = 64, "TENSORS", "TENSORS.tensor[2].scales", "given without scales");
    }

    [Fact]
    public void Tensors_RowStatistics()
    {
        Bad(r => r.Tensors[2].RowCount = 3, "TENSORS", "TENSORS.tensor[2].rows", "3 row statistics, expected 2", delta: 16);
        Bad(r => r.Tensors[1].RowCount = 3, "TENSORS", "TENSORS.tensor[1].rows", "3 row statistics, expected 0", delta: 16);
        Bad(r => r.Tensors[1].L1Off = 64, "TENSORS", "TENSORS.tensor[1].rows", "row statistics offsets given for a tensor of rank 1");
        Bad(r => r.Tensors[1].L2Off = 64, "TENSORS", "TENSORS.tensor[1].rows", "row statistics offsets given");
        Bad(r => r.Tensors[2].L1Off += 8, "TENSORS", "TENSORS.tensor[2].rows", "row L1 offset");
        Bad(r => r.Tensors[2].L2Off = (ulong)r.Data.Length, "TENSORS", "TENSORS.tensor[2].rows", "row L2", delta: 8);
    }

    private static void PatchData(RawFile r, int tensor, Func<RawFile.RawTensor, ulong> off, byte[] bytes)
    {
        var t = r.Tensors[tensor];
        bytes.CopyTo(r.Data, (int)off(t));
    }

    [Fact]
    public void Tensors_Int8Minus128()
        => Bad(r => PatchData(r, 0, t => t.DataOff + 5, [0x80]), "TENSORS", "TENSORS.tensor[0]", "int8 element 5 is -128");

    [Theory]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Tensors_BadScale(float scale)
        => Bad(r => PatchData(r, 0, t => t.ScalesOff + 4, BitConverter.GetBytes(scale)), "TENSORS", "TENSORS.tensor[0]", "is not finite and >= 0");

    [Fact]
    public void Tensors_NegativeZeroScale_IsAccepted()
    {
        var enc = Patched(Small(), r => PatchData(r, 0, t => t.ScalesOff, BitConverter.GetBytes(-0f)));
        Assert.Equal(-0f, EmaReader.Read(enc.Bytes).Graph.Tensors[0].Scales[0]);
    }

    [Theory]
    [InlineData(0, -1f)]
    [InlineData(0, float.NaN)]
    [InlineData(4, float.NaN)]
    [InlineData(4, float.NegativeInfinity)]
    public void Tensors_BadRowNorms(int which, float value)
        => Bad(r => PatchData(r, 2, t => (which == 0 ? t.L1Off : t.L2Off) + 4, BitConverter.GetBytes(value)), "TENSORS", "TENSORS.tensor[2]",
            which == 0 ? "row L1 norm" : "row L2 norm");

    [Fact]
    public void Tensors_OverlappingBlobs()
    {
        // w2's data [24 bytes] placed on w1's row L1 blob [12 bytes]: the longer, later-sorted blob is named.
        var e = Bad(r => r.Tensors[2].DataOff = r.Tensors[0].L1Off, "TENSORS", "TENSORS.tensor[2].data", "overlaps tensor 0 'w1' row L1");
        Assert.Contains("tensor 2 'w2' data", e.Message);
        // Two tensors sharing the very same blob is an overlap too.
        Bad(r => r.Tensors[0].L2Off = r.Tensors[0].L1Off, "TENSORS", null, "overlaps");
    }

    [Fact]
    public void Tensors_Count()
    {
        BadBytes(e => RawFile.SetU32(e.Bytes, e["TENSORS.count"], uint.MaxValue), "TENSORS", e => e["TENSORS.count"], "tensor count 4294967295 exceeds the limit 65536");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["TENSORS.count"], 65536), "TENSORS", e => e["TENSORS.count"], "needs at least");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["TENSORS.count"], 4), "TENSORS", null, "needs");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["TENSORS.count"], 2), "TENSORS", e => e["TENSORS.tensor[2]"], "trailing");
    }

    [Fact]
    public void Tensors_Names()
    {
        BadBytes(e => RawFile.SetU32(e.Bytes, e["TENSORS.tensor[1]"], uint.MaxValue), "TENSORS", e => e["TENSORS.tensor[1]"], "length 4294967295 exceeds the limit 65536");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["TENSORS.tensor[1]"], 65537), "TENSORS", e => e["TENSORS.tensor[1]"], "exceeds the limit 65536");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["TENSORS.tensor[1]"], 65536), "TENSORS", e => e["TENSORS.tensor[1]"] + 4, "needs 65536 bytes");
        // "b1": an incomplete two-byte UTF-8 sequence instead of '1'.
        BadBytes(e => e.Bytes[e["TENSORS.tensor[1]"] + 5] = 0xC3, "TENSORS", e => e["TENSORS.tensor[1]"], "not valid UTF-8");
    }

    [Fact]
    public void Tensors_InvalidUtf8Sequences()
    {
        // An overlong '/', the start of a surrogate (ED A0), and bytes that never occur in UTF-8.
        foreach (var seq in new byte[][] { [0xC0, 0xAF], [0xED, 0xA0], [0xFF, 0xFE] })
            BadBytes(e => seq.CopyTo(e.Bytes, e["TENSORS.tensor[1]"] + 4), "TENSORS", e => e["TENSORS.tensor[1]"], "not valid UTF-8");
    }

    // ================================================================ GRAPH

    [Fact]
    public void Graph_Counts()
    {
        BadBytes(e => RawFile.SetU32(e.Bytes, e["GRAPH.values"], uint.MaxValue), "GRAPH", e => e["GRAPH.values"], "value count 4294967295 exceeds the limit 131072");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["GRAPH.values"], 131072), "GRAPH", e => e["GRAPH.values"], "needs at least");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["GRAPH.inputs"], uint.MaxValue), "GRAPH", e => e["GRAPH.inputs"], "graph input count 4294967295 exceeds the limit 8");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["GRAPH.outputs"], 9), "GRAPH", e => e["GRAPH.outputs"], "exceeds the limit 8");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["GRAPH.nodes"], uint.MaxValue), "GRAPH", e => e["GRAPH.nodes"], "node count 4294967295 exceeds the limit 65536");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["GRAPH.nodes"], 65536), "GRAPH", e => e["GRAPH.nodes"], "needs at least");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["GRAPH.nodes"], 5), "GRAPH", e => e["GRAPH.end"], "needs");
        BadBytes(e => RawFile.SetU16(e.Bytes, e["GRAPH.node[3].attrs"], ushort.MaxValue), "GRAPH", null, "needs");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["GRAPH.value[0]"], uint.MaxValue), "GRAPH", e => e["GRAPH.value[0]"], "value 0 name length 4294967295");
    }

    [Fact]
    public void Graph_AttributeValueCount()
    {
        // The softmax 'axis' ints: name "axis" (4 + 4 bytes), type (1), then the count.
        BadBytes(e => RawFile.SetU32(e.Bytes, e["GRAPH.node[3].attr[0]"] + 9, uint.MaxValue), "GRAPH", e => e["GRAPH.node[3].attr[0]"] + 9, "exceeds the limit 64");
        Bad(r => r.Nodes[3].Attrs[0] = RawAttr.I("axis", new int[65]), "GRAPH", "GRAPH.node[3].attr[0]", "exceeds the limit 64", delta: 9);
    }

    [Fact]
    public void Graph_InputAndOutputIdsOutOfRange()
    {
        Bad(r => r.Inputs[0] = 8, "GRAPH", "GRAPH.input[0]", "graph input id 8 is out of range (0..7)");
        Bad(r => r.Inputs[0] = uint.MaxValue, "GRAPH", "GRAPH.input[0]", "graph input id 4294967295 is out of range");
        Bad(r => r.Outputs[0] = 8, "GRAPH", "GRAPH.output[0]", "graph output id 8 is out of range");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(-2)]
    [InlineData(int.MinValue)]
    public void Graph_ConstantIndexOutOfRange(int constant)
        => Bad(r => r.Values[5].Constant = constant, "GRAPH", "GRAPH.value[5].constant", $"constant index {constant} is outside -1..2");

    [Theory]
    [InlineData(0)]
    [InlineData(14)] // the first code after Transpose (format 1.1)
    [InlineData(255)]
    public void Graph_UnknownOpCode(byte op)
        => Bad(r => r.Nodes[2].Op = op, "GRAPH", "GRAPH.node[2]", $"node 2: unknown op code {op}");

    [Fact]
    public void Graph_ArityViolations()
    {
        Bad(r => r.Nodes[3].Inputs = [6, 6], "GRAPH", "GRAPH.node[3].inputs", "has 2 inputs, expects 1..1");
        Bad(r => r.Nodes[3].Inputs = [], "GRAPH", "GRAPH.node[3].inputs", "has 0 inputs, expects 1..1");
        Bad(r => r.Nodes[2].Inputs = [4], "GRAPH", "GRAPH.node[2].inputs", "has 1 inputs, expects 2..3");
        Bad(r => r.Nodes[2].Inputs = [4, 5, 2, 2], "GRAPH", "GRAPH.node[2].inputs", "has 4 inputs, expects 2..3");
        // Concat: 1..64 inputs; Add: exactly 2 (in the conv model, node 6 is Concat and node 7 Add).
        var conv = Conv();
        Bad(r => r.Nodes[6].Inputs = Enumerable.Repeat(r.Nodes[6].Inputs[0], 65).ToArray(), "GRAPH", "GRAPH.node[6].inputs", "has 65 inputs, expects 1..64", model: conv);
        Bad(r => r.Nodes[6].Inputs = [], "GRAPH", "GRAPH.node[6].inputs", "has 0 inputs", model: conv);
        Bad(r => r.Nodes[7].Inputs = [r.Nodes[7].Inputs[0]], "GRAPH", "GRAPH.node[7].inputs", "has 1 inputs, expects 2..2", model: conv);
    }

    [Fact]
    public void Graph_ValueIdsOutOfRange()
    {
        Bad(r => r.Nodes[3].Inputs = [8], "GRAPH", "GRAPH.node[3]", "value id 8 is out of range");
        Bad(r => r.Nodes[3].Inputs = [-1], "GRAPH", "GRAPH.node[3]", "value id -1 is out of range");
        Bad(r => r.Nodes[3].Output = 8, "GRAPH", "GRAPH.node[3]", "output: value id 8 is out of range");
        Bad(r => r.Nodes[0].Inputs = [0, 1000, 2], "GRAPH", "GRAPH.node[0]", "value id 1000 is out of range");
    }

    [Fact]
    public void Graph_UsedBeforeProduced()
    {
        Bad(r => r.Nodes[1].Inputs = [6], "GRAPH", "GRAPH.node[1]", "reads value 'fc2:out' before it is produced");
        Bad(r => (r.Nodes[1], r.Nodes[2]) = (r.Nodes[2], r.Nodes[1]), "GRAPH", "GRAPH.node[1]", "reads value 'leaky:out' before it is produced");
    }

    [Fact]
    public void Graph_ProducedTwice()
    {
        Bad(r => r.Nodes[3].Output = 6, "GRAPH", "GRAPH.node[3]", "output 'fc2:out' is already produced elsewhere");
        Bad(r => r.Nodes[3].Output = 5, "GRAPH", "GRAPH.node[3]", "output 'w2' is already produced");
        Bad(r => r.Nodes[3].Output = 0, "GRAPH", "GRAPH.node[3]", "output 'x' is already produced");
    }

    [Fact]
    public void Graph_OutputShapeDisagreesWithInference()
    {
        Bad(r => r.Values[7].Shape = [-1, 3], "GRAPH", "GRAPH.node[3]", "declared [N, 3] but infers to [N, 2]");
        Bad(r => r.Values[3].Shape = [2, 3], "GRAPH", "GRAPH.node[0]", "declared [2, 3] but infers to [N, 3]");
        // The input itself changed: every shape downstream disagrees; the first node is named.
        Bad(r => r.Values[0].Shape = [-1, 5], "GRAPH", "GRAPH.node[0]", "does not end in K = 4");
    }

    [Fact]
    public void Graph_UnknownActivationCode()
    {
        Bad(r => r.Nodes[0].Layer!.Act = 9, "GRAPH", "GRAPH.node[0].layer", "unknown activation code 9");
        Bad(r => r.Nodes[0].Layer!.Act = 255, "GRAPH", "GRAPH.node[0].layer", "unknown activation code 255");
        // Stand-alone: the attribute is rejected.
        Bad(r => r.Nodes[1].Attrs[0] = RawAttr.I("activation", 9), "GRAPH", "GRAPH.node[1].attr[0]", "attribute 'activation' (ints, 1 values) is not valid");
        Bad(r => r.Nodes[1].Attrs[0] = RawAttr.I("activation", 257), "GRAPH", "GRAPH.node[1].attr[0]", "is not valid");
        Bad(r => r.Nodes[1].Attrs[0] = RawAttr.I("activation", -255), "GRAPH", "GRAPH.node[1].attr[0]", "is not valid");
        Bad(r => r.Nodes[1].Attrs[1] = RawAttr.F("params", 0, 1), "GRAPH", "GRAPH.node[1].attr[1]", "attribute 'params' (floats, 2 values)");
    }

    [Fact]
    public void Graph_BadLayerBlock()
    {
        Bad(r => r.Nodes[0].Layer!.Tau = float.NaN, "GRAPH", "GRAPH.node[0].layer", "tau must be >= 0");
        Bad(r => r.Nodes[0].Layer!.Tau = -0.5f, "GRAPH", "GRAPH.node[0].layer", "tau must be >= 0");
        Bad(r => r.Nodes[0].Layer!.TauNeg = float.NaN, "GRAPH", "GRAPH.node[0].layer", "tau_negative");
        Bad(r => r.Nodes[0].Layer!.Prec = 3, "GRAPH", "GRAPH.node[0].layer", "unknown precision code 3");
        Bad(r => r.Nodes[0].Layer!.Est = 3, "GRAPH", "GRAPH.node[0].layer", "unknown estimator code 3");
        Bad(r => r.Nodes[0].Layer!.Block = 0, "GRAPH", "GRAPH.node[0].layer", "block size 0");
        Bad(r => r.Nodes[2].Layer!.Block = 16, "GRAPH", "GRAPH.node[2].layer", "block size 16");
        Bad(r => r.Nodes[0].Layer!.Scale = float.NaN, "GRAPH", "GRAPH.node[0].layer", "input scale");
        Bad(r => r.Nodes[0].Layer!.Reserved = 1, "GRAPH", "GRAPH.node[0].layer", "reserved byte is 1", delta: 3);
        // Activation parameters are checked by the graph validation, at the node.
        Bad(r => r.Nodes[0].Layer!.Alpha = float.NaN, "GRAPH", "GRAPH.node[0]", "alpha");
        Bad(r => { r.Nodes[0].Layer!.Act = 2; r.Nodes[0].Layer!.Min = 1; r.Nodes[0].Layer!.Max = 0; }, "GRAPH", "GRAPH.node[0]", "not ordered");
    }

    [Fact]
    public void Graph_PrecisionAndWeightType()
    {
        Bad(r => r.Nodes[2].Layer!.Prec = 1, "GRAPH", "GRAPH.node[2]", "i8 precision needs int8 weights, found Float32");
        Bad(r => r.Nodes[2].Layer!.Prec = 2, "GRAPH", "GRAPH.node[2]", "f16acc precision needs fp16 weights, found Float32");
        Bad(r => r.Nodes[0].Layer!.Prec = 2, "GRAPH", "GRAPH.node[0]", "f16acc precision needs fp16 weights, found Int8");
        // f32 takes any weight type: the int8 layer read as f32 is valid.
        var read = EmaReader.Read(Patched(Small(), r => r.Nodes[0].Layer!.Prec = 0).Bytes);
        Assert.Equal(Precision.F32, ((LayerNode)read.Graph.Nodes[0]).Plan.Precision);
    }

    [Fact]
    public void Graph_WeightsAndBiases()
    {
        Bad(r => r.Nodes[2].Inputs = [4, 3], "GRAPH", "GRAPH.node[2]", "weight must be a constant");
        Bad(r => r.Nodes[2].Inputs = [4, 5, 3], "GRAPH", "GRAPH.node[2]", "bias must be a constant");
        Bad(r => r.Nodes[2].Inputs = [4, 5, 1], "GRAPH", "GRAPH.node[2]", "bias must be stored as fp32");
        Bad(r => r.Nodes[2].Inputs = [4, 5, 2], "GRAPH", "GRAPH.node[2]", "bias shape [3] is not [2]");
    }

    [Fact]
    public void Graph_Attributes()
    {
        Bad(r => r.Nodes[3].Attrs.Add(RawAttr.I("axis", 1)), "GRAPH", "GRAPH.node[3].attr[1]", "attribute 'axis' appears twice");
        Bad(r => r.Nodes[3].Attrs[0] = new RawAttr { Name = "axis", Type = 3 }, "GRAPH", "GRAPH.node[3].attr[0]", "unknown type 3");
        Bad(r => r.Nodes[3].Attrs[0] = RawAttr.I("axes", -1), "GRAPH", "GRAPH.node[3].attr[0]", "attribute 'axes' (ints, 1 values) is not valid");
        Bad(r => r.Nodes[3].Attrs[0] = RawAttr.F("axis", -1), "GRAPH", "GRAPH.node[3].attr[0]", "(floats, 1 values) is not valid");
        Bad(r => r.Nodes[3].Attrs[0] = RawAttr.I("axis", 1, 1), "GRAPH", "GRAPH.node[3].attr[0]", "(ints, 2 values) is not valid");
        Bad(r => r.Nodes[0].Attrs.Add(RawAttr.I("group", 1)), "GRAPH", "GRAPH.node[0].attr[0]", "attribute 'group'");
        Bad(r => r.Nodes[3].Attrs[0] = RawAttr.I("axis", 2), "GRAPH", "GRAPH.node[3]", "axis 2 out of range");
    }

    [Fact]
    public void Graph_PoolAndConvAttributes()
    {
        var conv = Conv(); // nodes: 0 conv, 1 max, 2 avg, 3 gap, 4 flat, 5 reshape, 6 cat, 7 add, 8 fc
        Bad(r => r.Nodes[1].Attrs.RemoveAll(a => a.Name == "kernel"), "GRAPH", "GRAPH.node[1]", "required attribute 'kernel' is missing", model: conv);
        Bad(r => r.Nodes[1].Attrs[4] = RawAttr.I("ceil_mode", 2), "GRAPH", "GRAPH.node[1].attr[4]", "'ceil_mode'", model: conv);
        Bad(r => r.Nodes[1].Attrs.Add(RawAttr.I("count_include_pad", 1)), "GRAPH", "GRAPH.node[1].attr[5]", "'count_include_pad'", model: conv);
        Bad(r => r.Nodes[2].Attrs[5] = RawAttr.I("count_include_pad", -1), "GRAPH", "GRAPH.node[2].attr[5]", "'count_include_pad'", model: conv);
        Bad(r => r.Nodes[0].Attrs[0] = RawAttr.I("strides", 1, 1, 1), "GRAPH", "GRAPH.node[0]", "strides [1, 1, 1] must have 2 entries", model: conv);
        Bad(r => r.Nodes[0].Attrs[3] = RawAttr.I("group", 3), "GRAPH", "GRAPH.node[0]", "divisible by groups 3", model: conv);
        Bad(r => r.Nodes[0].Attrs[3] = RawAttr.I("group", 0), "GRAPH", "GRAPH.node[0]", "groups must be >= 1", model: conv);
        Bad(r => r.Nodes[0].Attrs[1] = RawAttr.I("pads", 0, 0, -1, 0), "GRAPH", "GRAPH.node[0]", "pads", model: conv);
        Bad(r => r.Nodes[1].Attrs[0] = RawAttr.I("kernel", 9, 9), "GRAPH", "GRAPH.node[1]", "kernel extent 9 exceeds", model: conv);
        Bad(r => r.Nodes[5].Attrs[0] = RawAttr.I("shape", -1, -1), "GRAPH", "GRAPH.node[5]", "more than one -1", model: conv);
        Bad(r => r.Nodes[4].Attrs[0] = RawAttr.I("axis", 9), "GRAPH", "GRAPH.node[4]", "axis 9 out of range", model: conv);
    }

    [Fact]
    public void Graph_ReshapeNeedsItsShapeAttribute()
    {
        // x [1, 1] reshaped to a scalar: an explicit empty 'shape' is valid, a missing one is not (it is required).
        var b = new GraphBuilder();
        b.Output(b.Reshape(b.Input("x", 1, 1), [], "scalar"));
        var model = new EmaModel(new ModelMetadata(), b.Graph);
        ModelAssert.Equivalent(model, EmaReader.Read(EmaWriter.ToBytes(model)));
        Bad(r => r.Nodes[0].Attrs.Clear(), "GRAPH", "GRAPH.node[0]", "required attribute 'shape' is missing", model: model);
    }

    /// <summary>Dims that overflow an int in shape inference are a format error, not an OverflowException.</summary>
    [Fact]
    public void Graph_OverflowingDims()
    {
        const int Max = int.MaxValue;
        var conv = Conv();
        Bad(r => r.Nodes[0].Attrs[1] = RawAttr.I("pads", Max, Max, Max, Max), "GRAPH", "GRAPH.node[0]", "exceeds", model: conv);
        Bad(r => r.Nodes[1].Attrs[2] = RawAttr.I("pads", Max, Max, Max, Max), "GRAPH", "GRAPH.node[1]", "exceeds", model: conv);
        Bad(r => r.Nodes[5].Attrs[0] = RawAttr.I("shape", Max, Max, Max, Max, Max, Max, Max, Max), "GRAPH", "GRAPH.node[5]", "more than", model: conv);

        // x [2, 2^30] (2^31 elements, a legal value) flattened at axis 0 would need a dim of 2^31.
        var g = new ModelGraph();
        g.Inputs.Add(g.AddValue("x", [2, 1 << 30]));
        g.Outputs.Add(g.AddValue("y", [1, Max]));
        g.Nodes.Add(new FlattenNode { Name = "flat", Axis = 0, Inputs = [0], Output = 1 });
        var enc = RawFile.From(new EmaModel(new ModelMetadata(), g)).Encode();
        // Since issue 8 the reader refuses x itself first (2^31 elements break Limits.MaxTensorElements); the graph's
        // own overflow check behind it still holds for graphs built in memory.
        AssertCorrupt(enc.Bytes, "GRAPH", enc["GRAPH.value[0].shape"], "Limits.MaxTensorElements");
        Assert.Contains("exceeds", Assert.ThrowsAny<EmaException>(() => g.Validate()).Message);

        g = new ModelGraph();
        g.Inputs.Add(g.AddValue("x", [1, 1 << 30]));
        g.Outputs.Add(g.AddValue("y", [1, Max]));
        g.Nodes.Add(new ConcatNode { Name = "cat", Axis = 1, Inputs = [0, 0], Output = 1 });
        enc = RawFile.From(new EmaModel(new ModelMetadata(), g)).Encode();
        AssertCorrupt(enc.Bytes, "GRAPH", enc["GRAPH.value[0].shape"], "Limits.MaxTensorElements");
        Assert.Contains("exceeds", Assert.ThrowsAny<EmaException>(() => g.Validate()).Message);
    }

    /// <summary>Value shapes are checked where they are stored.</summary>
    [Theory]
    [InlineData(3, new[] { 1 << 30, 1 << 30 }, "more than 2147483648 elements")]
    [InlineData(3, new[] { -1, -1 }, "dimension 1 of [N, N] is negative")]
    [InlineData(3, new[] { 3, -7 }, "negative")]
    [InlineData(5, new[] { -1, 3 }, "negative")] // a constant cannot have the symbolic batch
    public void Graph_AbsurdValueShapes(int value, int[] shape, string what)
        => Bad(r => r.Values[value].Shape = shape, "GRAPH", $"GRAPH.value[{value}].shape", what);

    [Fact]
    public void Graph_ValueRank100()
        => Bad(r => r.Values[3].Shape = new int[100], "GRAPH", "GRAPH.value[3].shape", "100 exceeds the limit 8");

    [Fact]
    public void Graph_GraphLevelErrors_AreReportedAtTheSectionStart()
    {
        Bad(r => r.Values[4].Name = "x", "GRAPH", "GRAPH", "name 'x' is used twice");
        Bad(r => r.Inputs[0] = 1, "GRAPH", "GRAPH", "graph input 'w1' is a constant");
        Bad(r => { r.Values.Add(new RawFile.RawValue { Name = "never", Shape = [1] }); r.Outputs.Add(8); }, "GRAPH", "GRAPH", "'never' is never produced");
        Bad(r => r.Values[5].Shape = [3, 2], "GRAPH", "GRAPH", "differs from its tensor's [2, 3]");
        Bad(r => r.Inputs.Clear(), "GRAPH", "GRAPH", "graph has no inputs");
        Bad(r => r.Outputs.Clear(), "GRAPH", "GRAPH", "graph has no outputs");
    }

    // ================================================================ META

    [Fact]
    public void Meta_InputsAndOutputsMustMatchTheGraph()
    {
        Bad(r => r.Meta.Inputs[0] = ("y", [-1, 4]), "META", "META.input[0]", "input 0 'y' [N, 4] disagrees with the graph's 'x' [N, 4]");
        Bad(r => r.Meta.Inputs[0] = ("x", [1, 4]), "META", "META.input[0]", "disagrees");
        Bad(r => r.Meta.Inputs[0] = ("x", [-1, 4, 1]), "META", "META.input[0]", "disagrees");
        Bad(r => r.Meta.Inputs.Add(("x2", [1])), "META", "META.inputs", "2 inputs listed but the graph has 1");
        Bad(r => r.Meta.Inputs.Clear(), "META", "META.inputs", "0 inputs listed");
        Bad(r => r.Meta.Outputs[0] = ("prob:out", [-1, 3]), "META", "META.output[0]", "output 0 'prob:out' [N, 3] disagrees");
        Bad(r => r.Meta.Outputs.Add(("prob:out", [-1, 2])), "META", "META.outputs", "2 outputs listed but the graph has 1");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["META.inputs"], uint.MaxValue), "META", e => e["META.inputs"], "input count 4294967295 exceeds the limit 131072");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["META.outputs"], 1000), "META", e => e["META.outputs"], "needs at least");
    }

    [Fact]
    public void Meta_Normalisation()
    {
        Bad(r => r.Meta.HasNorm = 2, "META", "META.norm", "normalisation flag 2 is not 0 or 1");
        Bad(r => r.Meta.Mean = [0, 0], "META", "META.mean", "normalisation has 2 means and 1 stds");
        Bad(r => { r.Meta.Mean = []; r.Meta.Std = []; }, "META", "META.mean", "has 0 means");
        Bad(r => r.Meta.Std = [0], "META", "META.mean", "stds finite and > 0");
        Bad(r => r.Meta.Std = [-1], "META", "META.mean", "> 0");
        Bad(r => r.Meta.Std = [float.PositiveInfinity], "META", "META.mean", "> 0");
        Bad(r => r.Meta.Std = [float.NaN], "META", "META.mean", "> 0");
        Bad(r => r.Meta.Mean = [float.NaN], "META", "META.mean", "finite");
        Bad(r => r.Meta.Mean = [float.NegativeInfinity], "META", "META.mean", "finite");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["META.mean"], uint.MaxValue), "META", e => e["META.mean"], "exceeds the limit 65536");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["META.std"], 100), "META", e => e["META.std"], "needs at least");
    }

    [Fact]
    public void Meta_Labels()
    {
        BadBytes(e => RawFile.SetU32(e.Bytes, e["META.labels"], uint.MaxValue), "META", e => e["META.labels"], "label count 4294967295 exceeds the limit 65536");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["META.labels"], 65536), "META", e => e["META.labels"], "needs at least");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["META.label[1]"], 1 << 16), "META", e => e["META.label[1]"] + 4, "needs 65536 bytes");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["META.label[1]"], (1 << 16) + 1), "META", e => e["META.label[1]"], "label 1 length 65537 exceeds the limit 65536");
        // L must be 0 or the first output's last dim (2 here).
        Bad(r => r.Meta.Labels.Add("bird"), "META", "META.labels", "3 labels");
        Bad(r => r.Meta.Labels.RemoveAt(1), "META", "META.labels", "1 labels");
        ModelAssert.Equivalent(WithoutLabels(Small()), EmaReader.Read(Patched(Small(), r => r.Meta.Labels.Clear()).Bytes));
    }

    private static EmaModel WithoutLabels(EmaModel m)
    {
        m.Metadata.Labels.Clear();
        return m;
    }

    [Fact]
    public void Meta_Strings()
    {
        BadBytes(e => RawFile.SetU32(e.Bytes, e["META.name"], uint.MaxValue), "META", e => e["META"], "model name length 4294967295 exceeds the limit 65536");
        BadBytes(e => RawFile.SetU32(e.Bytes, e["META.converter"], 40000), "META", e => e["META.converter"] + 4, "needs 40000 bytes");
        BadBytes(e => e.Bytes[e["META.name"] + 4] = 0xFF, "META", e => e["META.name"], "model name is not valid UTF-8");
        BadBytes(e => e.Bytes[e["META.input[0]"] + 4] = 0x80, "META", e => e["META.input[0]"], "input 0 name is not valid UTF-8");
    }

    [Fact]
    public void Meta_ArbitraryUnicodeNames_RoundTrip()
    {
        var m = Small();
        m.Metadata.ModelName = "模型 🙂 \u0000 \uFEFF end";
        m.Metadata.ConverterVersion = new string('é', 30000); // 60000 UTF-8 bytes, under the 65536 limit
        var bytes = EmaWriter.ToBytes(m);
        ModelAssert.Equivalent(m, EmaReader.Read(bytes));
        m.Metadata.ConverterVersion = new string('é', 32769); // 65538 bytes
        Assert.Throws<EmaException>(() => EmaWriter.ToBytes(m));
    }
}
