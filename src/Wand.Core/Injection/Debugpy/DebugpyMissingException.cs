using Wand.Errors;

namespace Wand.Injection.Debugpy;

/// <summary>Thrown when the target cannot import debugpy and no usable copy was found on this machine.</summary>
public sealed class DebugpyMissingException(int pid, IReadOnlyList<string> lookedIn)
    : WandException(ExitCodes.DebugpyMissing,
        $"PID {pid} has no debugpy and none was found on this machine (looked in: {string.Join(", ", lookedIn)})",
        "install it where wand can find it: `python3 -m pip install --user debugpy`, or name a debugpy package folder to lend")
{
    public IReadOnlyList<string> LookedIn { get; } = lookedIn;
}
