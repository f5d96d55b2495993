using System.CommandLine;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Runtime.Kernels;

namespace EdgeMixedAccum.Cli;

/// <summary>The `ema` command line. Bad input ends in one clear line on stderr and exit code 2.</summary>
public static class CliApp
{
    public const int ExitBadInput = 2;
    public const int ExitInternal = 70;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, KernelFamilies.All);

    /// <summary>As <see cref="Run(string[], TextWriter, TextWriter)"/>, with `selftest` and `doctor` looking
    /// at the given kernel families instead of the runtime's registry (tests use stand-in families).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, IReadOnlyList<IKernelFamily> families)
    {
        var root = new RootCommand("EdgeMixedAccum: mixed-precision neural network inference for ARM64 edge boards");
        root.Subcommands.Add(InfoCommand.Create(stdout));
        root.Subcommands.Add(RunCommand.Create(stdout));
        root.Subcommands.Add(EvalCommand.Create(stdout));
        root.Subcommands.Add(DemoCommand.Create(stdout));
        root.Subcommands.Add(LoopCommand.Create(stdout));
        root.Subcommands.Add(BenchCommand.Create(stdout));
        root.Subcommands.Add(SoakCommand.Create(stdout));
        root.Subcommands.Add(SelftestCommand.Create(stdout, families));
        root.Subcommands.Add(DoctorCommand.Create(stdout, families));
#if EMA_CONVERTER
        root.Subcommands.Add(ConvertCommand.Create(stdout));
        root.Subcommands.Add(StudyCommand.Create(stdout));
#endif
        try
        {
            var parsed = root.Parse(args);
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is EmaException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitBadInput;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"internal error (please report): {e}");
            return ExitInternal;
        }
    }

    /// <summary>Loads a model, turning a missing file into a clear error.</summary>
    internal static EmaModel LoadModel(FileInfo path)
    {
        if (!path.Exists) throw new EmaException($"model file '{path.FullName}' does not exist");
        return EmaReader.Read(path.FullName);
    }
}
