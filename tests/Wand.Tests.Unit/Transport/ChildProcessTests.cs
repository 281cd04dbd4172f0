using Wand.Transport;
using Xunit;

namespace Wand.Tests.Unit.Transport;

/// <summary>A long-lived child (<see cref="ProcessRunner.Start"/>): disposing it or stopping it leaves nothing of it running.</summary>
public class ChildProcessTests
{
    [Fact(Timeout = 30_000)]
    public async Task DisposeKillsTheChildAndItsChildren()
    {
        // sh starts the sleep as its own child: the kill must reach the whole tree, not only sh.
        var seconds = ChildProcesses.UniqueSleep();
        var child = ProcessRunner.Start("sh", ["-c", "sleep \"$0\" & wait", seconds], new ChildProcessOptions { OnOutputLine = ChildProcessOptions.Drain, OnErrorLine = ChildProcessOptions.Drain });
        await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 1, TimeSpan.FromSeconds(10), $"sleep {seconds} to start");
        child.Dispose();
        await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 0, TimeSpan.FromSeconds(10), $"sleep {seconds} to be gone");
    }

    [Fact(Timeout = 30_000)]
    public async Task StopAsksFirstThenKillsWhatIgnoresTheAsking()
    {
        // The first child ends on SIGTERM (its status says so); the second ignores it and is killed after the grace.
        using var polite = ProcessRunner.Start("sleep", [ChildProcesses.UniqueSleep()], new ChildProcessOptions { OnOutputLine = ChildProcessOptions.Drain, OnErrorLine = ChildProcessOptions.Drain });
        await polite.StopAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(128 + 15, polite.ExitCode);

        var seconds = ChildProcesses.UniqueSleep();
        using var stubborn = ProcessRunner.Start("sh", ["-c", "trap '' TERM; echo ready; sleep \"$0\" & wait", seconds], new ChildProcessOptions { OnErrorLine = ChildProcessOptions.Drain });
        Assert.Equal("ready", await stubborn.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));
        await stubborn.StopAsync(TimeSpan.FromMilliseconds(300));
        Assert.Equal(128 + 9, stubborn.ExitCode);
        await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 0, TimeSpan.FromSeconds(10), $"sleep {seconds} to be gone");
    }

    [Fact(Timeout = 30_000)]
    public async Task EnvironmentIsSetAndRemoved()
    {
        Assert.NotNull(Environment.GetEnvironmentVariable("PATH"));
        var lines = new List<string>();
        using var child = ProcessRunner.Start("env", [], new ChildProcessOptions
        {
            Environment = new Dictionary<string, string?> { ["WAND_TEST_A"] = "1", ["PATH"] = null },
            OnOutputLine = line => { lock (lines) lines.Add(line); },
            OnErrorLine = ChildProcessOptions.Drain,
        });
        await child.WaitForExitAsync(TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => { lock (lines) return lines.Contains("WAND_TEST_A=1"); }, TimeSpan.FromSeconds(10), "env to print WAND_TEST_A=1");
        lock (lines) Assert.DoesNotContain(lines, l => l.StartsWith("PATH=", StringComparison.Ordinal));
        Assert.NotNull(Environment.GetEnvironmentVariable("PATH")); // wand's own is untouched
    }

    [Fact(Timeout = 30_000)]
    public async Task StderrLinesArriveOneByOne()
    {
        var lines = new List<string>();
        using var child = ProcessRunner.Start("sh", ["-c", "echo one >&2; echo two >&2"], new ChildProcessOptions
        {
            OnOutputLine = ChildProcessOptions.Drain,
            OnErrorLine = line => { lock (lines) lines.Add(line); },
        });
        await child.WaitForExitAsync(TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => { lock (lines) return lines.Count == 2; }, TimeSpan.FromSeconds(10), "two stderr lines");
        lock (lines) Assert.Equal(["one", "two"], lines);
    }

    [Fact]
    public void AProgramNotOnPathIsNamed()
    {
        var e = Assert.Throws<ProcessRunner.NotInstalledException>(() => ProcessRunner.Start("wand-no-such-program", []));
        Assert.Equal("wand-no-such-program", e.Program);
    }
}
