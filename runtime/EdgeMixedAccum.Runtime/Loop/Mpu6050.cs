using System.Buffers.Binary;
using System.Device.I2c;

namespace EdgeMixedAccum.Runtime.Loop;

/// <summary>Full-scale accelerometer range; the value is the ACCEL_CONFIG AFS_SEL field.</summary>
public enum AccelRange : byte { G2 = 0, G4 = 1, G8 = 2, G16 = 3 }

/// <summary>Full-scale gyroscope range; the value is the GYRO_CONFIG FS_SEL field.</summary>
public enum GyroRange : byte { Dps250 = 0, Dps500 = 1, Dps1000 = 2, Dps2000 = 3 }

/// <summary>
/// InvenSense MPU-6050 over I2C, written against the register map directly (no Iot.Device.Bindings, no
/// reflection). <see cref="Read"/> is one 14-byte burst so the six axes come from the same sample instant.
/// </summary>
public sealed class Mpu6050 : IDisposable
{
    public const int DefaultAddress = 0x68;
    public const int AlternateAddress = 0x69;
    public const byte ExpectedWhoAmI = 0x68;

    public const byte RegGyroConfig = 0x1B;
    public const byte RegAccelConfig = 0x1C;
    public const byte RegAccelXoutH = 0x3B;
    public const byte RegPwrMgmt1 = 0x6B;
    public const byte RegWhoAmI = 0x75;
    public const int DataLength = 14;

    /// <summary>PWR_MGMT_1: sleep bit clear, clock from the X gyro PLL (the datasheet's recommended source).</summary>
    public const byte PwrMgmt1ClockPllX = 0x01;

    public const float StandardGravity = 9.80665f;

    private readonly I2cDevice _device;
    private readonly bool _ownsDevice;
    private readonly byte[] _raw = new byte[DataLength];
    private float _accelScale;
    private float _gyroScale;

    public Mpu6050(I2cDevice device, AccelRange accelRange = AccelRange.G2, GyroRange gyroRange = GyroRange.Dps250,
        bool ownsDevice = true)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        _ownsDevice = ownsDevice;
        AccelRange = accelRange;
        GyroRange = gyroRange;
        _accelScale = AccelMetersPerSecond2PerLsb(accelRange);
        _gyroScale = GyroRadiansPerSecondPerLsb(gyroRange);
    }

    public AccelRange AccelRange { get; }
    public GyroRange GyroRange { get; }
    public bool IsInitialized { get; private set; }

    /// <summary>Die temperature in degrees Celsius from the last <see cref="Read"/>.</summary>
    public float TemperatureCelsius { get; private set; }

    /// <summary>The 14 data bytes of the last <see cref="Read"/> (used by sources to detect a frozen device).</summary>
    public ReadOnlySpan<byte> LastRaw => _raw;

    public static float AccelMetersPerSecond2PerLsb(AccelRange range) => range switch
    {
        AccelRange.G2 => StandardGravity / 16384f,
        AccelRange.G4 => StandardGravity / 8192f,
        AccelRange.G8 => StandardGravity / 4096f,
        AccelRange.G16 => StandardGravity / 2048f,
        _ => throw new ArgumentOutOfRangeException(nameof(range), range, "accelerometer range must be 2, 4, 8 or 16 g"),
    };

    public static float GyroRadiansPerSecondPerLsb(GyroRange range) => range switch
    {
        // LSB per deg/s from the datasheet: 131, 65.5, 32.8, 16.4.
        GyroRange.Dps250 => MathF.PI / 180f / 131f,
        GyroRange.Dps500 => MathF.PI / 180f / 65.5f,
        GyroRange.Dps1000 => MathF.PI / 180f / 32.8f,
        GyroRange.Dps2000 => MathF.PI / 180f / 16.4f,
        _ => throw new ArgumentOutOfRangeException(nameof(range), range, "gyro range must be 250, 500, 1000 or 2000 dps"),
    };

    /// <summary>Checks WHO_AM_I, wakes the device and programs both ranges (read back to catch a bus that ate a write).</summary>
    public void Initialize()
    {
        byte who = ReadRegister(RegWhoAmI);
        if (who != ExpectedWhoAmI)
            throw new InvalidOperationException(
                $"MPU6050 at {Describe()}: WHO_AM_I (0x75) returned 0x{who:X2}, expected 0x{ExpectedWhoAmI:X2}; " +
                "wrong address or not an MPU6050 (MPU6500 answers 0x70, MPU9250 0x71)");
        WriteRegister(RegPwrMgmt1, PwrMgmt1ClockPllX);
        WriteRegister(RegAccelConfig, (byte)((byte)AccelRange << 3));
        WriteRegister(RegGyroConfig, (byte)((byte)GyroRange << 3));
        byte accel = ReadRegister(RegAccelConfig), gyro = ReadRegister(RegGyroConfig);
        if (((accel >> 3) & 3) != (byte)AccelRange || ((gyro >> 3) & 3) != (byte)GyroRange)
            throw new InvalidOperationException(
                $"MPU6050 at {Describe()}: range registers read back 0x{accel:X2}/0x{gyro:X2} after configuration");
        IsInitialized = true;
    }

    /// <summary>
    /// One burst read from ACCEL_XOUT_H: writes accel x, y, z (m/s^2) then gyro x, y, z (rad/s) into
    /// <paramref name="sample6"/>. I2C errors surface as the <see cref="IOException"/> the bus throws.
    /// </summary>
    public void Read(Span<float> sample6)
    {
        if (sample6.Length < 6) throw new ArgumentException("sample needs 6 floats", nameof(sample6));
        ReadOnlySpan<byte> start = [RegAccelXoutH];
        _device.WriteRead(start, _raw);
        ReadOnlySpan<byte> r = _raw;
        sample6[0] = BinaryPrimitives.ReadInt16BigEndian(r) * _accelScale;
        sample6[1] = BinaryPrimitives.ReadInt16BigEndian(r[2..]) * _accelScale;
        sample6[2] = BinaryPrimitives.ReadInt16BigEndian(r[4..]) * _accelScale;
        TemperatureCelsius = BinaryPrimitives.ReadInt16BigEndian(r[6..]) / 340f + 36.53f;
        sample6[3] = BinaryPrimitives.ReadInt16BigEndian(r[8..]) * _gyroScale;
        sample6[4] = BinaryPrimitives.ReadInt16BigEndian(r[10..]) * _gyroScale;
        sample6[5] = BinaryPrimitives.ReadInt16BigEndian(r[12..]) * _gyroScale;
    }

    public byte ReadRegister(byte register)
    {
        ReadOnlySpan<byte> reg = [register];
        Span<byte> value = stackalloc byte[1];
        _device.WriteRead(reg, value);
        return value[0];
    }

    public void WriteRegister(byte register, byte value)
    {
        ReadOnlySpan<byte> frame = [register, value];
        _device.Write(frame);
    }

    private string Describe()
    {
        var s = _device.ConnectionSettings;
        return $"bus {s.BusId} address 0x{s.DeviceAddress:X2}";
    }

    public void Dispose()
    {
        if (_ownsDevice) _device.Dispose();
    }
}
