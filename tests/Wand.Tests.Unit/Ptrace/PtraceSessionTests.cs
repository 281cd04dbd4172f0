using System.Diagnostics;
using Wand.Injection.Ptrace;
using Wand.Transport.Local;
using Xunit;

namespace Wand.Tests.Unit.Ptrace;

/// <summary>
/// <see cref="PtraceSession"/> against a real process (a shell waiting for its `sleep` children): a
/// signal that arrives while wand holds the thread is delivered after wand lets go, and the thread
/// goes on with the syscall it was in.
/// </summary>
public class PtraceSessionTests
{
    private const int SIGUSR1 = 10;

    [Fact(Timeout = 30_000)]
    public async Task ASignalThatArrivesWhileTheThreadIsHeldIsDeliveredAfterwards()
    {
        // The traced shell must not be our child: .NET reaps its children with waitpid, which would
        // also take the ptrace-stop notifications meant for the tracer. A parent shell starts it.
        using var parent = Process.Start(new ProcessStartInfo("/bin/sh",
            ["-c", "sh -c 'trap \"echo got-usr1\" USR1; echo ready; while :; do sleep 0.05; done' & echo $!; wait"])
        {
            RedirectStandardOutput = true,
        })!;
        var lines = new List<string>();
        var reader = Task.Run(async () =>
        {
            while (await parent.StandardOutput.ReadLineAsync() is { } line) lock (lines) lines.Add(line);
        });
        var traced = 0;
        try
        {
            await WaitForAsync(() => { lock (lines) return lines.Contains("ready") && lines.Any(l => l.Length > 0 && l.All(char.IsAsciiDigit)); }, "the shell to start");
            lock (lines) traced = int.Parse(lines.First(l => l.Length > 0 && l.All(char.IsAsciiDigit)));
            var shell = Process.GetProcessById(traced);
            // ptrace requests must come from the thread that attached: one thread from start to end.
            var deferred = await Task.Factory.StartNew(() =>
            {
                var arch = PtraceArchitecture.Current;
                using var memory = ProcessMemory.Open(shell.Id);
                using var session = PtraceSession.Attach(shell.Id, shell.Id, arch, ProcFs.Default, TimeSpan.FromSeconds(5));
                Process.Start("kill", ["-USR1", shell.Id.ToString()])!.WaitForExit();
                // Pending on the held thread (ShdPnd, bit SIGUSR1 - 1), not yet delivered.
                WaitForAsync(() => PendingSignals(shell.Id) != 0, "SIGUSR1 to be pending").GetAwaiter().GetResult();
                var syscall = PendingCallTarget.FindSyscallInstruction(arch, ProcFs.Default, shell.Id, memory, session.Saved);
                var pid = session.Syscall(syscall, 39 /* getpid */, TimeSpan.FromSeconds(5));
                Assert.Equal(shell.Id, pid); // the thread ran our syscall...
                return session.DeferredSignals; // ...and the signal it met on the way was kept aside
            }, TaskCreationOptions.LongRunning);
            Assert.True(deferred >= 1, "no signal was kept aside"); // SIGUSR1, and SIGCHLD when a sleep ended meanwhile
            await WaitForAsync(() => { lock (lines) return lines.Contains("got-usr1"); }, "the shell's trap to run (the signal was swallowed)");
            Assert.False(shell.HasExited);
        }
        finally
        {
            if (traced != 0) Process.Start("kill", [traced.ToString()])!.WaitForExit();
            parent.Kill(entireProcessTree: true);
            await parent.WaitForExitAsync();
            await reader;
        }
    }

    private static ulong PendingSignals(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("ShdPnd:", StringComparison.Ordinal) || line.StartsWith("SigPnd:", StringComparison.Ordinal))
                if (Convert.ToUInt64(line[7..].Trim(), 16) is var bits && (bits & (1UL << (SIGUSR1 - 1))) != 0)
                    return bits;
        return 0;
    }

    private static Task WaitForAsync(Func<bool> condition, string what) =>
        Eventually.TrueAsync(condition, TimeSpan.FromSeconds(10), what);
}
