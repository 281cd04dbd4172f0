using System.Diagnostics;
using Wand.Hpc;
using Wand.Injection.Payloads;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// rdg_launcher.py's and rdg_rank.py's functions, unit-tested with the standard library's unittest
/// (Python/test_rdg_launcher.py) in each of the testbed's interpreters, against the payloads rdg ships
/// (embedded). The launcher must run on 3.9+: bullseye's 3.9 (tests/testbed/oldpythons.sh, a rootfs of
/// its own, run through chroot) and Debian sid's 3.13, 3.14 and 3.15.
/// </summary>
public sealed class RdgLauncherPythonTests
{
    [Theory(Timeout = 120_000)]
    [InlineData("3.9")]
    [InlineData("3.13")]
    [InlineData("3.14")]
    [InlineData("3.15")]
    public async Task TheLaunchersFunctionsPassTheirUnitTests(string version)
    {
        Testbed.EnsureReady();
        // 3.9 runs chrooted in its rootfs: the files go into that rootfs's /tmp, found through PYTHONPATH.
        var chrooted = version == "3.9";
        var inside = "/tmp/rdg-pyunit-" + Guid.NewGuid().ToString("N")[..10];
        var dir = chrooted ? Directory.CreateDirectory(Testbed.RootFor(version) + inside).FullName : Directory.CreateTempSubdirectory("rdg-pyunit-").FullName;
        try
        {
            foreach (var payload in new[] { DebugLauncher.LauncherFile, DebugLauncher.RankFile })
                await File.WriteAllTextAsync(Path.Combine(dir, payload), Payload.Read(payload));
            File.Copy(Path.Combine(Testbed.RepoRoot, "tests/Wand.Tests.EndToEnd/Python/test_rdg_launcher.py"), Path.Combine(dir, "test_rdg_launcher.py"));
            string[] unittest = ["-B", "-m", "unittest", "-v", "test_rdg_launcher"];
            var psi = chrooted ? new ProcessStartInfo("chroot") : new ProcessStartInfo(RdgProcess.HostPython(version)) { WorkingDirectory = dir };
            psi.RedirectStandardOutput = true;
            psi.RedirectStandardError = true;
            foreach (var a in chrooted ? [Testbed.RootFor(version), "/usr/bin/python3.9", .. unittest] : unittest) psi.ArgumentList.Add(a);
            psi.Environment["TMPDIR"] = chrooted ? inside : dir; // whatever a test leaves goes with this folder
            if (chrooted) psi.Environment["PYTHONPATH"] = inside;
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
