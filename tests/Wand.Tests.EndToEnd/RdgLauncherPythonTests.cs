using System.Diagnostics;
using Wand.Injection.Payloads;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// rdg_launcher.py's functions, unit-tested with the standard library's unittest
/// (Python/test_rdg_launcher.py) in each of the testbed's interpreters, against the launcher rdg ships
/// (the embedded payload). The launcher must run on 3.9+; the testbed has 3.13, 3.14 and 3.15 (no 3.9
/// yet), so those are the ones run here.
/// </summary>
public sealed class RdgLauncherPythonTests
{
    [Theory(Timeout = 120_000)]
    [InlineData("3.13")]
    [InlineData("3.14")]
    [InlineData("3.15")]
    public async Task TheLaunchersFunctionsPassTheirUnitTests(string version)
    {
        Testbed.EnsureReady();
        var dir = Directory.CreateTempSubdirectory("rdg-pyunit-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "rdg_launcher.py"), Payload.Read("rdg_launcher.py"));
            File.Copy(Path.Combine(Testbed.RepoRoot, "tests/Wand.Tests.EndToEnd/Python/test_rdg_launcher.py"), Path.Combine(dir, "test_rdg_launcher.py"));
            var psi = new ProcessStartInfo(RdgProcess.HostPython(version)) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-B", "-m", "unittest", "-v", "test_rdg_launcher" }) psi.ArgumentList.Add(a);
            psi.Environment["TMPDIR"] = dir; // whatever a test leaves goes with this folder
            using var python = Process.Start(psi)!;
            var stdout = python.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = python.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(90));
            try
            {
                await python.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                python.Kill(entireProcessTree: true);
                throw new TimeoutException($"python{version} -m unittest did not finish in 90 s:\n{await stderr}");
            }
            var report = await stderr + await stdout;
            Assert.True(python.ExitCode == 0, report);
            Assert.Matches(@"Ran [1-9]\d* tests", report);
            Assert.Contains("\nOK", report, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
