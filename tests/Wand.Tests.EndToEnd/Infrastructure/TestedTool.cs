namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// How the end-to-end tests start <c>wand</c> and <c>rdg</c>: the NativeAOT executables users install
/// (published once by tests/run.sh into the folder named by <c>WAND_TEST_AOT_DIR</c>), else, when that is not
/// set (a plain <c>dotnet test</c>), <c>dotnet exec</c> of the framework-dependent build next to the tests.
/// </summary>
public sealed class TestedTool
{
    /// <summary>The environment variable naming the folder with the NativeAOT <c>wand</c> and <c>rdg</c>.</summary>
    public const string AotDirVariable = "WAND_TEST_AOT_DIR";

    public static TestedTool Wand { get; } = Resolve("wand");
    public static TestedTool Rdg { get; } = Resolve("rdg");

    /// <summary>
    /// <c>dotnet exec wand.dll</c> whatever <see cref="AotDirVariable"/> says: only for a test that needs wand's
    /// JIT start-up (about 150 ms) as a window to act in, which the NativeAOT wand (about 10 ms) does not leave.
    /// </summary>
    public static TestedTool FrameworkDependentWand { get; } = FrameworkDependent("wand");

    private TestedTool(IReadOnlyList<string> argv) => Argv = argv;

    /// <summary>The command line that starts the tool, before its own arguments: absolute paths only (tests change PATH).</summary>
    public IReadOnlyList<string> Argv { get; }

    /// <summary>The whole command line for <paramref name="args"/>.</summary>
    public string[] With(params IEnumerable<string> args) => [.. Argv, .. args];

    private static TestedTool Resolve(string name)
    {
        if (Environment.GetEnvironmentVariable(AotDirVariable) is { Length: > 0 } dir)
        {
            var executable = Path.GetFullPath(Path.Combine(dir, name));
            // Set but empty or stale is a broken run, not a reason to test something else quietly.
            return File.Exists(executable)
                ? new([executable])
                : throw new InvalidOperationException($"{AotDirVariable}={dir} has no {name}: publish it (tests/run.sh does) or unset {AotDirVariable}");
        }
        return FrameworkDependent(name);
    }

    private static TestedTool FrameworkDependent(string name)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p ? p : "/usr/bin/dotnet";
        return new([dotnet, "exec", Path.Combine(AppContext.BaseDirectory, name + ".dll")]);
    }
}
