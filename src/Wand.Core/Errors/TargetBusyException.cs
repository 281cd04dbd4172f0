namespace Wand.Errors;

/// <summary>Thrown when another remote-exec request is already pending in the target and did not clear in time.</summary>
public sealed class TargetBusyException(int pid)
    : WandException(ExitCodes.TargetBusy,
        $"PID {pid} already has a pending remote-exec request from another debugger or wand",
        "wait for the other request to finish and try again");
