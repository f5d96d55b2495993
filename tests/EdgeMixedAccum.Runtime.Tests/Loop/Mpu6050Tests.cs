using EdgeMixedAccum.Runtime.Loop;

namespace EdgeMixedAccum.Runtime.Tests.Loop;

public class Mpu6050Tests
{
    private static RawSignal Fixed(params short[] raw7) => (_, raw) => raw7.CopyTo(raw);

    [Fact]
    public void Initialize_wakes_device_and_programs_ranges()
    {
        var sim = new SimulatedMpu6050();
        Assert.True(sim.IsAsleep);
        using var mpu = new Mpu6050(sim, AccelRange.G8, GyroRange.Dps1000);
        mpu.Initialize();
        Assert.False(sim.IsAsleep);
        Assert.Equal(Mpu6050.PwrMgmt1ClockPllX, sim.Register(Mpu6050.RegPwrMgmt1));
        Assert.Equal(2 << 3, sim.Register(Mpu6050.RegAccelConfig));
        Assert.Equal(2 << 3, sim.Register(Mpu6050.RegGyroConfig));
    }

    [Fact]
    public void Wrong_who_am_i_is_a_clear_error()
    {
        var sim = new SimulatedMpu6050(busId: 3, address: 0x69) { WhoAmI = 0x70 };
        using var mpu = new Mpu6050(sim);
        var e = Assert.Throws<InvalidOperationException>(mpu.Initialize);
        Assert.Contains("WHO_AM_I", e.Message);
        Assert.Contains("0x70", e.Message);
        Assert.Contains("bus 3 address 0x69", e.Message);
    }

    [Fact]
    public void Without_initialize_the_sleeping_device_reads_zero()
    {
        var sim = new SimulatedMpu6050(signal: Fixed(100, 100, 100, 0, 100, 100, 100));
        using var mpu = new Mpu6050(sim);
        var s = new float[6];
        mpu.Read(s);
        Assert.All(s, v => Assert.Equal(0f, v));
    }

    // Raw value equal to the LSB per g / per deg/s gives exactly 1 g / 1 deg/s on every range.
    [Theory]
    [InlineData(AccelRange.G2, 16384)]
    [InlineData(AccelRange.G4, 8192)]
    [InlineData(AccelRange.G8, 4096)]
    [InlineData(AccelRange.G16, 2048)]
    public void Accel_scaling_per_range(AccelRange range, short oneG)
    {
        var sim = new SimulatedMpu6050(signal: Fixed(oneG, (short)-oneG, (short)(oneG / 2), 0, 0, 0, 0));
        using var mpu = new Mpu6050(sim, range);
        mpu.Initialize();
        var s = new float[6];
        mpu.Read(s);
        Assert.Equal(9.80665f, s[0], 4);
        Assert.Equal(-9.80665f, s[1], 4);
        Assert.Equal(9.80665f / 2, s[2], 4);
        Assert.Equal(36.53f, mpu.TemperatureCelsius, 3);
    }

    [Theory]
    [InlineData(GyroRange.Dps250, 131.0, 1310)]
    [InlineData(GyroRange.Dps500, 65.5, 655)]
    [InlineData(GyroRange.Dps1000, 32.8, 328)]
    [InlineData(GyroRange.Dps2000, 16.4, 164)]
    public void Gyro_scaling_per_range(GyroRange range, double lsbPerDps, short tenDps)
    {
        var sim = new SimulatedMpu6050(signal: Fixed(0, 0, 0, 340, tenDps, (short)-tenDps, 0));
        using var mpu = new Mpu6050(sim, gyroRange: range);
        mpu.Initialize();
        var s = new float[6];
        mpu.Read(s);
        double tenDegInRad = 10 * Math.PI / 180;
        Assert.Equal(tenDegInRad, s[3], 5);
        Assert.Equal(-tenDegInRad, s[4], 5);
        Assert.Equal(0f, s[5]);
        Assert.Equal(37.53f, mpu.TemperatureCelsius, 3);
        Assert.Equal(Math.PI / 180 / lsbPerDps, Mpu6050.GyroRadiansPerSecondPerLsb(range), 9);
    }

    [Fact]
    public void Each_burst_is_a_new_sample_and_big_endian()
    {
        var sim = new SimulatedMpu6050(signal: (n, raw) => { raw.Clear(); raw[0] = (short)(n * 256 + 1); });
        using var mpu = new Mpu6050(sim, AccelRange.G2);
        mpu.Initialize();
        var s = new float[6];
        mpu.Read(s);
        Assert.Equal(0x00, mpu.LastRaw[0]);
        Assert.Equal(0x01, mpu.LastRaw[1]);
        mpu.Read(s);
        Assert.Equal(0x01, mpu.LastRaw[0]);
        Assert.Equal(257 * 9.80665f / 16384, s[0], 5);
        Assert.Equal(2, sim.SamplesProduced);
    }
}
