using System.Diagnostics;
using System.Text;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// A program run in a pseudo-terminal, as a user at a terminal runs it: stdin, stdout and stderr are
/// the terminal (Python's <c>pty.spawn</c> relays it to pipes this test reads and writes), so the
/// program sees a terminal and may prompt. Everything it shows is kept as one screen text.
/// </summary>
public sealed class PseudoTerminal : IAsyncDisposable
{
    private const string Spawn = "import os, pty, sys\nstatus = pty.spawn(sys.argv[1:])\nsys.exit(os.waitstatus_to_exitcode(status))\n";

    private readonly Process _process;
    private readonly StringBuilder _screen = new();
    private readonly Lock _gate = new();
    private readonly Task _reader;

    private PseudoTerminal(Process process)
    {
        _process = process;
        _reader = Task.Run(ReadAsync);
    }

    public string Screen
    {
        get { lock (_gate) return _screen.ToString(); }
    }

    public static PseudoTerminal Start(IReadOnlyList<string> argv, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(RdgProcess.HostPython("3.14")) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Spawn);
        foreach (var a in argv) psi.ArgumentList.Add(a);
        psi.Environment["TERM"] = "dumb";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return new PseudoTerminal(Process.Start(psi)!);
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[4096];
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        int n;
        while ((n = await _process.StandardOutput.BaseStream.ReadAsync(buffer)) > 0)
        {
            var count = decoder.GetChars(buffer, 0, n, chars, 0);
            lock (_gate) _screen.Append(chars, 0, count);
        }
    }

    /// <summary>Waits until the screen shows <paramref name="texts"/>, each after the previous one; returns the screen.</summary>
    public async Task<string> WaitForAsync(params string[] texts)
    {
        string? shown = null;
        var ended = false;
        await Eventually.TrueAsync(
            () =>
            {
                var screen = Screen;
                var at = 0;
                foreach (var t in texts)
                {
                    at = at < 0 ? -1 : screen.IndexOf(t, at, StringComparison.Ordinal);
                    if (at >= 0) at += t.Length;
                }
                if (at >= 0) shown = screen;
                else ended = _process.HasExited && _reader.IsCompleted;
                return shown is not null || ended;
            },
            TimeSpan.FromSeconds(90), $"the terminal to show '{string.Join("' then '", texts)}'", () => Screen);
        return shown ?? throw new InvalidOperationException(
            $"the program ended ({_process.ExitCode}) before showing '{string.Join("' then '", texts)}':\n{Screen}\n{await _process.StandardError.ReadToEndAsync()}");
    }

    /// <summary>Types a line (the terminal echoes it).</summary>
    public async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteAsync(line + "\n");
        await _process.StandardInput.FlushAsync();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // best effort
        }
        _process.Dispose();
    }
}
