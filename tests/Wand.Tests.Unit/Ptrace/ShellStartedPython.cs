using System.Diagnostics;
using Xunit;

namespace Wand.Tests.Unit.Ptrace;

/// <summary>
/// <c>python<paramref name="version"/> -c CODE</c> from the testbed, chrooted, started by a shell: not the
/// test's child, because .NET reaps its own children with waitpid, which would also take the
/// ptrace-stop notifications meant for the tracer. Python's stdout is collected line by line.
/// </summary>
internal sealed class ShellStartedPython : IAsyncDisposable
{
    private const string PidPrefix = "wand-test-pid ";

    private readonly Process _shell;
    private readonly List<string> _lines = [];
    private readonly Task _reader;

    private ShellStartedPython(Process shell)
    {
        _shell = shell;
        _reader = Task.Run(async () =>
        {
            while (await shell.StandardOutput.ReadLineAsync() is { } line) lock (_lines) _lines.Add(line);
        });
    }

    public int Pid { get; private set; }

    /// <summary>What Python printed so far.</summary>
    public IReadOnlyList<string> Lines
    {
        get { lock (_lines) return [.. _lines.Where(l => !l.StartsWith(PidPrefix, StringComparison.Ordinal))]; }
    }

    /// <summary>Starts it and waits until it printed <paramref name="ready"/>.</summary>
    public static async Task<ShellStartedPython> StartAsync(string version, string code, string ready = "ready")
    {
        var python = new ShellStartedPython(Process.Start(new ProcessStartInfo("/bin/sh",
            ["-c", $"chroot \"$1\" \"$2\" -c \"$3\" & echo {PidPrefix}$!; wait", "sh", PtraceTargets.RootFor(version), "/usr/bin/python" + version, code])
        {
            RedirectStandardOutput = true,
        })!);
        try
        {
            await Eventually.TrueAsync(() => python.PidLine() is not null && python.Lines.Contains(ready), TimeSpan.FromSeconds(20), $"python{version} to start and print '{ready}'");
            python.Pid = int.Parse(python.PidLine()![PidPrefix.Length..]);
            return python;
        }
        catch
        {
            await python.DisposeAsync();
            throw;
        }
    }

    private string? PidLine()
    {
        lock (_lines) return _lines.FirstOrDefault(l => l.StartsWith(PidPrefix, StringComparison.Ordinal));
    }

    public async ValueTask DisposeAsync()
    {
        if (Pid != 0) Process.Start("kill", ["-9", Pid.ToString()])!.WaitForExit();
        _shell.Kill(entireProcessTree: true);
        await _shell.WaitForExitAsync();
        await _reader;
        _shell.Dispose();
    }
}
