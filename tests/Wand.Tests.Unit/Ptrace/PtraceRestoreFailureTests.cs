using System.Diagnostics;
using System.Text.Json;
using Wand.Errors;
using Wand.Injection.Payloads;
using Wand.Injection.Ptrace;
using Wand.Transport.Local;
using Xunit;
using static Wand.Tests.Unit.Ptrace.PtraceTargets;

namespace Wand.Tests.Unit.Ptrace;

/// <summary>
/// When a register of the interrupted thread cannot be written back, wand still puts back every
/// other one, releases the thread (PTRACE_DETACH, not left stopped under it) and raises the typed
/// error that says the process may need a restart, on both routes: the host's
/// <see cref="PtraceSession"/> and the exec route's agent_ptrace.py. The refusal is the kernel's own:
/// after wand made the thread run an mmap and then a C call (which leaves rsp below the saved one), the
/// test puts cs = 0 into the saved registers, a value x86-64 refuses with EIO (arch/x86/kernel/ptrace.c,
/// set_segment_reg). PTRACE_SETREGS stops at it (putreg, slot by slot: rsp and the slots after cs are
/// left as the call left them); the thread runs on unharmed only if the others are put back one by one.
/// The page stays mapped in the target (killed afterwards): unmapping it would be a syscall planned from
/// the saved registers, which would put rsp back before the release is tested.
/// </summary>
public class PtraceRestoreFailureTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>A main thread that prints a tick every 20 ms: it goes on printing only if it was put back where it was.</summary>
    private const string Ticking = "import time\nprint('ready', flush=True)\ni = 0\nwhile True:\n    i += 1\n    print(i, flush=True)\n    time.sleep(0.02)\n";

    [Fact(Timeout = 60_000)]
    public async Task TheHostRouteReleasesTheThreadPutsBackTheRestAndSaysTheProcessMayNeedARestart()
    {
        await using var python = await ShellStartedPython.StartAsync("3.11", Ticking);
        var pid = python.Pid;
        var (error, tracer) = await OnOwnThread(() =>
        {
            var arch = PtraceArchitecture.Current;
            var strtod = LibcFunction(pid, "strtod");
            using var memory = ProcessMemory.Open(pid);
            var session = PtraceSession.Attach(pid, pid, arch, ProcFs.Default, Timeout);
            var syscall = PendingCallTarget.FindSyscallInstruction(arch, ProcFs.Default, pid, memory, session.Saved);
            var page = (ulong)session.Syscall(syscall, 9 /* mmap */, Timeout, 0, 4096, 3, 0x22, ulong.MaxValue, 0);
            memory.Write(page, "1.5\0"u8);
            // The last thing the thread runs for wand: it leaves rsp ~400 bytes below the saved one.
            Assert.NotNull(session.Call(memory, strtod, page, Timeout, page, 0));
            session.Saved[PtraceArchitecture.X64.Cs] = 0;
            var error = Record.Exception(() => session.Release());
            // Read before this thread ends: the kernel lets a tracer's tracees go when it exits.
            return (error, TracerPid(pid));
        });

        Assert.True(error is ThreadNotRestoredException, $"expected {nameof(ThreadNotRestoredException)}, got {error}");
        var e = (ThreadNotRestoredException)error;
        Assert.Equal(["register cs: Input/output error"], e.NotRestored);
        Assert.Equal(ExitCodes.ThreadNotRestored, e.ExitCode);
        Assert.Contains("restart", e.Hint);
        Assert.True(tracer is not null, "the target died right after the release");
        Assert.True(tracer == 0, $"the thread is still traced by PID {tracer} after the release");
        await RunsOnAsync(python);
    }

    [Fact(Timeout = 60_000)]
    public async Task TheExecRouteReleasesTheThreadPutsBackTheRestAndSaysTheProcessMayNeedARestart()
    {
        // agent_ptrace.py's own _Held (the class queue() uses) in the target's interpreter, made to run
        // the same sequence; its text comes on stdin, as agent.py gets it.
        const string Driver = """
            import json, os, sys
            ns = {}
            exec(sys.stdin.read(), ns)
            pid, strtod = int(sys.argv[1]), int(sys.argv[2])
            mem = os.open("/proc/%d/mem" % pid, os.O_RDWR)
            held = ns["_Held"](ns["_Libc"](), pid, 5.0)
            insn = ns["_syscall_instruction"](pid, mem, held.saved)
            page = held.syscall(insn, 9, 0, 4096, 3, 0x22, ns["_MASK"], 0)
            os.pwrite(mem, b"1.5\0", page)
            assert held.call(mem, strtod, page, page, 0) is not None  # last: rsp is left below the saved one
            held.saved[17] = 0  # cs
            try:
                held.release()
                error = None
            except ns["Failure"] as e:
                error = {"error": e.error, "detail": e.detail}
            tracer = [l.split()[1] for l in open("/proc/%d/status" % pid) if l.startswith("TracerPid:")][0]
            print(json.dumps({"failure": error, "tracer": int(tracer)}))
            """;
        await using var python = await ShellStartedPython.StartAsync("3.11", Ticking);
        var psi = new ProcessStartInfo("chroot") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[RootFor("3.11"), "/usr/bin/python3.11", "-c", Driver, python.Pid.ToString(), LibcFunction(python.Pid, "strtod").ToString()])
            psi.ArgumentList.Add(a);
        using var agent = Process.Start(psi)!;
        await agent.StandardInput.WriteAsync(Payload.Read("agent_ptrace.py"));
        agent.StandardInput.Close();
        var output = agent.StandardOutput.ReadToEndAsync();
        var errors = agent.StandardError.ReadToEndAsync();
        await agent.WaitForExitAsync();
        Assert.True(agent.ExitCode == 0, $"the agent failed: {await output}{await errors}");

        using var answer = JsonDocument.Parse(await output);
        var failure = answer.RootElement.GetProperty("failure");
        Assert.True(failure.ValueKind == JsonValueKind.Object, $"release() raised nothing: {answer.RootElement}");
        Assert.Equal("thread-not-restored", failure.GetProperty("error").GetString());
        Assert.Contains("register cs: Input/output error", failure.GetProperty("detail").GetString());
        Assert.Equal(0, answer.RootElement.GetProperty("tracer").GetInt32());
        await RunsOnAsync(python);
    }

    /// <summary>The target prints new ticks: its thread was released and resumed where it was (a wrong rsp or rip would crash it).</summary>
    private static async Task RunsOnAsync(ShellStartedPython python)
    {
        var seen = python.Lines.Count;
        await Eventually.TrueAsync(() => python.Lines.Count >= seen + 3 || !Directory.Exists($"/proc/{python.Pid}"), TimeSpan.FromSeconds(10),
            "the target to print more ticks after the release", () => string.Join(' ', python.Lines.TakeLast(5)));
        Assert.True(Directory.Exists($"/proc/{python.Pid}") && File.ReadAllText($"/proc/{python.Pid}/stat").Split(") ")[1][0] != 'Z',
            $"the target died after the release; its last output: {string.Join(' ', python.Lines.TakeLast(5))}");
    }
}
