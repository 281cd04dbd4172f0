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

        using var child = Process.Start(Python, ["-c", "import time; time.sleep(30)"]);
        var changed = watcher.ChangedAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        await WaitAsync(() => Pids(watcher).Contains(child.Id));
        Assert.True(changed.IsCompleted); // the change woke the waiter before its timeout

        var first = watcher.ProcessId!.Value;
        Process.GetProcessById(first).Kill();
        await WaitAsync(() => watcher.Restarts == 1 && watcher.ProcessId is { } p && p != first && watcher.Latest is not null);

        child.Kill();
        await WaitAsync(() => !Pids(watcher).Contains(child.Id));
    }

    private static HashSet<int> Pids(ExecWatcher watcher) =>
        watcher.Latest is { } l ? l.GetProperty("processes").EnumerateArray().Select(p => p.GetProperty("pid").GetInt32()).ToHashSet() : [];

    private static async Task WaitAsync(Func<bool> condition)
    {
        for (var i = 0; i < 300; i++)
        {
            if (condition()) return;
            await Task.Delay(50);
        }
        Assert.Fail("the watcher did not get there within 15 s");
    }
}
