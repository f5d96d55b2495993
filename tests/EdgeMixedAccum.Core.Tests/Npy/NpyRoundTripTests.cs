
using EdgeMixedAccum.Npy;
using static EdgeMixedAccum.Tests.Npy.NpyTestUtil;

namespace EdgeMixedAccum.Tests.Npy;

public class NpyRoundTripTests
{
    private static readonly int[][] Shapes = [[], [0], [5], [2, 3, 4], [0, 3]];

    public static TheoryData<NpyDType, int[]> AllDTypesAndShapes()
    {
        var d = new TheoryData<NpyDType, int[]>();
        foreach (NpyDType t in Enum.GetValues<NpyDType>())
            foreach (int[] s in Shapes)
                d.Add(t, s);
        return d;
    }

    [Theory]
    [MemberData(nameof(AllDTypesAndShapes))]
    public void RawBytes_RoundTrip_ThroughStream(NpyDType dtype, int[] shape)
    {
        long n = shape.Aggregate(1L, (x, y) => x * y);
        var bytes = new byte[n * dtype.ItemSize()];
        new Random(shape.Length * 31 + (int)dtype).NextBytes(bytes);
        var a = new NpyArray(dtype, shape, bytes);

        byte[] file = ToBytes(a);
        var b = FromBytes(file);
        Assert.Equal(dtype, b.DType);
        Assert.Equal(shape, b.Shape);
        Assert.Equal(n, b.ElementCount);
        Assert.Equal(bytes, b.RawBytes.ToArray());

        var c = NpyFile.Read(new TrickleStream(file, 7));
        Assert.Equal(bytes, c.RawBytes.ToArray());
    }

    [Fact]
    public void TypedFactories_RoundTrip_ThroughFiles()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ema-npy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string p = Path.Combine(dir, "a.npy");
            void Check<T>(NpyArray a, T[] expected) where T : unmanaged
            {
                NpyFile.Write(p, a);
                var b = NpyFile.Read(p);
                Assert.Equal(a.DType, b.DType);
                Assert.Equal(a.Shape, b.Shape);
                Assert.Equal(expected, b.AsSpan<T>().ToArray());
            }
            Check(NpyArray.FromFloat32([1.5f, -2f, float.NaN, float.PositiveInfinity, -0f, 1e-45f], 2, 3), [1.5f, -2f, float.NaN, float.PositiveInfinity, -0f, 1e-45f]);
            Check(NpyArray.FromFloat16([(Half)1.5f, Half.NegativeInfinity, Half.Epsilon], 3), [(Half)1.5f, Half.NegativeInfinity, Half.Epsilon]);
            Check(NpyArray.FromFloat64([Math.PI, double.MinValue], 2, 1), [Math.PI, double.MinValue]);
            Check(NpyArray.FromInt8([sbyte.MinValue, 0, sbyte.MaxValue], 3), [sbyte.MinValue, (sbyte)0, sbyte.MaxValue]);
            Check(NpyArray.FromUInt8([0, 128, 255, 7], 2, 2), new byte[] { 0, 128, 255, 7 });
            Check(NpyArray.FromInt32([int.MinValue, -1, int.MaxValue], 3), [int.MinValue, -1, int.MaxValue]);
            Check(NpyArray.FromInt64([long.MinValue, 42, long.MaxValue], 1, 3), [long.MinValue, 42L, long.MaxValue]);
            Check(NpyArray.FromInt64([9]), [9L]); // scalar ()
            Assert.Equal(["a.npy"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void WritePath_ReplacesExistingFile_AndLeavesNoTempFiles()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ema-npy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string p = Path.Combine(dir, "out.npy");
            System.IO.File.WriteAllText(p, "old contents, much longer than the new file will be ............................................................................................................................................................");
            NpyFile.Write(p, NpyArray.FromInt32([1, 2], 2));
            Assert.Equal([1L, 2L], NpyFile.Read(p).ToInt64());
            Assert.Equal(["out.npy"], Directory.GetFiles(dir).Select(Path.GetFileName));

            var e = Assert.Throws<EmaException>(() =>
                NpyFile.Write(Path.Combine(dir, "missing-dir", "x.npy"), NpyArray.FromInt32([1], 1)));
            Assert.Contains("x.npy", e.Message);
            Assert.Equal(["out.npy"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ReadPath_MissingFile_IsEmaException()
    {
        string p = Path.Combine(Path.GetTempPath(), "ema-npy-missing-" + Guid.NewGuid().ToString("N") + ".npy");
        var e = Assert.Throws<EmaException>(() => NpyFile.Read(p));
        Assert.Contains(p, e.Message);
    }

    [Fact]
    public void Stream_ArraysWrittenBackToBack_ReadInSequence()
    {
        var ms = new MemoryStream();
        NpyFile.Write(ms, NpyArray.FromFloat32([1, 2, 3], 3));
        NpyFile.Write(ms, NpyArray.FromInt64([7, 8], 2, 1));
        ms.Position = 0;
        Assert.Equal([1f, 2, 3], NpyFile.Read(ms).ToFloat32());
        var b = NpyFile.Read(ms);
        Assert.Equal([2, 1], b.Shape);
        Assert.Equal(ms.Length, ms.Position);
    }

    [Fact]
    public void NonSeekableStream_LargeArray_ReadsCompletely()
    {
        var data = new float[100_000];
        for (int i = 0; i < data.Length; i++) data[i] = i * 0.5f;
        byte[] file = ToBytes(NpyArray.FromFloat32(data, 250, 400));
        var a = NpyFile.Read(new TrickleStream(file, 50_000));
        Assert.Equal(data, a.ToFloat32());
    }

    [Fact]
    public void Reader_AcceptsHeaderVariants()
    {
        byte[] six = new byte[24];
        for (int i = 0; i < 6; i++) BitConverter.GetBytes((float)i).CopyTo(six, i * 4);
        string[] dicts =
        [
            "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",                 // any key order, no trailing comma
            "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3,),}",              // double quotes, tight, trailing commas
            "  {\n 'descr' : '<f4' ,\t'fortran_order' : False ,\r\n 'shape' : ( 2 , 3 ) , }  ", // whitespace everywhere
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",            // Python 2 long suffix
        ];
        foreach (string d in dicts)
        {
            var a = FromBytes(File(d, six));
            Assert.Equal([2, 3], a.Shape);
            Assert.Equal([0f, 1, 2, 3, 4, 5], a.ToFloat32());
        }
        // Old numpy aligned to 16, no newline at all, versions 2.0 and 3.0
        const string std = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        Assert.Equal([2, 3], FromBytes(File(std, six, align: 16)).Shape);
        Assert.Equal([2, 3], FromBytes(File(std, six, newline: false)).Shape);
        Assert.Equal([2, 3], FromBytes(File(std, six, major: 2)).Shape);
        Assert.Equal([2, 3], FromBytes(File(std, six, major: 3)).Shape);
    }

    [Theory]
    [InlineData("|i1", NpyDType.Int8)]
    [InlineData("<i1", NpyDType.Int8)]
    [InlineData("|u1", NpyDType.UInt8)]
    [InlineData("<u1", NpyDType.UInt8)]
    public void Reader_AcceptsOneByteDescrSpellings(string descr, NpyDType expected)
    {
        var a = FromBytes(File($"{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,), }}", [0xFE, 3]));
        Assert.Equal(expected, a.DType);
        Assert.Equal(expected == NpyDType.Int8 ? [-2L, 3] : [254L, 3], a.ToInt64());
    }

    [Theory]
    [InlineData("(6,)")]
    [InlineData("(1, 6)")]
    [InlineData("(6, 1, 1)")]
    [InlineData("(0, 4)")]
    public void Reader_AcceptsFortranOrder_WhenEquivalentToC(string shape)
    {
        int n = shape.StartsWith("(0") ? 0 : 6;
        var a = FromBytes(File($"{{'descr': '|u1', 'fortran_order': True, 'shape': {shape}, }}", new byte[n]));
        Assert.Equal(n, a.ElementCount);
    }
}
