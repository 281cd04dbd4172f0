namespace Wand.Errors;

/// <summary>Thrown when the kernel refuses access to the target's memory (ptrace access check).</summary>
public sealed class PermissionDeniedException(int pid, string detail)
    : WandException(ExitCodes.PermissionDenied,
        $"not allowed to access the memory of PID {pid} ({detail})",
        "run wand as the target's user or with sudo; in containers add CAP_SYS_PTRACE (docker run --cap-add=SYS_PTRACE, Kubernetes securityContext.capabilities.add: [SYS_PTRACE]); check kernel.yama.ptrace_scope (0 or 1 with CAP_SYS_PTRACE)");
