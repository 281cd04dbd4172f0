namespace Wand.Errors;

/// <summary>Every exit status wand and rdg can return, in one place.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The code run by <c>wand exec</c> raised an exception in the target.</summary>
    public const int CodeRaised = 1;
    public const int Usage = 2;
    public const int ProcessNotFound = 3;
    public const int NotPython = 4;
    public const int UnsupportedPython = 5;
    public const int RemoteDebugDisabled = 6;
    public const int PermissionDenied = 7;
    public const int TargetBusy = 8;
    public const int SafePointTimeout = 9;
    public const int TargetExited = 10;
    public const int InjectionFailed = 11;
    public const int DebugpyMissing = 12;
    public const int PortInUse = 13;
    /// <summary>kubectl failed for a reason other than not found or forbidden (its stderr is shown).</summary>
    public const int KubectlFailed = 14;
    /// <summary>
    /// The code run by <c>wand exec</c> ran past its <c>--timeout</c>: it was interrupted in the target,
    /// or (blocked in C code) will be once it returns to Python.
    /// </summary>
    public const int ExecTimeout = 15;
    /// <summary>The kernel refused to let wand ptrace a 3.9-3.13 target (permissions, Yama, no CAP_SYS_PTRACE, already traced).</summary>
    public const int PtraceRefused = 16;
    /// <summary><c>wand stacks</c> found the target's interpreter state unreadable (corrupt, or changing too fast).</summary>
    public const int StacksUnreadable = 17;
    /// <summary>A thread of a 3.9-3.13 target held with ptrace could not be put back exactly as it was (it was released; the process may need a restart).</summary>
    public const int ThreadNotRestored = 18;

    // The tools wand and rdg drive, each its own code (a script can tell "the cluster did not answer"
    // from "no such process"); a block of their own, apart from the codes numbered before them.

    /// <summary>ssh to the login node failed (its last stderr line is shown): keys, host, ~/.ssh/config.</summary>
    public const int SshFailed = 20;
    /// <summary>Slurm's commands (squeue, scontrol, srun) are not on PATH, failed, or did not answer.</summary>
    public const int SlurmFailed = 21;
    /// <summary>What was named in Kubernetes is not there: a namespace, service, pod or container (kubectl's NotFound), or no (Ready) pod behind a service or selector.</summary>
    public const int KubeNotFound = 22;

    /// <summary>A bug in wand: anything that is not a <see cref="WandException"/>.</summary>
    public const int InternalError = 70;
    public const int Cancelled = 130;
}
