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

    /// <summary>ssh failing has its own exit code, not the one of a process that is not there (issue 13).</summary>
    [Fact]
    public async Task AnSshThatCannotConnectFailsWithSshFailed()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there now: ssh is refused at once
        var tunnel = new SshTunnel("nobody@127.0.0.1", [$"Port={port}", "ConnectTimeout=10"], NullProgress.Instance);
        var e = await Assert.ThrowsAsync<Wand.Errors.WandException>(() => tunnel.ReadSessionsAsync(TestContext.Current.CancellationToken));
        Assert.Equal(Wand.Errors.ExitCodes.SshFailed, e.ExitCode);
        Assert.StartsWith("ssh nobody@127.0.0.1 failed: ", e.Message);
    }

    private static int IndexOfOption(IReadOnlyList<string> argv, string option)
    {
        for (var i = 1; i < argv.Count; i++)
            if (argv[i - 1] == "-o" && argv[i] == option) return i;
        return -1;
    }
}
