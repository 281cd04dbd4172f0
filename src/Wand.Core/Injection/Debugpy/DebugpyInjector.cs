using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Errors;
using Wand.Injection.Payloads;
using Wand.Progress;

namespace Wand.Injection.Debugpy;

/// <summary>
/// Starts debugpy inside a live local process without pausing it, and stops it again
/// (debugpy_bootstrap.py). Returns only once debugpy.listen() has returned in the target, which is
/// when its adapter accepts editor connections.
/// </summary>
public sealed class DebugpyInjector(PayloadRunnerBase runner, DebugpyLocator locator, IProgressReporter progress)
{
    /// <summary>debugpy's import and listen() take about 0.5 s; a cold, uncompiled install several seconds.</summary>
    private static readonly TimeSpan ListenTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// pydevd accepts the editor itself (debugpy's in-process adapter, debugpy_bootstrap.py): no adapter process
    /// is started, about 0.4 s less. False: debugpy's adapter process, as debugpy.listen() starts by default.
    /// </summary>
    public bool Direct { get; init; } = true;

    public Task<DebugpyEndpoint> StartAsync(int pid, string host, int port, string? debugpyPath, TimeSpan safePointTimeout, CancellationToken cancellationToken) =>
        StartHeldAsync(pid, host, port, debugpyPath, safePointTimeout, TimeSpan.Zero, Direct, cancellationToken);

    /// <summary>
    /// <see cref="StartAsync"/> for a process that must not run on before an editor's configuration reached it
    /// (a new reload worker while an editor is connected): the target's main thread waits in the bootstrap
    /// until pydevd got <c>configurationDone</c>, for at most <paramref name="hold"/> (zero: not at all).
    /// Returns as soon as debugpy listens, as <see cref="StartAsync"/> does. <paramref name="direct"/>: as <see cref="Direct"/>.
    /// </summary>
    public async Task<DebugpyEndpoint> StartHeldAsync(int pid, string host, int port, string? debugpyPath, TimeSpan safePointTimeout, TimeSpan hold, bool direct, CancellationToken cancellationToken)
    {
        var result = await ListenAsync(pid, host, port, null, safePointTimeout, hold, direct, cancellationToken);
        string? copiedFrom = null;
        if (Error(result) == "missing")
        {
            copiedFrom = locator.Find(debugpyPath) ?? throw new DebugpyMissingException(pid, locator.SearchPatterns(debugpyPath));
            progress.Step($"PID {pid} has no debugpy: lending it {copiedFrom}");
            var lent = runner.Lend(pid, copiedFrom, "debugpy")
                ?? throw new DebugpyMissingException(pid, ["the target (this route cannot copy files into it)"]);
            result = await ListenAsync(pid, host, port, lent, safePointTimeout, hold, direct, cancellationToken);
            if (!result.GetProperty("ok").GetBoolean()) runner.RemoveLent(pid, lent); // else imported from there now; removed by --stop
        }
        if (Error(result) is null && Text(result, "note") is { } note) progress.Warn($"PID {pid}: {note}");
        return Error(result) switch
        {
            null => Endpoint(pid, result, copiedFrom),
            "missing" => throw new DebugpyMissingException(pid, [copiedFrom!]),
            "import-failed" when copiedFrom is not null && MissingModule(result) is { } module => throw new InjectionFailedException(
                $"the debugpy wand lent to PID {pid} ({copiedFrom}) needs {module}, which the target's Python lacks",
                $"install {module} in the app's environment (pip install {module.Replace('_', '-')}), or install debugpy there with pip so that its dependencies come along"),
            "import-failed" => throw new InjectionFailedException(
                $"debugpy failed to import in PID {pid}: {LastLine(result)}", "repair the target's debugpy (pip install --force-reinstall debugpy) or uninstall it so wand can lend one"),
            "uwsgi-no-threads" => throw new UnsupportedPythonException(
                $"uWSGI in PID {pid} runs without --enable-threads: it holds the GIL between requests, so debugpy's threads could not serve the editor",
                "restart uWSGI with --enable-threads (or --threads N)", new Remedy(RemedyKind.RunCodeInstead)),
            "foreign-listener" => throw new InjectionFailedException(
                $"the application in PID {pid} already started debugpy itself; connect your editor to the port it chose", "look for debugpy.listen in the application's code or logs"),
            "port-in-use" => throw new DebugpyListenFailedException(pid, host, port, LastLine(result)) { PortInUse = true },
            _ => throw new DebugpyListenFailedException(pid, host, port, LastLine(result)),
        };
    }

    /// <summary>Stops wand's debugpy in the target: its adapter ends and tracing is switched off. Returns false when none was listening.</summary>
    public async Task<bool> StopAsync(int pid, TimeSpan safePointTimeout, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(pid, Payload.Debugpy, new JsonObject { ["action"] = "stop", ["host"] = "", ["port"] = 0 }, safePointTimeout, ListenTimeout, cancellationToken);
        if (result.TryGetProperty("debugpy_copy", out var copy) && copy.ValueKind == JsonValueKind.String)
            runner.RemoveLent(pid, copy.GetString()!);
        return result.GetProperty("was_listening").GetBoolean();
    }

    /// <summary>
    /// Makes every child <paramref name="pid"/> forks from now on wait, right after the fork, until wand's attach has
    /// run in it, for at most <paramref name="wait"/> (fork_hold.py: an <c>os.register_at_fork</c> handler); with
    /// <paramref name="wait"/> zero, switches that off again. For a gunicorn master, whose forked workers serve
    /// sooner than an attach from outside lands.
    /// </summary>
    public async Task HoldForksAsync(int pid, TimeSpan wait, TimeSpan safePointTimeout, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(pid, Payload.ForkHold, new JsonObject { ["action"] = wait > TimeSpan.Zero ? "arm" : "disarm", ["seconds"] = wait.TotalSeconds },
            safePointTimeout, ListenTimeout, cancellationToken);
        if (Error(result) is { } error)
            throw new InjectionFailedException($"wand could not {(wait > TimeSpan.Zero ? "hold" : "release")} the new workers of PID {pid}: {error}", "this is a bug in wand; please report it with the Python version of the target");
    }

    /// <summary>
    /// Makes the next worker that the reloader <paramref name="pid"/> starts as a new program (werkzeug) wait at its first
    /// thread start until wand's attach ran in it, for at most <paramref name="wait"/> (spawn_hold.py, usercustomize.py).
    /// The reloader runs the request only when its current worker exits (it waits in waitpid meanwhile): this returns then,
    /// and cancelling it before withdraws the request. Returns false when the route cannot lend the module.
    /// </summary>
    public async Task<bool> HoldNextSpawnAsync(int pid, TimeSpan wait, CancellationToken cancellationToken)
    {
        // One copy per reloader for the session: each worker imports it at its start.
        if (!_spawnHoldLent.TryGetValue(pid, out var lent))
        {
            if (LendSpawnHoldModule(pid) is not { } fresh) return false;
            _spawnHoldLent[pid] = lent = fresh;
        }
        // No safe-point timeout: the reloader reaches its next one when the worker exits, however long it lives.
        var result = await runner.RunAsync(pid, Payload.SpawnHold, new JsonObject { ["folder"] = lent + "/" + SpawnHoldFolder, ["seconds"] = wait.TotalSeconds },
            TimeSpan.MaxValue, ListenTimeout, cancellationToken);
        if (Error(result) is { } error)
            throw new InjectionFailedException($"wand could not hold the next worker of PID {pid}: {error}", "this is a bug in wand; please report it with the Python version of the target");
        return true;
    }

    /// <summary>Removes the folders <see cref="HoldNextSpawnAsync"/> lent (the session's end, once no request is pending).</summary>
    public void RemoveSpawnHoldModules()
    {
        foreach (var (pid, lent) in _spawnHoldLent) runner.RemoveLent(pid, lent);
        _spawnHoldLent.Clear();
    }

    private const string SpawnHoldFolder = "wand-spawn-hold";
    private readonly Dictionary<int, string> _spawnHoldLent = [];

    private string? LendSpawnHoldModule(int pid)
    {
        var host = Directory.CreateTempSubdirectory("wand-spawn-hold-");
        try
        {
            File.WriteAllText(Path.Combine(host.FullName, Payload.SpawnHoldModule), Payload.Read(Payload.SpawnHoldModule));
            return runner.Lend(pid, host.FullName, SpawnHoldFolder);
        }
        finally
        {
            host.Delete(recursive: true);
        }
    }

    private Task<JsonElement> ListenAsync(int pid, string host, int port, string? debugpyPath, TimeSpan safePointTimeout, TimeSpan hold, bool direct, CancellationToken cancellationToken) =>
        runner.RunAsync(pid, Payload.Debugpy, new JsonObject { ["action"] = "listen", ["host"] = host, ["port"] = port, ["debugpy_path"] = debugpyPath, ["direct"] = direct, ["hold"] = hold.TotalSeconds },
            safePointTimeout, ListenTimeout, cancellationToken);

    private static string? Error(JsonElement result) =>
        result.GetProperty("ok").GetBoolean() ? null : result.GetProperty("error").GetString();

    /// <summary>The module whose absence made debugpy's import fail (ModuleNotFoundError.name), if that was the cause.</summary>
    private static string? MissingModule(JsonElement result) => Text(result, "module");

    private static string? Text(JsonElement result, string name) =>
        result.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string LastLine(JsonElement result) =>
        (result.GetProperty("detail").GetString() ?? "").Trim().Split('\n')[^1];

    private DebugpyEndpoint Endpoint(int pid, JsonElement r, string? copiedFrom)
    {
        var info = new TargetCodeInfo(
            r.GetProperty("pid").GetInt32(),
            r.GetProperty("cwd").GetString()!,
            r.GetProperty("main_file").GetString(),
            r.GetProperty("argv").EnumerateArray().Select(a => a.GetString() ?? "").ToList(),
            r.GetProperty("user_root").GetString(),
            r.GetProperty("python").GetString()!,
            r.GetProperty("executable").GetString() ?? "",
            runner.RootOnThisMachine(pid));
        return new DebugpyEndpoint(r.GetProperty("host").GetString()!, r.GetProperty("port").GetInt32(), r.GetProperty("reused").GetBoolean(),
            r.GetProperty("debugpy").GetString()!, info, copiedFrom,
            Direct: r.TryGetProperty("direct", out var direct) && direct.ValueKind == JsonValueKind.True, Note: Text(r, "note"));
    }
}
