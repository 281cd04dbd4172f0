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
    /// <summary><c>wand stacks</c> found the target's interpreter state unreadable (corrupt, or changing too fast).</summary>
    public const int StacksUnreadable = 15;
    /// <summary>A bug in wand: anything that is not a <see cref="WandException"/>.</summary>
    public const int InternalError = 70;
    public const int Cancelled = 130;
}
