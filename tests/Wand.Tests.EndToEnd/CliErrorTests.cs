using Wand.Errors;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// Issue 17, item 2: what wand and rdg print for a wrong number is in the user's words (never a CLR type
/// name), a port outside 1-65535 is refused before anything starts, and both exit with the usage code.
/// </summary>
public class CliErrorTests
{
    [Theory(Timeout = 120_000)]
    [InlineData(new[] { "exec", "--pid", "abc", "-c", "print(1)" }, "--pid takes a process ID (a whole number), not 'abc'")]
    [InlineData(new[] { "debug", "--pid", "12x", "--detach" }, "--pid takes a process ID (a whole number), not '12x'")]
    [InlineData(new[] { "ps", "--pid", "-5" }, "--pid takes a process ID (a whole number), not '-5'")]
    [InlineData(new[] { "debug", "--pid", "1", "--port", "99999" }, "--port takes a port number (1-65535), not '99999'")]
    [InlineData(new[] { "debug", "--pid", "1", "-p", "0" }, "--port takes a port number (1-65535), not '0'")]
    [InlineData(new[] { "exec", "--pid", "1", "--timeout", "soon", "-c", "print(1)" }, "--timeout takes a number (like 5 or 2.5), not 'soon'")]
    public async Task WandSaysWhatAnOptionTakes(string[] args, string expected)
    {
        var r = await WandCli.RunAsync(args);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        Assert.DoesNotContain("System.", r.Stderr);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(new[] { "tunnel", "--via", "u@h", "--local-port", "70000" }, "--local-port takes a port number (1-65535, or 0 for a free one), not '70000'")]
    [InlineData(new[] { "attach", "1", "--port", "65536" }, "--port takes a port number (1-65535), not '65536'")]
    [InlineData(new[] { "attach", "1", "abc" }, "PID takes a whole number, not 'abc'")]
    [InlineData(new[] { "debug", "--rank", "first", "--", "python3", "x.py" }, "--rank takes a whole number, not 'first'")]
    [InlineData(new[] { "tunnel", "--via", "u@h", "--reconnect-timeout", "5m" }, "--reconnect-timeout takes a whole number, not '5m'")]
    public async Task RdgSaysWhatAnOptionTakes(string[] args, string expected)
    {
        var r = await RdgProcess.RunAsync(args);
        Assert.True(r.ExitCode == ExitCodes.Usage, r.ToString());
        Assert.Contains(expected, r.Stderr);
        Assert.DoesNotContain("System.", r.Stderr);
    }
}
