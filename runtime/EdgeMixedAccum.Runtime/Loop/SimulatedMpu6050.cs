using System.Buffers.Binary;
using System.Device.I2c;

namespace EdgeMixedAccum.Runtime.Loop;

/// <summary>Produces the seven raw int16 words (accel xyz, temp, gyro xyz) for sample <c>n</c>.</summary>
public delegate void RawSignal(long n, Span<short> raw7);

/// <summary>
/// An in-memory MPU-6050 register map behind the I2cDevice API, with fault injection. Lives in the runtime
/// (not only the tests) so the CLI's <c>sim:mpu6050</c> source can run the whole loop without a board.
/// Faults surface the way System.Device.Gpio's Linux I2C device surfaces them: as <see cref="IOException"/>.
/// </summary>
public sealed class SimulatedMpu6050 : I2cDevice
{
    private readonly byte[] _regs = new byte[128];
    private readonly I2cConnectionSettings _settings;
    private byte _pointer;
    private int _nackRemaining;
    private int _shortReadRemaining;
    private int _timeoutRemaining;
    private TimeSpan _timeoutDelay;

    public SimulatedMpu6050(int busId = 1, int address = Mpu6050.DefaultAddress, RawSignal? signal = null)
    {
        _settings = new I2cConnectionSettings(busId, address);
        Signal = signal ?? DefaultSignal;
        PowerOnReset();
    }

    public override I2cConnectionSettings ConnectionSettings => _settings;

    /// <summary>Data source for the data registers; sample index advances once per burst read of 0x3B.</summary>
    public RawSignal Signal { get; set; }

    /// <summary>Value WHO_AM_I answers (change it to test the wrong-device error).</summary>
    public byte WhoAmI { get => _regs[Mpu6050.RegWhoAmI]; set => _regs[Mpu6050.RegWhoAmI] = value; }

    /// <summary>When set, the data registers stop updating: every burst returns the same sample.</summary>
    public bool Stalled { get; set; }

    public long SamplesProduced { get; private set; }
    public long Transfers { get; private set; }
    public long FaultsInjected { get; private set; }

    public bool IsAsleep => (_regs[Mpu6050.RegPwrMgmt1] & 0x40) != 0;
    public byte Register(byte address) => _regs[address];

    /// <summary>The next <paramref name="count"/> transfers fail as an address/data NACK (EREMOTEIO).</summary>
    public void InjectNack(int count) => _nackRemaining = count;

    /// <summary>The next <paramref name="count"/> reads transfer only half the bytes, then fail.</summary>
    public void InjectShortRead(int count) => _shortReadRemaining = count;

    /// <summary>The next <paramref name="count"/> transfers block for <paramref name="delay"/> then fail (ETIMEDOUT).</summary>
    public void InjectTimeout(int count, TimeSpan delay = default)
    {
        _timeoutRemaining = count;
        _timeoutDelay = delay;
    }

    public static void DefaultSignal(long n, Span<short> raw)
    {
        // Deterministic motion: a slow tilt on accel, 1 g on z, rotation on the gyros; 50-sample period.
        double phase = 2 * Math.PI * n / 50.0;
        raw[0] = (short)(4000 * Math.Sin(phase));
        raw[1] = (short)(2000 * Math.Cos(phase));
        raw[2] = 16384;
        raw[3] = (short)((30.0 - 36.53) * 340); // 30 degrees C
        raw[4] = (short)(1000 * Math.Cos(phase));
        raw[5] = (short)(-500 * Math.Sin(phase));
        raw[6] = (short)(n % 100);
    }

    private void PowerOnReset()
    {
        Array.Clear(_regs);
        _regs[Mpu6050.RegPwrMgmt1] = 0x40; // sleeps after power-on, as the real part does
        _regs[Mpu6050.RegWhoAmI] = Mpu6050.ExpectedWhoAmI;
    }

    /// <summary>Every this many transfers one fails with a NACK (0: never): a flaky bus for end-to-end runs (`sim:mpu6050?nack-every=N`).</summary>
    public int NackEvery { get; set; }

    private void BeginTransfer()
    {
        Transfers++;
        if (NackEvery > 0 && Transfers % NackEvery == 0)
        {
            FaultsInjected++;
            throw new IOException("Error 121 performing I2C data transfer.");
        }
        if (_timeoutRemaining > 0)
        {
            _timeoutRemaining--;
            FaultsInjected++;
            if (_timeoutDelay > TimeSpan.Zero) Thread.Sleep(_timeoutDelay);
            throw new IOException("Error 110 performing I2C data transfer.");
        }
        if (_nackRemaining > 0)
        {
            _nackRemaining--;
            FaultsInjected++;
            throw new IOException("Error 121 performing I2C data transfer.");
        }
    }

    private void ReadFrom(byte start, Span<byte> buffer)
    {
        if (start == Mpu6050.RegAccelXoutH && !IsAsleep && !Stalled) ProduceSample();
        int n = buffer.Length;
        if (_shortReadRemaining > 0)
        {
            _shortReadRemaining--;
            FaultsInjected++;
            n /= 2;
            buffer[n..].Fill(0xFF); // released bus reads high
            CopyRegisters(start, buffer[..n]);
            throw new IOException($"Error 5 performing I2C data transfer: short read ({n} of {buffer.Length} bytes).");
        }
        CopyRegisters(start, buffer);
        _pointer = (byte)((start + n) & 0x7F);
    }

    private void CopyRegisters(byte start, Span<byte> buffer)
    {
        for (int i = 0; i < buffer.Length; i++) buffer[i] = _regs[(start + i) & 0x7F];
    }

    private void ProduceSample()
    {
        Span<short> raw = stackalloc short[7];
        Signal(SamplesProduced++, raw);
        for (int i = 0; i < 7; i++)
            BinaryPrimitives.WriteInt16BigEndian(_regs.AsSpan(Mpu6050.RegAccelXoutH + 2 * i, 2), raw[i]);
    }

    private void WriteFrom(ReadOnlySpan<byte> frame)
    {
        if (frame.Length == 0) return;
        _pointer = (byte)(frame[0] & 0x7F);
        for (int i = 1; i < frame.Length; i++)
        {
            byte reg = (byte)((_pointer + i - 1) & 0x7F);
            if (reg == Mpu6050.RegWhoAmI) continue; // read-only
            if (reg == Mpu6050.RegPwrMgmt1 && (frame[i] & 0x80) != 0) { PowerOnReset(); continue; }
            _regs[reg] = frame[i];
        }
    }

    public override byte ReadByte()
    {
        Span<byte> b = stackalloc byte[1];
        Read(b);
        return b[0];
    }

    public override void Read(Span<byte> buffer)
    {
        BeginTransfer();
        ReadFrom(_pointer, buffer);
    }

    public override void WriteByte(byte value)
    {
        BeginTransfer();
        _pointer = (byte)(value & 0x7F);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        BeginTransfer();
        WriteFrom(buffer);
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        BeginTransfer();
        WriteFrom(writeBuffer);
        ReadFrom(_pointer, readBuffer);
    }
}
