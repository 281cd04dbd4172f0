using Wand.Hpc;
using Wand.Progress;
using Xunit;

namespace Wand.Tests.Unit.Hpc;

public class SshTunnelTests
{
    [Fact]
    public void TheForwardHasItsOwnConnectionAheadOfTheUsersOptionsAndListensOnLoopbackOnly()
    {
        var tunnel = new SshTunnel("alice@login", ["ControlPath=~/.ssh/cm-%r@%h:%p", "Port=2222"], NullProgress.Instance);
        var argv = tunnel.ForwardArguments(40001, "node17", 5679);

        // ssh keeps the first value of an option: ControlPath=none must precede the user's ControlPath.
        Assert.True(IndexOfOption(argv, "ControlPath=none") < IndexOfOption(argv, "ControlPath=~/.ssh/cm-%r@%h:%p"));
        Assert.True(IndexOfOption(argv, "ControlMaster=no") >= 0);
        Assert.True(IndexOfOption(argv, "Port=2222") >= 0);
        Assert.True(IndexOfOption(argv, "BatchMode=yes") >= 0);
        Assert.True(IndexOfOption(argv, "ExitOnForwardFailure=yes") >= 0);
        Assert.Contains("-N", argv);
        Assert.Contains("-v", argv); // readiness is ssh's own "Local forwarding listening" line
        Assert.Equal("127.0.0.1:40001:node17:5679", argv[argv.ToList().IndexOf("-L") + 1]);
        Assert.Equal("alice@login", argv[^1]); // the host last: no remote command
    }

    private static int IndexOfOption(IReadOnlyList<string> argv, string option)
    {
        for (var i = 1; i < argv.Count; i++)
            if (argv[i - 1] == "-o" && argv[i] == option) return i;
        return -1;
    }
}
