namespace Wand.Errors;

/// <summary>Thrown when the target interpreter has remote debugging switched off (PEP 768 opt-out).</summary>
public sealed class RemoteDebugDisabledException(int pid)
    : WandException(ExitCodes.RemoteDebugDisabled,
        $"PID {pid} has remote debugging disabled (started with PYTHON_DISABLE_REMOTE_DEBUG set, with -X disable-remote-debug, or built --without-remote-debug)",
        "restart it without PYTHON_DISABLE_REMOTE_DEBUG / -X disable-remote-debug; wand cannot attach to it as it is");
