using System.Diagnostics;
using Wand.Progress;
using Wand.Transport.Exec;
using Xunit;

namespace Wand.Tests.Unit.Kubernetes;

/// <summary>
/// agent.py's watch mode behind <see cref="ExecWatcher"/>, run on this machine (an "exec" that is just
/// the program itself) with this machine's python3: births are reported quickly, and a killed watcher
/// is started again.
/// </summary>
public class ExecWatcherTests
{
    private sealed class ThisMachine : IExecTarget
    {
        public string Description => "this machine";
        public string Verb => "env";
        public string Program => "env";
        public string EntryPath => "";
        public IReadOnlyList<string> ExecArguments(IReadOnlyList<string> command) => command;
    }

    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task ANewProcessIsReportedAndAKilledWatcherIsStartedAgain()
    {
        Assert.True(File.Exists(Python), $"{Python} is needed to run agent.py");
        await using var watcher = new ExecWatcher(new ThisMachine(), () => Python, NullProgress.Instance, TimeProvider.System);
        Assert.Null(watcher.Latest);
        watcher.Start();
        await WaitAsync(() => watcher.Latest is not null);

        // The waiter is registered before the process starts: ChangedAsync waits for the NEXT listing,
        // and the watcher (polling every 50 ms) may report the birth before a call made after the start.
        // Its own timeout is far longer than the wait below, so only a change can complete it in time.
        var changed = watcher.ChangedAsync(TimeSpan.FromMinutes(10), CancellationToken.None);
        using var child = Process.Start(Python, ["-c", "import time; time.sleep(120)"]);
        await changed.WaitAsync(TimeSpan.FromSeconds(60)); // throws TimeoutException when no change woke the waiter
        await WaitAsync(() => Pids(watcher).Contains(child.Id));

        var first = watcher.ProcessId!.Value;
        Process.GetProcessById(first).Kill();
        await WaitAsync(() => watcher.Restarts == 1 && watcher.ProcessId is { } p && p != first && watcher.Latest is not null);

        child.Kill();
        await WaitAsync(() => !Pids(watcher).Contains(child.Id));
    }

    private static HashSet<int> Pids(ExecWatcher watcher) =>
        watcher.Latest is { } l ? l.GetProperty("processes").EnumerateArray().Select(p => p.GetProperty("pid").GetInt32()).ToHashSet() : [];

    // Generous: the watcher is a real python3 started through a real process, on a machine that may be loaded.
    private static Task WaitAsync(Func<bool> condition) =>
        Eventually.TrueAsync(condition, TimeSpan.FromSeconds(60), "the watcher to get there");
}
