using Wand.Discovery;
using Wand.Transport.Exec;
using Xunit;

namespace Wand.Tests.Unit.Transport;

/// <summary>What the exec route (agent.py inside a container or pod) can reach, by version and by the machine the agent reports.</summary>
public class ExecRouteAttachabilityTests
{
    [Theory]
    [InlineData("3.14.2", "x86_64", true, "through the container runtime")]
    [InlineData("3.14.2", "aarch64", true, "through the container runtime")] // PEP 768 on every architecture
    [InlineData("3.11.2", "x86_64", true, "with ptrace inside")]
    [InlineData("3.9.2", null, true, "with ptrace inside")] // a listing without the machine (an older agent)
    [InlineData("3.11.2", "aarch64", false, "not supported yet there (only x86-64)")]
    [InlineData("3.8.10", "x86_64", false, "CPython 3.9 and newer")]
    public void VersionAndMachineDecide(string version, string? machine, bool attachable, string reason)
    {
        var a = ExecRoute.Attachability(version, machine);
        Assert.Equal(attachable ? AttachState.Attachable : AttachState.UnsupportedVersion, a.State);
        Assert.Contains(reason, a.Reason);
    }
}
