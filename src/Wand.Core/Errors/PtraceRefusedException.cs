using System.Runtime.InteropServices;
using Wand.Transport.Local;

namespace Wand.Errors;

/// <summary>
/// Thrown when PTRACE_SEIZE is refused, so wand cannot reach a Python 3.9-3.13 process. The message
/// says why, as far as /proc tells: already traced (by whom), another user, Yama, or a missing
/// capability.
/// </summary>
public sealed class PtraceRefusedException(int pid, string message, string hint)
    : WandException(ExitCodes.PtraceRefused, message, hint)
{
    public int Pid { get; } = pid;

    /// <summary>What to add when the kernel wants CAP_SYS_PTRACE.</summary>
    public const string CapabilityHint =
        "run wand with sudo; in a container add CAP_SYS_PTRACE (docker run --cap-add=SYS_PTRACE, Kubernetes securityContext.capabilities.add: [SYS_PTRACE])";

    /// <summary>The most specific explanation for a PTRACE_SEIZE of <paramref name="pid"/> that failed with <paramref name="errno"/>.</summary>
    public static PtraceRefusedException Diagnose(int pid, int errno, ProcFs procfs)
    {
        var why = Marshal.GetPInvokeErrorMessage(errno);
        var target = procfs.Status(pid);
        if (target is { TracerPid: not 0 and var tracer })
        {
            var comm = procfs.Stat(tracer)?.Comm ?? "?";
            return new(pid, $"PID {pid} is already traced by PID {tracer} ({comm}); a process can have only one tracer",
                $"stop {comm} (PID {tracer}) or detach it from PID {pid}, then retry");
        }
        var self = Libc.geteuid();
        var privileged = HasSysPtrace();
        if (target is not null && target.EffectiveUid != self && !privileged)
            return new(pid, $"ptrace of PID {pid} refused ({why}): it runs as uid {target.EffectiveUid}, wand as uid {self}",
                "run wand as the target's user or with sudo");
        var yama = File.Exists("/proc/sys/kernel/yama/ptrace_scope") ? File.ReadAllText("/proc/sys/kernel/yama/ptrace_scope").Trim() : null;
        return yama switch
        {
            "1" when !privileged => new(pid, $"ptrace of PID {pid} refused ({why}): kernel.yama.ptrace_scope is 1 (only a parent may trace)",
                "run wand with sudo, or allow it: sudo sysctl kernel.yama.ptrace_scope=0"),
            "2" when !privileged => new(pid, $"ptrace of PID {pid} refused ({why}): kernel.yama.ptrace_scope is 2 (CAP_SYS_PTRACE only)", CapabilityHint),
            "3" => new(pid, $"ptrace of PID {pid} refused ({why}): kernel.yama.ptrace_scope is 3 (ptrace disabled until reboot)",
                "set kernel.yama.ptrace_scope to 0-2 needs a reboot; or run the app on Python 3.14+ (PEP 768 needs no ptrace attach)"),
            _ => new(pid, $"ptrace of PID {pid} refused ({why}){(privileged ? "" : ": wand lacks CAP_SYS_PTRACE")}", CapabilityHint),
        };
    }

    /// <summary>CAP_SYS_PTRACE (bit 19) in our effective set.</summary>
    private static bool HasSysPtrace()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                return ulong.TryParse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, null, out var caps) && (caps & (1UL << 19)) != 0;
        return false;
    }
}
