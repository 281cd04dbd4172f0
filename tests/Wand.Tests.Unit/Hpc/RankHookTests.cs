using System.Diagnostics;
using Wand.Hpc;
using Wand.Injection.Payloads;
using Xunit;

namespace Wand.Tests.Unit.Hpc;

/// <summary>
/// The child-rank hand-over's parsing of a rank's command line (rdg_rank.py,
/// <c>split_python_argv</c>), run by a real interpreter, and the hook's shape.
/// </summary>
public sealed class RankHookTests
{
    private const string Driver = """
        import importlib.util, json, sys
        spec = importlib.util.spec_from_file_location("rank", sys.argv[1])
        rank = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(rank)  # defines only: child_hook runs when the sitecustomize calls it
        for argv in json.loads(sys.stdin.read()):
            print(json.dumps(rank.split_python_argv(argv)))
        """;

    private static string Python()
    {
        var testbed = System.IO.Path.Combine(Environment.GetEnvironmentVariable("WAND_TESTBED") is { Length: > 0 } t ? t : "/var/cache/wand-testbed", "rootfs/usr/bin/python3.13-host");
        return File.Exists(testbed) ? testbed : "python3";
    }

    [Fact]
    public async Task ARanksCommandLineIsSplitAsPythonReadsIt()
    {
        var dir = Directory.CreateTempSubdirectory("rdg-hook-").FullName;
        try
        {
            var launcher = Path.Combine(dir, DebugLauncher.RankFile);
            File.WriteAllText(launcher, Payload.Read(DebugLauncher.RankFile));
            var psi = new ProcessStartInfo(Python()) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(Driver);
            psi.ArgumentList.Add(launcher);
            using var p = Process.Start(psi)!;
            p.StandardInput.Write("""
                [["/v/bin/python3", "-u", "train.py", "--lr", "0.1"],
                 ["/v/bin/python3", "-uB", "-X", "dev", "-Wignore", "-m", "pkg.main", "-x"],
                 ["python", "-c", "print(1)", "a"],
                 ["python", "-uc", "print(2)"],
                 ["python", "-I", "--check-hash-based-pycs", "never", "--", "-script.py"],
                 ["python", "-u"],
                 ["python", "-"]]
                """);
            p.StandardInput.Close();
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(p.ExitCode == 0, await stderr);
            Assert.Equal(
            [
                """[["-u"], "script", "train.py", ["--lr", "0.1"]]""",
                """[["-u", "-B", "-X", "dev", "-W", "ignore"], "module", "pkg.main", ["-x"]]""",
                """[[], "code", "print(1)", ["a"]]""",
                """[["-u"], "code", "print(2)", []]""",
                """[["-I", "--check-hash-based-pycs", "never"], "script", "-script.py", []]""",
                "null",
                "null",
            ], (await stdout).Trim().Split('\n'));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
