using System.Diagnostics;
using System.Text.Json;
using Wand.Errors;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// <c>wand stacks --pid</c> against real, really stuck interpreters in the testbed rootfs
/// (tests/testbed/apps/stuck.py): a main thread deadlocked on a threading.Lock, a thread in
/// time.sleep, a thread in socket.recv, and a main thread holding the GIL inside the regex engine.
/// Lines are the ones marked <c># STACK: name</c> in the app. In the target-root collection, so the
/// check that nothing was written into the target's root sees only this test's effects.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class StacksTests
{
    private const string App = "/srv/apps/stuck.py";

    private static int Line(string name)
    {
        var lines = File.ReadAllLines(Testbed.HostPath(App));
        var index = Array.FindIndex(lines, l => l.TrimEnd().EndsWith($"# STACK: {name}", StringComparison.Ordinal));
        return index >= 0 ? index + 1 : throw new InvalidOperationException($"no '# STACK: {name}' in {App}");
    }

    private static async Task<JsonElement> StacksJsonAsync(int pid, params string[] extra)
    {
        var r = await WandCli.RunAsync(["stacks", "--pid", pid.ToString(), "-o", "json", .. extra]);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout); // stdout is nothing but the JSON document
        return doc.RootElement.Clone();
    }

    /// <summary>Reads the stacks until <paramref name="ready"/> holds (threads take a moment to reach their blocking call).</summary>
    private static async Task<JsonElement> StacksWhenAsync(int pid, Func<JsonElement, bool> ready, string what, params string[] extra)
    {
        JsonElement last = default;
        await Eventually.TrueAsync(async () => ready(last = await StacksJsonAsync(pid, extra)), TimeSpan.FromSeconds(40),
            $"the stacks to show {what}", () => $"last read:\n{last}");
        return last;
    }

    private static List<JsonElement> Frames(JsonElement thread) => thread.GetProperty("frames").EnumerateArray().ToList();

    private static (string File, int Line, string Function) Frame(JsonElement f) =>
        (f.GetProperty("file").GetString()!, f.GetProperty("line").ValueKind == JsonValueKind.Number ? f.GetProperty("line").GetInt32() : -1, f.GetProperty("function").GetString()!);

    private static JsonElement? ThreadIn(JsonElement stacks, string function) =>
        stacks.GetProperty("threads").EnumerateArray()
            .Where(t => t.GetProperty("frames").GetArrayLength() > 0 && Frame(Frames(t)[^1]).Function == function)
            .Select(t => (JsonElement?)t).FirstOrDefault();

    private static bool InSyscall(JsonElement? thread, string syscall) =>
        thread is { } t && t.GetProperty("native").GetProperty("syscall").GetString() == syscall;

    private static string[] RootTmp() =>
        Directory.GetFileSystemEntries(Testbed.HostPath("/tmp"), "*", SearchOption.AllDirectories).Order().ToArray();

    [Theory(Timeout = 180_000)]
    [InlineData("3.13")]
    [InlineData("3.14")]
    [InlineData("3.15")]
    public async Task DeadlockedProcessShowsEveryThreadsStack(string version)
    {
        var tmpBefore = RootTmp();
        await using var target = TargetProcess.StartPython(version, [App, "deadlock"]);
        await target.WaitForOutputAsync("ready");

        var stacks = await StacksWhenAsync(target.Pid,
            s => InSyscall(ThreadIn(s, "deadlock"), "futex") && InSyscall(ThreadIn(s, "sleeper"), "clock_nanosleep") && InSyscall(ThreadIn(s, "receiver"), "recvfrom"),
            "all three threads blocked in the kernel", "--locals");
        Assert.StartsWith(version + ".", stacks.GetProperty("python").GetString());
        Assert.Equal(target.Pid, stacks.GetProperty("pid").GetInt32());
        var threads = stacks.GetProperty("threads").EnumerateArray().ToList();
        Assert.All(threads, t => Assert.False(t.GetProperty("holdsGil").GetBoolean())); // every thread released it to block

        // The main thread: exactly three frames, outermost first, innermost last.
        var main = ThreadIn(stacks, "deadlock")!.Value;
        Assert.Equal(target.Pid, main.GetProperty("tid").GetInt32());
        Assert.Equal([(App, Line("module"), "<module>"), (App, Line("main-deadlock"), "main"), (App, Line("acquire"), "deadlock")],
            Frames(main).Select(Frame));
        Assert.Equal("waiting on a futex (lock)", main.GetProperty("native").GetProperty("description").GetString());
        Assert.Equal("process", main.GetProperty("nameSource").GetString());
        var mainLocals = Frames(main)[1].GetProperty("locals").EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!);
        Assert.Equal("str", mainLocals["mode"].GetProperty("type").GetString());
        Assert.Equal("'deadlock'", mainLocals["mode"].GetProperty("value").GetString());
        Assert.Equal(8, mainLocals["mode"].GetProperty("length").GetInt32());
        Assert.Equal("socket", mainLocals["ours"].GetProperty("type").GetString());
        Assert.Equal("_thread.lock", Frames(main)[2].GetProperty("locals")[0].GetProperty("type").GetString());

        foreach (var (function, line, syscall, description) in new[]
        {
            ("sleeper", Line("sleep"), "clock_nanosleep", "sleeping (clock_nanosleep)"),
            ("receiver", Line("recv"), "recvfrom", "receiving from a socket (recvfrom)"),
        })
        {
            var thread = ThreadIn(stacks, function)!.Value;
            var frames = Frames(thread).Select(Frame).ToList();
            Assert.Equal((App, line, function), frames[^1]);
            // Started by threading: its bootstrap is the outermost frame.
            Assert.Equal($"/usr/lib/python{version}/threading.py", frames[0].File);
            Assert.Equal("Thread._bootstrap", frames[0].Function);
            Assert.Equal(description, thread.GetProperty("native").GetProperty("description").GetString());
            Assert.NotEqual(target.Pid, thread.GetProperty("tid").GetInt32());
            // Python 3.14+ names the OS thread after threading.Thread.name; 3.13 leaves the process name.
            Assert.Equal(version == "3.13" ? $"python{version}" : function, thread.GetProperty("name").GetString());
            Assert.Equal(version == "3.13" ? "process" : "thread", thread.GetProperty("nameSource").GetString());
        }

        var text = await WandCli.RunAsync(["stacks", "--pid", target.Pid.ToString()]);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains($"Thread {target.Pid} \"python{version}\" (process name): does not hold the GIL; native: waiting on a futex (lock)", text.Stdout);
        Assert.Contains($"    {App}:{Line("main-deadlock")} main\n    {App}:{Line("acquire")} deadlock\n", text.Stdout);

        Assert.False(target.HasExited);
        Assert.Equal(tmpBefore, RootTmp()); // nothing written into the target's root
    }

    /// <summary>
    /// The regex engine (Modules/_sre) neither releases the GIL nor returns to the eval loop during a
    /// match, so the main thread holds the GIL in C: exec/debug could never run there.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData("3.13")]
    [InlineData("3.14")]
    [InlineData("3.15")]
    public async Task ACallHoldingTheGilInCIsShownAsTheHolder(string version)
    {
        await using var target = TargetProcess.StartPython(version, [App, "gil"]);
        await target.WaitForOutputAsync("ready");
        var stacks = await StacksWhenAsync(target.Pid,
            s => ThreadIn(s, "hold_gil") is { } t && t.GetProperty("holdsGil").GetBoolean(), "the main thread holding the GIL in hold_gil", "--locals");
        var main = ThreadIn(stacks, "hold_gil")!.Value;
        Assert.Equal(target.Pid, main.GetProperty("tid").GetInt32());
        Assert.Equal([(App, Line("module"), "<module>"), (App, Line("main-gil"), "main"), (App, Line("match"), "hold_gil")], Frames(main).Select(Frame));
        Assert.Equal("running", main.GetProperty("native").GetProperty("state").GetString());
        var locals = Frames(main)[2].GetProperty("locals").EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!);
        Assert.Equal("re.Pattern", locals["pattern"].GetProperty("type").GetString());
        Assert.Equal(65, locals["text"].GetProperty("length").GetInt32());
        Assert.StartsWith("'aaaa", locals["text"].GetProperty("value").GetString());
        Assert.Single(stacks.GetProperty("threads").EnumerateArray(), t => t.GetProperty("holdsGil").GetBoolean());
    }

    /// <summary>
    /// A thread running Python flat out changes its frames under every read: each read still succeeds
    /// and shows frames that really are the program's (right function, a line of that function), or
    /// says the chain changed while reading; never garbage.
    /// </summary>
    [Theory(Timeout = 180_000)]
    [InlineData("3.13")]
    [InlineData("3.14")]
    [InlineData("3.15")]
    public async Task FramesChangingUnderTheReadAreNeverGarbage(string version)
    {
        await using var target = TargetProcess.StartPython(version, [App, "busy"]);
        await target.WaitForOutputAsync("ready");
        var expected = new Dictionary<string, int[]>
        {
            ["<module>"] = [Line("module")],
            ["main"] = [Line("main-busy")],
            ["busy"] = [Line("while"), Line("busy")],
            ["spin"] = [Line("spin-def"), Line("spin")],
        };
        for (var i = 0; i < 15; i++)
        {
            var stacks = await StacksJsonAsync(target.Pid);
            var main = stacks.GetProperty("threads").EnumerateArray().Single(t => t.GetProperty("tid").GetInt32() == target.Pid);
            var frames = Frames(main).Select(Frame).ToList();
            var problem = main.GetProperty("problem").GetString();
            if (problem is not null) Assert.StartsWith("changed while reading", problem);
            else Assert.Equal(["<module>", "main", "busy"], frames.Take(3).Select(f => f.Function));
            foreach (var (file, line, function) in frames)
            {
                Assert.Equal(App, file);
                Assert.True(expected.TryGetValue(function, out var lines) && lines.Contains(line), $"{function}:{line} is not a line of the program\n{stacks}");
            }
            Assert.True(frames.Count <= 4, stacks.ToString());
        }
        Assert.False(target.HasExited);
    }

    /// <summary>
    /// Nothing stops or writes the target: wand runs under strace, and the log shows reads of the
    /// target's memory (so the trace is not empty) but no ptrace, no signal to it, no memory write.
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task ReadingNeverStopsOrWritesTheTarget()
    {
        await using var target = TargetProcess.StartPython("3.14", [App, "deadlock"]);
        await target.WaitForOutputAsync("ready");
        var log = Path.Combine(Path.GetTempPath(), $"wand-stacks-strace-{Guid.NewGuid():N}.log");
        try
        {
            var psi = new ProcessStartInfo("strace") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])["-f", "-qq", "-o", log, "-e", "trace=ptrace,kill,tkill,tgkill,pidfd_send_signal,process_vm_readv,process_vm_writev,openat,pwrite64,pwritev",
                         .. TestedTool.Wand.With("stacks", "--pid", target.Pid.ToString(), "--locals")])
                psi.ArgumentList.Add(a);
            psi.Environment["DEBUGWAND_SIMPLE_UI"] = "1";
            using var wand = Process.Start(psi)!;
            var stdout = wand.StandardOutput.ReadToEndAsync();
            var stderr = wand.StandardError.ReadToEndAsync();
            await wand.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
            Assert.True(wand.ExitCode == 0, $"exit {wand.ExitCode}\n{await stdout}\n{await stderr}");
            Assert.Contains($"{App}:{Line("acquire")} deadlock", await stdout);

            var calls = await File.ReadAllLinesAsync(log);
            var pid = target.Pid.ToString();
            Assert.Contains(calls, c => c.Contains($"process_vm_readv({pid},", StringComparison.Ordinal));
            Assert.DoesNotContain(calls, c => c.Contains("ptrace(", StringComparison.Ordinal));
            Assert.DoesNotContain(calls, c => c.Contains("process_vm_writev(", StringComparison.Ordinal));
            Assert.DoesNotContain(calls, c => c.Contains($"kill({pid},", StringComparison.Ordinal) || c.Contains($"tgkill({pid},", StringComparison.Ordinal) || c.Contains("pidfd_send_signal(", StringComparison.Ordinal));
            Assert.DoesNotContain(calls, c => c.Contains($"/proc/{pid}/mem", StringComparison.Ordinal));
            var status = await File.ReadAllTextAsync($"/proc/{pid}/status");
            Assert.Contains("TracerPid:\t0\n", status);
        }
        finally
        {
            File.Delete(log);
        }
    }

    /// <summary>A target killed while wand reads it gives one clean line and a named exit code, never a crash.</summary>
    [Fact(Timeout = 180_000)]
    public async Task ATargetThatExitsMidReadGivesACleanError()
    {
        var outcomes = new List<int>();
        foreach (var delay in new[] { 0, 40, 80, 120, 160, 200, 260, 320 })
        {
            var target = TargetProcess.StartPython("3.14", [App, "deadlock"]);
            await target.WaitForOutputAsync("ready");
            // The framework-dependent wand: the NativeAOT one has read the whole stack before the earliest kill.
            var run = WandCli.RunAsync(["stacks", "--pid", target.Pid.ToString(), "--locals"], tool: TestedTool.FrameworkDependentWand);
            // A fixed delay on purpose: the kill sweeps the read's phases (no event marks them) to hit each window.
            await Task.Delay(delay);
            await target.DisposeAsync();
            var r = await run;
            outcomes.Add(r.ExitCode);
            Assert.True(r.ExitCode is ExitCodes.Ok or ExitCodes.TargetExited or ExitCodes.ProcessNotFound, r.ToString());
            if (r.ExitCode != 0)
            {
                Assert.DoesNotContain("internal error", r.Stderr);
                Assert.DoesNotContain("   at ", r.Stderr); // no stack trace
                Assert.Equal(2, r.Stderr.Trim().Split('\n').Length); // the error line and its hint
            }
        }
        Assert.Contains(outcomes, c => c != ExitCodes.Ok); // at least one run saw the process go
    }

    /// <summary>
    /// exec withdraws its request from a main thread blocked in C and shows where it is blocked: the
    /// thread's Python stack read from memory, in place of a pointer to py-spy. On 3.15 this also needs
    /// the attacher to know the thread's real TID (3.15 moved native_thread_id in the offsets table).
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData("3.14")]
    [InlineData("3.15")]
    public async Task ExecOnADeadlockedMainThreadShowsItsStack(string version)
    {
        await using var target = TargetProcess.StartPython(version, [App, "deadlock"]);
        await target.WaitForOutputAsync("ready");
        await StacksWhenAsync(target.Pid, s => InSyscall(ThreadIn(s, "deadlock"), "futex"), "the main thread in the lock");
        var r = await WandCli.RunAsync(["exec", "--pid", target.Pid.ToString(), "-c", "print(1)", "--timeout", "1"]);
        Assert.True(r.ExitCode == ExitCodes.SafePointTimeout, r.ToString());
        Assert.Contains("withdrawn", r.Stderr);
        Assert.Contains($"      {App}:{Line("module")} <module>\n      {App}:{Line("main-deadlock")} main\n      {App}:{Line("acquire")} deadlock\n", r.Stderr);
        Assert.Contains($"wand stacks --pid {target.Pid}", r.Stderr);
        Assert.DoesNotContain("py-spy", r.Stderr);
        Assert.Empty(Testbed.WandLeftovers());
    }

    [Fact(Timeout = 60_000)]
    public async Task PermissionDeniedGivesTheSameFixAsExec()
    {
        await using var target = TargetProcess.StartPython("3.14", [App, "deadlock"]);
        await target.WaitForOutputAsync("ready");
        var r = await WandCli.RunAsync(["stacks", "--pid", target.Pid.ToString()], user: "65534");
        Assert.Equal(ExitCodes.PermissionDenied, r.ExitCode);
        Assert.Contains("CAP_SYS_PTRACE", r.Stderr);
        Assert.Contains("sudo", r.Stderr);
        Assert.Equal(2, r.Stderr.Trim().Split('\n').Length);
    }

    [Fact(Timeout = 60_000)]
    public async Task NotAPythonProcess()
    {
        using var sleep = Process.Start("sleep", "60");
        try
        {
            var r = await WandCli.RunAsync(["stacks", "--pid", sleep.Id.ToString()]);
            Assert.Equal(ExitCodes.NotPython, r.ExitCode);
        }
        finally
        {
            sleep.Kill();
        }
    }
}
