using System.Runtime.InteropServices;
using Wand.Injection.Attacher;
using Wand.Stacks;
using Wand.Transport.Local;
using Xunit;

namespace Wand.Tests.Unit.Stacks;

/// <summary>Joining Python threads with /proc/PID/task, on a synthetic /proc tree.</summary>
public sealed class StackCaptureTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("wand-procfs-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Task(int pid, int tid, string comm, string syscall, string wchan, string? nspid = null)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_root, pid.ToString(), "task", tid.ToString())).FullName;
        File.WriteAllText(Path.Combine(dir, "comm"), comm + "\n");
        File.WriteAllText(Path.Combine(dir, "syscall"), syscall + "\n");
        File.WriteAllText(Path.Combine(dir, "wchan"), wchan);
        File.WriteAllText(Path.Combine(dir, "status"), $"Name:\t{comm}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t{nspid ?? tid.ToString()}\n");
        if (tid == pid)
        {
            File.WriteAllText(Path.Combine(_root, pid.ToString(), "comm"), comm + "\n");
            File.WriteAllText(Path.Combine(_root, pid.ToString(), "status"), $"Name:\t{comm}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t{nspid ?? tid.ToString()}\n");
        }
    }

    private static PythonThread Python(int nativeId, string function) =>
        new(nativeId, 0, false, [new StackFrame("/app/main.py", 1, function, null)], null);

    private const string Version = "3.14.10";

    [Fact]
    public void NamesSourcesNativeStateAndThreadsWithoutPython()
    {
        Task(500, 500, "python3.14", "202 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8", "futex_wait_queue");
        Task(500, 503, "sleeper", "230 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8", "hrtimer_nanosleep");
        Task(500, 504, "python3.14", "running", "0");
        var stacks = StackCapture.Combine(500, Version, [Python(500, "main"), Python(503, "sleeper")], new ProcFs(_root));

        Assert.Equal("3.14.10", stacks.PythonVersion);
        Assert.Equal([500, 503, 504], stacks.Threads.Select(t => t.Tid));
        Assert.Equal((ThreadNameSource.Process, "python3.14"), (stacks.Threads[0].NameSource, stacks.Threads[0].Name));
        Assert.Equal((ThreadNameSource.Thread, "sleeper"), (stacks.Threads[1].NameSource, stacks.Threads[1].Name));
        if (RuntimeInformation.OSArchitecture == Architecture.X64)
        {
            Assert.Equal("futex", stacks.Threads[0].Native.Syscall);
            Assert.Equal("clock_nanosleep", stacks.Threads[1].Native.Syscall);
        }
        Assert.Equal("hrtimer_nanosleep", stacks.Threads[1].Native.WaitChannel);
        Assert.Null(stacks.Threads[2].Python); // an OS thread without a Python thread state
        Assert.Equal("running", stacks.Threads[2].Native.State);
    }

    /// <summary>In a container, native_thread_id is the TID inside its PID namespace: map it to the host TID through NSpid.</summary>
    [Fact]
    public void MapsContainerTidsToHostTids()
    {
        Task(7000, 7000, "python3.14", "202 0 0 0 0 0 0 0 0", "x", "7000\t1");
        Task(7000, 7005, "worker", "45 0 0 0 0 0 0 0 0", "x", "7005\t9");
        var stacks = StackCapture.Combine(7000, Version, [Python(1, "main"), Python(9, "work")], new ProcFs(_root));
        Assert.Equal([7000, 7005], stacks.Threads.Select(t => t.Tid));
        Assert.Equal(["main", "work"], stacks.Threads.Select(t => t.Python!.Frames[0].Function));
    }

    [Fact]
    public void AThreadThatEndedHasNoName()
    {
        Task(600, 600, "python3.14", "running", "0");
        var stacks = StackCapture.Combine(600, Version, [Python(600, "main"), Python(601, "gone")], new ProcFs(_root));
        Assert.Equal(ThreadNameSource.None, stacks.Threads[1].NameSource);
        Assert.Equal("unknown", stacks.Threads[1].Native.State);
    }
}
