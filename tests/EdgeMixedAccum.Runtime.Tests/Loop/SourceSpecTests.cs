using EdgeMixedAccum.Runtime.Loop;

namespace EdgeMixedAccum.Runtime.Tests.Loop;

public class SourceSpecTests
{
    [Fact]
    public void Parses_each_scheme()
    {
        Assert.Equal(new SourceSpec(SourceKind.I2cMpu6050, Bus: 1, Address: 0x68), SourceSpec.Parse("i2c:mpu6050?bus=1&addr=0x68"));
        Assert.Equal(new SourceSpec(SourceKind.I2cMpu6050, Bus: 0, Address: 0x69, AccelRange: AccelRange.G4, GyroRange: GyroRange.Dps2000),
            SourceSpec.Parse("i2c:mpu6050?bus=0&addr=105&accel=4&gyro=2000"));
        Assert.Equal(new SourceSpec(SourceKind.I2cMpu6050), SourceSpec.Parse("i2c:mpu6050"));
        Assert.Equal(new SourceSpec(SourceKind.SimMpu6050, AccelRange: AccelRange.G16), SourceSpec.Parse("sim:mpu6050?accel=16"));
        Assert.Equal(new SourceSpec(SourceKind.Replay, Path: "dir/FILE.csv"), SourceSpec.Parse("replay:dir/FILE.csv"));
        Assert.Equal(new SourceSpec(SourceKind.Stdin), SourceSpec.Parse("stdin"));
    }

    [Theory]
    [InlineData("usb:mpu6050", "unknown scheme 'usb'")]
    [InlineData("i2c:bmi160", "unknown device 'bmi160'")]
    [InlineData("i2c:mpu6050?rate=100", "unknown parameter 'rate'")]
    [InlineData("i2c:mpu6050?addr=0x80", "addr=0x80 is not a 7-bit I2C address")]
    [InlineData("i2c:mpu6050?bus=x", "bus=x is not an integer")]
    [InlineData("i2c:mpu6050?accel=3", "accel=3: range must be 2, 4, 8 or 16")]
    [InlineData("i2c:mpu6050?gyro", "parameter 'gyro' is not key=value")]
    [InlineData("replay:", "replay needs a file path")]
    [InlineData("file.csv", "no scheme")]
    public void Clear_errors(string text, string fragment)
    {
        var e = Assert.Throws<FormatException>(() => SourceSpec.Parse(text));
        Assert.Contains(fragment, e.Message);
        Assert.Contains(text, e.Message);
    }

    [Fact]
    public void Sim_source_opens_and_reads()
    {
        using var src = SourceSpec.Parse("sim:mpu6050").Open(clock: new ManualLoopClock());
        var s = new float[src.Channels];
        Assert.Equal(SampleStatus.Ok, src.Read(s, out _));
        Assert.Equal(9.80665f, s[2], 4);
    }
}
