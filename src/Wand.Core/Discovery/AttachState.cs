namespace Wand.Discovery;

/// <summary>Whether wand can attach to a process (PEP 768, or ptrace for 3.9-3.13), and if not, the main reason.</summary>
public enum AttachState
{
    Attachable,

    /// <summary>Older than CPython 3.14, a pre-release, or a layout this wand does not know.</summary>
    UnsupportedVersion,

    /// <summary>PYTHON_DISABLE_REMOTE_DEBUG, -X disable-remote-debug, or built --without-remote-debug.</summary>
    RemoteDebugDisabled,

    /// <summary>The kernel refuses us its maps or memory (other user, no CAP_SYS_PTRACE, Yama).</summary>
    PermissionDenied,

    /// <summary>Python 3.9-3.13 already traced by another process (a debugger, strace): a process has at most one tracer.</summary>
    AlreadyTraced,

    /// <summary>Something else went wrong while reading the interpreter state; the reason says what.</summary>
    Unknown,
}
