using System.Diagnostics;

namespace Wand.Bench.Harness;

/// <summary>Where things are: the built wand and noop next to the benchmark, the testbed rootfs with its Pythons.</summary>
public static class BenchEnv
{
    public const string PythonVersion = "3.14";

    public static string Dotnet { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p && File.Exists(p) ? p : "dotnet";

    /// <summary>The framework-dependent wand.dll built next to the benchmark (measure it with <c>--wand jit=PATH</c>).</summary>
    public static string WandDll { get; } = Path.Combine(AppContext.BaseDirectory, "wand.dll");

    /// <summary>
    /// The builds of wand measured, each against the same interleaved floor: the NativeAOT wand users install
    /// on linux-x64 (<see cref="PublishAot"/>), or those given with <c>--wand [LABEL=]PATH</c> (repeatable).
    /// </summary>
    public static IReadOnlyList<Candidate> Candidates { get; set; } = [];

    public static string NoopDll { get; } = Path.Combine(AppContext.BaseDirectory, "bench-noop.dll");

    public static string Rootfs { get; } = Path.Combine(
        Environment.GetEnvironmentVariable("WAND_TESTBED") is { Length: > 0 } t ? t : "/var/cache/wand-testbed", "rootfs");

    /// <summary>The rootfs's own interpreter, patchelf'd to run on the host (same build as the targets').</summary>
    public static string HostPython { get; } = Path.Combine(Rootfs, $"usr/bin/python{PythonVersion}-host");

    /// <summary>Environment for every Python child: unbuffered, and allowed to use the byte-compiled stdlib as usual.</summary>
    public static Dictionary<string, string?> PythonEnv() => new()
    {
        ["PYTHONUNBUFFERED"] = "1",
        ["PYTHONDONTWRITEBYTECODE"] = null,
    };

    /// <summary>Runs tests/testbed/provision.sh (cached: about 0.1 s when already done) and checks the result.</summary>
    public static void EnsureTestbed()
    {
        var script = Path.Combine(FindRepoRoot(), "tests/testbed/provision.sh");
        if (File.Exists(script))
        {
            var psi = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {script}");
            var stderr = p.StandardError.ReadToEndAsync();
            var line = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"{script} failed with exit code {p.ExitCode}:\n{stderr.Result}");
            Console.WriteLine(line);
        }
        foreach (var required in new[] { Path.Combine(Rootfs, $"usr/bin/python{PythonVersion}"), HostPython, Path.Combine(Rootfs, "proc/self/stat") })
            if (!File.Exists(required))
                throw new InvalidOperationException($"{required} is missing: run tests/testbed/provision.sh as root");
    }

    public static void EnsureBuilt(params string[] dlls)
    {
        foreach (var dll in dlls)
            if (!File.Exists(dll))
                throw new InvalidOperationException($"{dll} is missing: check --wand, or run the benchmark with `dotnet run -c Release --project bench/Wand.Bench` (it builds wand next to itself)");
    }

    /// <summary>
    /// Publishes the NativeAOT executable <paramref name="name"/> of <paramref name="project"/> (linux-x64, as its tool
    /// package ships it) into artifacts/aot, as tests/run.sh does; incremental, so seconds when it is up to date.
    /// </summary>
    public static string PublishAot(string project, string name)
    {
        var output = Path.Combine(FindRepoRoot(), "artifacts/aot");
        Console.WriteLine($"publishing NativeAOT {name} (dotnet publish {project} -c Release -r linux-x64 -o artifacts/aot)");
        var psi = new ProcessStartInfo(Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "publish", Path.Combine(FindRepoRoot(), project), "-c", "Release", "-r", "linux-x64", "-o", output, "-nologo", "-v", "q" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet publish");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"dotnet publish {project} failed:\n{stdout}\n{stderr.Result}");
        return Path.Combine(output, name);
    }

    /// <summary>Starts <c>chroot ROOTFS /usr/bin/python3.14 -c CODE ARGS</c>: chroot execs the interpreter, so the child's PID is Python's.</summary>
    public static Child StartTarget(string code, Stopwatch clock, params string[] args) =>
        Child.Start("chroot", [Rootfs, $"/usr/bin/python{PythonVersion}", "-c", code, .. args], clock, env: PythonEnv());

    public static string RepoRoot() => FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Wand.slnx"))) return dir.FullName;
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Wand.slnx"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (Wand.slnx)");
    }
}
