using System.Diagnostics;
using Wand.Tests.EndToEnd.Infrastructure;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// <c>rdg</c> (<see cref="TestedTool.Rdg"/>) as a user runs it: one-shot (<see cref="RunAsync"/>)
/// or in the background with its output streamed (<see cref="Start"/>), killed with its children on dispose.
/// </summary>
public sealed class RdgProcess : IAsyncDisposable
{
    /// <summary>The testbed's host-runnable interpreter (finds its stdlib and debugpy in the rootfs).</summary>
    public static string HostPython(string version) => Testbed.HostPath($"/usr/bin/python{version}-host");

    private readonly Process _process;
    private readonly OutputLines _output;

    private RdgProcess(Process process)
    {
        _process = process;
        _output = new OutputLines(process);
    }

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public string Stdout => _output.Stdout;
    public string Stderr => _output.Stderr;
    public override string ToString() => $"--- stdout\n{Stdout}\n--- stderr\n{Stderr}";

    /// <summary>A fresh session folder per test, so records of parallel tests never mix.</summary>
    public static Dictionary<string, string> Env(string sessionDir, IDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string> { ["RDG_SESSION_DIR"] = sessionDir, ["DEBUGWAND_SIMPLE_UI"] = "1", ["PYTHONUNBUFFERED"] = "1" };
        if (extra is not null) foreach (var (k, v) in extra) env[k] = v;
        return env;
    }

    private static ProcessStartInfo Psi(IEnumerable<string> args, IDictionary<string, string>? env, string? cwd)
    {
        Testbed.EnsureReady();
        var argv = TestedTool.Rdg.With(args);
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (cwd is not null) psi.WorkingDirectory = cwd;
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment["DEBUGWAND_SIMPLE_UI"] = "1";
        psi.Environment.Remove("PYTHONDONTWRITEBYTECODE");
        foreach (var v in new[] { "SLURM_JOB_ID", "SLURM_PROCID", "RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SSH_CONNECTION", "SLURM_SUBMIT_HOST", "RDG_LOGIN_HOST", "SLURM_CONF" })
            psi.Environment.Remove(v);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return psi;
    }

    public static RdgProcess Start(IEnumerable<string> args, IDictionary<string, string>? env = null, string? cwd = null) =>
        new(Process.Start(Psi(args, env, cwd))!);

    public static async Task<CliResult> RunAsync(IEnumerable<string> args, IDictionary<string, string>? env = null, string? cwd = null, TimeSpan? timeout = null)
    {
        await using var p = Start(args, env, cwd);
        p._process.StandardInput.Close();
        var exitCode = await p.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
        return new CliResult(exitCode, p.Stdout, p.Stderr);
    }

    /// <summary>Waits until a line of stderr (rdg's messages) or stdout (the program's) contains <paramref name="text"/>; returns that line.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan? timeout = null)
    {
        string? Find() => _output.StderrLines.Concat(_output.StdoutLines).FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
        string? line = null;
        await Eventually.TrueAsync(
            () =>
            {
                if ((line = Find()) is not null || !_process.HasExited) return line is not null;
                _process.WaitForExit(); // the rest of its output
                return (line = Find()) is not null ? true : throw new InvalidOperationException($"rdg exited ({_process.ExitCode}) before printing '{text}'.\n{this}");
            },
            timeout ?? TimeSpan.FromSeconds(60), $"rdg to print '{text}'", ToString);
        return line!;
    }

    /// <summary>Sends a line to rdg's stdin (which the program inherits).</summary>
    public async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>The value of a "Key: value" line of the connection block.</summary>
    public async Task<string> InfoAsync(string key, TimeSpan? timeout = null) =>
        (await WaitForLineAsync(key + ": ", timeout)).Split(": ", 2)[1].Trim();

    /// <summary>
    /// Waits for rdg itself to exit. Not Process.WaitForExitAsync: that also waits for the end of the
    /// redirected output, which debugpy's adapter (a daemon child that inherited it) may hold open a while.
    /// </summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await Eventually.TrueAsync(() => _process.HasExited, timeout, "rdg to exit", ToString);
        await Eventually.TrueAsync(_output.AllRead, TimeSpan.FromSeconds(10), "the last lines rdg wrote to be read", ToString);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // SIGTERM first, as scancel does: rdg passes it on and removes its private folder and session record.
            if (!_process.HasExited)
            {
                var term = new ProcessStartInfo("kill");
                term.ArgumentList.Add("-TERM");
                term.ArgumentList.Add(_process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                using (var k = Process.Start(term)) k?.WaitForExit();
                try
                {
                    await Eventually.TrueAsync(() => _process.HasExited, TimeSpan.FromSeconds(5), "rdg to end on SIGTERM");
                }
                catch (TimeoutException)
                {
                    // killed below
                }
            }
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
