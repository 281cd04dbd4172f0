namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// What an attach could change in a live Python process and <c>wand debug --stop</c> must put back,
/// read with <c>wand exec</c> (and the process's listening sockets and native threads from the host).
/// </summary>
public static class TargetSnapshot
{
    private const string Code = """
        import _thread, builtins, json, os, signal, sys, threading
        hooks = {"sys.gettrace": repr(sys.gettrace()), "sys.getprofile": repr(sys.getprofile()),
                 "threading.gettrace": repr(threading.gettrace()), "threading.getprofile": repr(threading.getprofile())}
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is not None:
            for tool in range(6):
                hooks["sys.monitoring tool %d" % tool] = [monitoring.get_tool(tool), monitoring.get_events(tool)]
        # The functions of the modules a debugger patches (thread start, process spawn, hooks), with
        # their code, so that a function patched in place (its __code__ replaced) shows too.
        functions = {}
        modules = [sys.modules[name] for name in MODULES if name in sys.modules]
        for module in modules:
            for name, value in sorted(vars(module).items()):
                if callable(value) and not isinstance(value, type):
                    code = getattr(value, "__code__", None)
                    functions["%s.%s" % (module.__name__, name)] = repr(value) + (" %s:%s" % (code.co_filename, code.co_firstlineno) if code else "")
        print(json.dumps({
            "environ": dict(os.environ),
            "sys.path": list(sys.path),
            "threads": sorted(t.name for t in threading.enumerate()),
            "signals": {s.name: repr(signal.getsignal(s)) for s in sorted(signal.valid_signals()) if isinstance(s, signal.Signals)},
            "hooks": hooks,
            "functions": functions,
            "modules described": [m.__name__ for m in modules],
        }, indent=1, sort_keys=True))
        """;

    /// <summary>The modules whose functions are described, those of them loaded in the target (debugpy imports subprocess, for one; its imports may stay).</summary>
    private static readonly string[] Modules = ["builtins", "sys", "os", "posix", "_thread", "threading", "signal", "subprocess", "_posixsubprocess"];

    public static Task<string> TakeAsync(int pid) => TakeAsync(pid, Modules);

    private static async Task<string> TakeAsync(int pid, IEnumerable<string> modules)
    {
        var code = Code.Replace("MODULES", System.Text.Json.JsonSerializer.Serialize(modules), StringComparison.Ordinal);
        var r = await WandCli.RunAsync(["exec", "--pid", pid.ToString(), "-c", code]);
        if (r.ExitCode != 0) throw new InvalidOperationException("wand exec failed: " + r);
        return r.Stdout + "listening sockets: " + string.Join(", ", ListeningSockets(pid)) + "\nnative threads: " + Directory.GetDirectories($"/proc/{pid}/task").Length + "\n";
    }

    /// <summary>Polls (pydevd's threads end shortly after the stop) until the target is as <paramref name="before"/>, else fails with the difference.</summary>
    public static async Task AssertAsBeforeAsync(int pid, string before, TimeSpan timeout)
    {
        // The modules that were loaded before the attach, and only those.
        var json = before[..(before.LastIndexOf('}') + 1)];
        var modules = System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("modules described").EnumerateArray().Select(m => m.GetString()!).ToList();
        var after = "";
        await Eventually.TrueAsync(async () => (after = await TakeAsync(pid, modules)) == before, timeout,
            "the target to be as before the attach", () => "changed by the attach and left after --stop:\n" + Difference(before, after));
    }

    /// <summary>The TCP sockets in LISTEN state that the process itself holds (its fds), not its network namespace's.</summary>
    private static IEnumerable<string> ListeningSockets(int pid)
    {
        var inodes = new HashSet<ulong>();
        foreach (var fd in Directory.GetFiles($"/proc/{pid}/fd"))
        {
            var target = new FileInfo(fd).LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal)) inodes.Add(ulong.Parse(target[8..^1]));
        }
        return Wand.Transport.Local.ProcFs.Default.ListeningSockets(pid).Where(s => inodes.Contains(s.Inode)).Select(s => $"{s.Address}:{s.Port}").Order();
    }

    private static string Difference(string before, string after)
    {
        var b = before.Split('\n');
        var a = after.Split('\n');
        return string.Join('\n', b.Except(a).Select(l => "- " + l).Concat(a.Except(b).Select(l => "+ " + l)));
    }
}
