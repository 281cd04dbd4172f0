using System.Buffers.Binary;
using System.Diagnostics;
using Wand.Injection.Payloads;
using Wand.Injection.Ptrace;
using Wand.Transport.Local;
using Xunit;
using static Wand.Tests.Unit.Ptrace.PtraceTargets;

namespace Wand.Tests.Unit.Ptrace;

/// <summary>
/// The interrupted thread gets its floating-point and vector registers back, on both routes: the
/// host's <see cref="PtraceSession"/> and the exec route's agent_ptrace.py run by the target's own
/// interpreter. A real testbed Python sleeps in its main thread (in clock_nanosleep, so nothing of
/// its own touches xmm between stops); the test writes a known pattern into its xmm/ymm registers
/// and mxcsr through PTRACE_SETREGSET, has the injector run the same sequence as
/// PendingCallTarget (mmap, a C call returning into the page, munmap) with a call that certainly
/// uses xmm: glibc's <c>strtod("1.5")</c> returns its double in xmm0 (System V ABI). Afterwards the
/// pattern must be intact, as it must for code stopped in the middle of a vector loop.
/// </summary>
public class PtraceExtendedStateTests
{
    private const int MxcsrOffset = 24, XmmOffset = 160, XmmBytes = 16 * 16;
    private const int XstateBvOffset = 512, YmmHiOffset = 576, YmmHiBytes = 16 * 16;
    private const ulong SseAndAvx = 0b110;
    private const uint RoundTowardZero = 0x1F80 | 0x6000; // default mxcsr (all exceptions masked) with RC = 11

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Theory(Timeout = 60_000)]
    [InlineData("3.11")]
    [InlineData("3.13")]
    public async Task TheHostRouteGivesTheVectorRegistersBack(string version)
    {
        await WithSleepingPythonAsync(version, pid => OnOwnThread(() =>
        {
            var strtod = LibcFunction(pid, "strtod");
            using var memory = ProcessMemory.Open(pid);
            using var session = PtraceSession.Attach(pid, pid, PtraceArchitecture.Current, ProcFs.Default, Timeout);
            var syscall = PendingCallTarget.FindSyscallInstruction(PtraceArchitecture.Current, ProcFs.Default, pid, memory, session.Saved);
            var page = (ulong)session.Syscall(syscall, 9 /* mmap */, Timeout, 0, 4096, 3, 0x22, ulong.MaxValue, 0);
            memory.Write(page, "1.5\0"u8);
            Assert.NotNull(session.Call(memory, strtod, page, Timeout, page, 0));
            Assert.Equal(0, session.Syscall(syscall, 11 /* munmap */, Timeout, page, 4096));
        }));
    }

    [Theory(Timeout = 60_000)]
    [InlineData("3.11")]
    [InlineData("3.13")]
    public async Task TheExecRouteGivesTheVectorRegistersBack(string version)
    {
        // agent_ptrace.py's own _Held (the class queue() uses) in the testbed's interpreter, made to
        // run the same sequence; its text comes on stdin, as agent.py gets it.
        const string Driver = """
            import os, sys
            ns = {}
            exec(sys.stdin.read(), ns)
            pid, strtod = int(sys.argv[1]), int(sys.argv[2])
            mem = os.open("/proc/%d/mem" % pid, os.O_RDWR)
            held = ns["_Held"](ns["_Libc"](), pid, 5.0)
            try:
                insn = ns["_syscall_instruction"](pid, mem, held.saved)
                page = held.syscall(insn, 9, 0, 4096, 3, 0x22, ns["_MASK"], 0)
                os.pwrite(mem, b"1.5\0", page)
                assert held.call(mem, strtod, page, page, 0) is not None
                assert held.syscall(insn, 11, page, 4096) == 0
            finally:
                held.release()
            print("done")
            """;
        await WithSleepingPythonAsync(version, async pid =>
        {
            var psi = new ProcessStartInfo("chroot") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])[RootFor(version), "/usr/bin/python" + version, "-c", Driver, pid.ToString(), LibcFunction(pid, "strtod").ToString()]) psi.ArgumentList.Add(a);
            using var agent = Process.Start(psi)!;
            await agent.StandardInput.WriteAsync(Payload.Read("agent_ptrace.py"));
            agent.StandardInput.Close();
            var output = agent.StandardOutput.ReadToEndAsync();
            var errors = agent.StandardError.ReadToEndAsync();
            await agent.WaitForExitAsync();
            Assert.True(agent.ExitCode == 0 && (await output).Trim() == "done", $"the agent failed: {await output}{await errors}");
        });
    }

    /// <summary>
    /// Starts python<paramref name="version"/> sleeping, writes the pattern into its main thread's
    /// extended state, runs <paramref name="inject"/> on it, and checks the pattern is still there.
    /// </summary>
    private static async Task WithSleepingPythonAsync(string version, Func<int, Task> inject)
    {
        await using var python = await ShellStartedPython.StartAsync(version, "import time; print('ready', flush=True); time.sleep(1000)");
        var pid = python.Pid;
        // In its sleep (state S), not still on its way there.
        await Eventually.TrueAsync(() => File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].StartsWith('S') && File.ReadAllText($"/proc/{pid}/wchan") != "0",
            TimeSpan.FromSeconds(10), $"python{version} to sleep");
        var written = await OnOwnThread(() => Hold(pid, state => Pattern(state)));
        await inject(pid);
        var after = await OnOwnThread(() => Hold(pid, state => state));
        foreach (var (offset, length, what) in Checked(written))
            Assert.True(after.AsSpan(offset, length).SequenceEqual(written.AsSpan(offset, length)),
                $"{what} of the interrupted thread changed: {Convert.ToHexString(written, offset, length)} before, {Convert.ToHexString(after, offset, length)} after");
    }

    /// <summary>Holds the thread (nothing run in it, so nothing written back but what <paramref name="change"/> returns) and gives its extended state.</summary>
    private static byte[] Hold(int pid, Func<byte[], byte[]> change)
    {
        var arch = PtraceArchitecture.Current;
        using var session = PtraceSession.Attach(pid, pid, arch, ProcFs.Default, Timeout);
        var state = arch.ReadExtendedState(pid);
        var changed = change(state);
        if (!ReferenceEquals(changed, state)) arch.WriteExtendedState(pid, changed);
        return arch.ReadExtendedState(pid);
    }

    /// <summary>mxcsr with another rounding mode, xmm0-15 and the upper halves of ymm0-15 filled with distinct bytes.</summary>
    private static byte[] Pattern(byte[] state)
    {
        var p = (byte[])state.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(MxcsrOffset), RoundTowardZero);
        for (var i = 0; i < XmmBytes; i++) p[XmmOffset + i] = (byte)(0x40 + i);
        if (p.Length >= YmmHiOffset + YmmHiBytes)
        {
            // XSTATE_BV says which components the buffer holds; without the bits the kernel would
            // put those components in their initial state instead.
            BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(XstateBvOffset), BinaryPrimitives.ReadUInt64LittleEndian(p.AsSpan(XstateBvOffset)) | SseAndAvx);
            for (var i = 0; i < YmmHiBytes; i++) p[YmmHiOffset + i] = (byte)(0xC0 ^ i);
        }
        return p;
    }

    private static IEnumerable<(int Offset, int Length, string What)> Checked(byte[] written)
    {
        Assert.Equal(RoundTowardZero, BinaryPrimitives.ReadUInt32LittleEndian(written.AsSpan(MxcsrOffset))); // the kernel took the pattern
        Assert.Equal((byte)0x40, written[XmmOffset]);
        yield return (MxcsrOffset, 4, "mxcsr");
        for (var i = 0; i < 16; i++) yield return (XmmOffset + 16 * i, 16, $"xmm{i}");
        if (written.Length >= YmmHiOffset + YmmHiBytes)
            for (var i = 0; i < 16; i++) yield return (YmmHiOffset + 16 * i, 16, $"the upper half of ymm{i}");
    }
}
