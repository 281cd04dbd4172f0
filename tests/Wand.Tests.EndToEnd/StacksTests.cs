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

    private static Task<JsonElement> StacksJsonAsync(int pid, params string[] extra) => StacksJsonAsync(["--pid", pid.ToString(), .. extra]);

    private static async Task<JsonElement> StacksJsonAsync(string[] target)
    {
        var r = await WandCli.RunAsync(["stacks", .. target, "-o", "json"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout); // stdout is nothing but the JSON document
        return doc.RootElement.Clone();
    }

    /// <summary>Reads the stacks until <paramref name="ready"/> holds (threads take a moment to reach their blocking call).</summary>
    private static Task<JsonElement> StacksWhenAsync(int pid, Func<JsonElement, bool> ready, string what, params string[] extra) =>
        StacksWhenAsync(["--pid", pid.ToString(), .. extra], ready, what);

    private static async Task<JsonElement> StacksWhenAsync(string[] target, Func<JsonElement, bool> ready, string what)
    {
        JsonElement last = default;
        await Eventually.TrueAsync(async () => ready(last = await StacksJsonAsync(target)), TimeSpan.FromSeconds(40),
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

    private static string[] RootTmp(string version) =>
        Directory.GetFileSystemEntries(Testbed.RootFor(version) + "/tmp", "*", SearchOption.AllDirectories).Order().ToArray();

    /// <summary>3.9 and 3.10 have no co_qualname: a method's frame shows its bare name.</summary>
    private static string Qualified(string version, string qualname) =>
        version is "3.9" or "3.10" ? qualname[(qualname.LastIndexOf('.') + 1)..] : qualname;

    [Theory(Timeout = 180_000)]
    [InlineData("3.9")]
    [InlineData("3.11")]
    [InlineData("3.13")]
    [InlineData("3.14")]
    [InlineData("3.15")]
    public async Task DeadlockedProcessShowsEveryThreadsStack(string version)
    {
        var tmpBefore = RootTmp(version);
        await using var target = TargetProcess.StartPython(version, [App, "deadlock"]);
        await target.WaitForOutputAsync("ready");

        // time.sleep waits in select() before 3.11 (Modules/timemodule.c pysleep), in clock_nanosleep() since.
        var (sleepCall, sleepDescription) = version == "3.9" ? ("select", "waiting for I/O (select)") : ("clock_nanosleep", "sleeping (clock_nanosleep)");
        var stacks = await StacksWhenAsync(target.Pid,
            s => InSyscall(ThreadIn(s, "deadlock"), "futex") && InSyscall(ThreadIn(s, "sleeper"), sleepCall) && InSyscall(ThreadIn(s, "receiver"), "recvfrom"),
            "all three threads blocked in the kernel", "--locals");
        // 3.9's binary does not say its micro version (no Py_Version before 3.11).
        Assert.Matches(version == "3.9" ? "^3\\.9$" : $"^{version.Replace(".", "\\.")}\\.[0-9]+$", stacks.GetProperty("python").GetString());
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
            ("sleeper", Line("sleep"), sleepCall, sleepDescription),
            ("receiver", Line("recv"), "recvfrom", "receiving from a socket (recvfrom)"),
        })
        {
            var thread = ThreadIn(stacks, function)!.Value;
            var frames = Frames(thread).Select(Frame).ToList();
            Assert.Equal((App, line, function), frames[^1]);
            // Started by threading: its bootstrap is the outermost frame.
            Assert.Equal($"/usr/lib/python{version}/threading.py", frames[0].File);
            Assert.Equal(Qualified(version, "Thread._bootstrap"), frames[0].Function);
            Assert.Equal(description, thread.GetProperty("native").GetProperty("description").GetString());
            Assert.NotEqual(target.Pid, thread.GetProperty("tid").GetInt32());
            // Python 3.14+ names the OS thread after threading.Thread.name; older ones leave the process name.
            var named = version is "3.14" or "3.15";
            Assert.Equal(named ? function : $"python{version}", thread.GetProperty("name").GetString());
            Assert.Equal(named ? "thread" : "process", thread.GetProperty("nameSource").GetString());
        }

        var text = await WandCli.RunAsync(["stacks", "--pid", target.Pid.ToString()]);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains($"Thread {target.Pid} \"python{version}\" (process name): does not hold the GIL; native: waiting on a futex (lock)", text.Stdout);
        Assert.Contains($"    {App}:{Line("main-deadlock")} main\n    {App}:{Line("acquire")} deadlock\n", text.Stdout);

        Assert.False(target.HasExited);
        Assert.Equal(tmpBefore, RootTmp(version)); // nothing written into the target's root
    }

    /// <summary>
    /// The regex engine (Modules/_sre) neither releases the GIL nor returns to the eval loop during a
    /// match, so the main thread holds the GIL in C: exec/debug could never run there.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData("3.9")]
    [InlineData("3.11")]
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
    [InlineData("3.9")]
    [InlineData("3.11")]
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
    /// --consistent stops every thread for the read: a thread running Python flat out is then read
    /// whole every time (never "changed while reading"), the output says for how long, and the
    /// process runs on afterwards, untraced. On 3.9 too (PyFrameObject chains).
    /// </summary>
    [Theory(Timeout = 180_000)]
    [InlineData("3.9")]
    [InlineData("3.14")]
    public async Task ConsistentStopsEveryThreadForTheReadAndSaysHowLong(string version)
    {
        await using var target = TargetProcess.StartPython(version, [App, "busy"]);
        await target.WaitForOutputAsync("ready");
        for (var i = 0; i < 10; i++)
        {
            var stacks = await StacksJsonAsync(target.Pid, "--consistent", "--locals");
            var stopped = stacks.GetProperty("stoppedMs").GetDouble();
            Assert.True(stopped is > 0 and < 2000, stacks.ToString());
            var main = stacks.GetProperty("threads").EnumerateArray().Single(t => t.GetProperty("tid").GetInt32() == target.Pid);
            Assert.True(main.GetProperty("problem").ValueKind == JsonValueKind.Null, stacks.ToString());
            var frames = Frames(main).Select(Frame).ToList();
            Assert.Equal(["<module>", "main", "busy"], frames.Take(3).Select(f => f.Function));
            Assert.Equal((App, Line("module")), (frames[0].File, frames[0].Line));
            Assert.Equal((App, Line("main-busy")), (frames[1].File, frames[1].Line));
            Assert.Contains(frames[2].Line, new[] { Line("while"), Line("busy") });
            Assert.True(frames.Count == 3 || frames[3] == (App, Line("spin"), "spin") || frames[3] == (App, Line("spin-def"), "spin"), stacks.ToString());
        }
        var text = await WandCli.RunAsync(["stacks", "--pid", target.Pid.ToString(), "--consistent"]);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Matches(@"Every thread was stopped for [0-9]+\.[0-9] ms while it was read \(a consistent read\)\n", text.Stdout);
        Assert.Contains("TracerPid:\t0\n", await File.ReadAllTextAsync($"/proc/{target.Pid}/status"));
        var ticks = CpuTicks(target.Pid);
        await Eventually.TrueAsync(() => Task.FromResult(CpuTicks(target.Pid) > ticks + 5), TimeSpan.FromSeconds(20), "the target to run on after the read");
        Assert.False(target.HasExited);
    }

    /// <summary>utime + stime of the process (/proc/PID/stat fields 14 and 15).</summary>
    private static long CpuTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11]) + long.Parse(fields[12]);
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
    /// 3.9 and 3.11 go the ptrace route (a pending call), whose withdrawal reads the stack through the
    /// version's layout.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData("3.9")]
    [InlineData("3.11")]
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
        Testbed.AssertNothingLeftBehind();
    }

    /// <summary>
    /// A container's process on the host route: chosen by the container's name (its only Python
    /// process), read through /proc from this machine; threads are keyed by host TIDs.
    /// </summary>
    [Fact(Timeout = 180_000)]
    public async Task AContainersStuckProcessOnTheHostRoute()
    {
        await using var c = await TestContainer.StartAsync(["/usr/bin/python3.14", App, "deadlock"]);
        var hostPid = await c.HostPidAsync();
        var stacks = await StacksWhenAsync(["--container", c.Name, "--locals"],
            s => InSyscall(ThreadIn(s, "deadlock"), "futex") && InSyscall(ThreadIn(s, "receiver"), "recvfrom"), "the main thread in the lock");
        Assert.Equal(hostPid, stacks.GetProperty("pid").GetInt32());
        var main = ThreadIn(stacks, "deadlock")!.Value;
        Assert.Equal(hostPid, main.GetProperty("tid").GetInt32());
        Assert.Equal([(App, Line("module"), "<module>"), (App, Line("main-deadlock"), "main"), (App, Line("acquire"), "deadlock")],
            Frames(main).Select(Frame));
        Assert.Equal((App, Line("sleep"), "sleeper"), Frame(Frames(ThreadIn(stacks, "sleeper")!.Value)[^1]));

        var byPidInside = await WandCli.RunAsync(["stacks", "--container", c.Name, "--pid", "1"]);
        Assert.True(byPidInside.ExitCode == 0, byPidInside.ToString());
        Assert.Contains($"    {App}:{Line("main-deadlock")} main\n    {App}:{Line("acquire")} deadlock\n", byPidInside.Stdout);
        Assert.Equal(ExitCodes.ProcessNotFound, (await WandCli.RunAsync(["stacks", "--container", c.Name, "--pid", "4242"])).ExitCode);
    }

    /// <summary>
    /// The exec route: the container's own interpreter (a container without a shell, ps or tar; and
    /// bookworm's 3.11) serves the bytes of the app's /proc/PID/mem and wand decodes them; PIDs and
    /// TIDs are the container's own. --consistent needs ptrace from this machine and is refused there.
    /// </summary>
    [Theory(Timeout = 180_000)]
    [InlineData("3.14")]
    [InlineData("3.11")]
    public async Task AContainersStuckProcessThroughTheExecRoute(string version)
    {
        await using var c = await TestContainer.StartAsync([$"/usr/bin/python{version}", App, "deadlock"],
            rootfs: version == "3.14" ? TestContainer.ShellLessRootfs() : Testbed.RootFor(version));
        var stacks = await StacksWhenAsync(["--container", c.Name, "--route", "exec", "--locals"],
            s => InSyscall(ThreadIn(s, "deadlock"), "futex") && InSyscall(ThreadIn(s, "receiver"), "recvfrom"), "the main thread in the lock");
        Assert.Equal(1, stacks.GetProperty("pid").GetInt32());
        Assert.StartsWith(version + ".", stacks.GetProperty("python").GetString());
        var main = ThreadIn(stacks, "deadlock")!.Value;
        Assert.Equal(1, main.GetProperty("tid").GetInt32());
        Assert.Equal([(App, Line("module"), "<module>"), (App, Line("main-deadlock"), "main"), (App, Line("acquire"), "deadlock")],
            Frames(main).Select(Frame));
        var mainLocals = Frames(main)[1].GetProperty("locals").EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!);
        Assert.Equal("'deadlock'", mainLocals["mode"].GetProperty("value").GetString());
        var receiver = ThreadIn(stacks, "receiver")!.Value;
        Assert.Equal((App, Line("recv"), "receiver"), Frame(Frames(receiver)[^1]));
        Assert.True(receiver.GetProperty("tid").GetInt32() < 100, receiver.ToString()); // the container's numbering

        var consistent = await WandCli.RunAsync(["stacks", "--container", c.Name, "--route", "exec", "--consistent"]);
        Assert.Equal(ExitCodes.Usage, consistent.ExitCode);
    }

    /// <summary>
    /// exec through a container's exec withdraws from a main thread blocked in a lock and shows where, read from memory
    /// through the same exec (3.14: sys.remote_exec by the container's interpreter; 3.11: a pending call by ptrace).
    /// </summary>
    [Theory(Timeout = 180_000)]
    [InlineData("3.14")]
    [InlineData("3.11")]
    public async Task ExecThroughAContainersExecOnADeadlockedMainThreadShowsItsStack(string version)
    {
        await using var c = await TestContainer.StartAsync([$"/usr/bin/python{version}", App, "deadlock"],
            rootfs: version == "3.14" ? TestContainer.ShellLessRootfs() : Testbed.RootFor(version));
        await StacksWhenAsync(["--container", c.Name, "--route", "exec"], s => InSyscall(ThreadIn(s, "deadlock"), "futex"), "the main thread in the lock");
        var r = await WandCli.RunAsync(["exec", "--container", c.Name, "--route", "exec", "-c", "print(1)", "--timeout", "1"]);
        Assert.True(r.ExitCode == ExitCodes.InjectionFailed, r.ToString());
        Assert.Contains("withdrawn", r.Stderr);
        Assert.Contains($"      {App}:{Line("module")} <module>\n      {App}:{Line("main-deadlock")} main\n      {App}:{Line("acquire")} deadlock\n", r.Stderr);
    }

    /// <summary>
    /// A service's pods on the Kubernetes stand-in: --all-pods reads every Ready pod at once through
    /// its exec, grouped by pod; the hung pod shows where it hangs, the healthy one its sleep.
    /// pod/NAME and -s read one pod.
    /// </summary>
    [Fact(Timeout = 300_000)]
    public async Task AllPodsOfAServiceWithOneHung()
    {
        var labels = new Dictionary<string, string> { ["app"] = "stuck" };
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", labels);
        await cluster.AddPodAsync("api-hung", labels, [("app", ["/usr/bin/python3.14", App, "deadlock"])]);
        await cluster.AddPodAsync("api-fine", labels, [("app", ["/usr/bin/python3.14", "-c", "import time\ntime.sleep(600)"])],
            created: DateTimeOffset.UtcNow.AddMinutes(-5));

        JsonElement all = default;
        await Eventually.TrueAsync(async () =>
        {
            var r = await WandCli.RunAsync(["stacks", "-n", cluster.Namespace, "-s", "api", "--all-pods", "-o", "json"]);
            if (r.ExitCode != 0) return false;
            using var doc = JsonDocument.Parse(r.Stdout);
            all = doc.RootElement.Clone();
            var hung = all.GetProperty("pods").EnumerateArray().Single(p => p.GetProperty("pod").GetString() == "api-hung").GetProperty("stacks");
            return InSyscall(ThreadIn(hung, "deadlock"), "futex") && InSyscall(ThreadIn(hung, "receiver"), "recvfrom");
        }, TimeSpan.FromSeconds(60), "both pods read, the hung one blocked in its lock", () => all.ToString());
        var pods = all.GetProperty("pods").EnumerateArray().ToList();
        Assert.Equal(["api-fine", "api-hung"], pods.Select(p => p.GetProperty("pod").GetString()));
        Assert.All(pods, p => Assert.Equal(JsonValueKind.Null, p.GetProperty("error").ValueKind));
        var hungMain = ThreadIn(pods[1].GetProperty("stacks"), "deadlock")!.Value;
        Assert.Equal([(App, Line("module"), "<module>"), (App, Line("main-deadlock"), "main"), (App, Line("acquire"), "deadlock")], Frames(hungMain).Select(Frame));
        var fineMain = pods[0].GetProperty("stacks").GetProperty("threads")[0];
        Assert.Equal([("<string>", 2, "<module>")], Frames(fineMain).Select(Frame));

        var text = await WandCli.RunAsync(["stacks", "-n", cluster.Namespace, "-s", "api", "--all-pods"]);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Matches($"(?s)==> pod api-fine <==\nPID 1, .*<string>:2 <module>\n.*==> pod api-hung <==\nPID 1, .*{App}:{Line("acquire")} deadlock\n", text.Stdout);

        var one = await WandCli.RunAsync(["stacks", "-n", cluster.Namespace, "pod/api-hung"]);
        Assert.True(one.ExitCode == 0, one.ToString());
        Assert.Contains($"    {App}:{Line("main-deadlock")} main\n    {App}:{Line("acquire")} deadlock\n", one.Stdout);
        var newest = await WandCli.RunAsync(["stacks", "-n", cluster.Namespace, "-s", "api"]); // the newest Ready pod
        Assert.True(newest.ExitCode == 0, newest.ToString());
        Assert.Contains($"{App}:{Line("acquire")} deadlock", newest.Stdout);
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
