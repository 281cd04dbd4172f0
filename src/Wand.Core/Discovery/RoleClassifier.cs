namespace Wand.Discovery;

/// <summary>
/// Tells reloaders, workers and helpers apart from the shape of the process tree and the command
/// lines alone (pure: no /proc). The rules, in order:
/// <list type="number">
/// <item>multiprocessing helpers (<c>-c from multiprocessing.resource_tracker import main</c>, the
/// forkserver, the debugpy adapter) are <see cref="ProcessRole.Helper"/>; a child forked by the
/// forkserver (same command line) is a multiprocessing <see cref="ProcessRole.Worker"/>;</item>
/// <item>a <c>spawn_main</c> child (multiprocessing "spawn") is a worker: of uvicorn or fastapi when
/// its parent is one (uvicorn and <c>fastapi dev/run</c> start their reload child and their
/// <c>--workers</c> that way), otherwise a multiprocessing child;</item>
/// <item>gunicorn: the process whose parent is also gunicorn is a worker (forked, same argv), the
/// other is the master;</item>
/// <item>a Python child that runs the same program as its Python parent (Django's autoreloader,
/// werkzeug's reloader, both re-execute sys.executable with the same arguments) is a worker and its
/// parent the reloader; the RUN_MAIN / WERKZEUG_RUN_MAIN environment hints name the framework, and
/// when the environment was readable and holds neither, the child was merely forked;</item>
/// <item>uvicorn / fastapi with a reloader flag are reloader parents, with <c>--workers</c> or spawn
/// children they are the supervisor (also <see cref="ProcessRole.ReloaderParent"/>: uvicorn's
/// Multiprocess supervisor binds the socket and restarts workers, the app is imported in each worker);</item>
/// <item>everything else is main. Non-Python processes (tini, sh -c, uv run) never match a rule.</item>
/// </list>
/// </summary>
public static class RoleClassifier
{
    /// <summary>Set to "true" in the child that Django's (RUN_MAIN) and werkzeug's (WERKZEUG_RUN_MAIN) reloaders start.</summary>
    public static IReadOnlyList<string> ReloaderEnvironmentVariables { get; } = ["RUN_MAIN", "WERKZEUG_RUN_MAIN"];

    /// <summary>The role detail of gunicorn's arbiter, which forks the workers.</summary>
    public const string GunicornMaster = "gunicorn master";

    /// <summary>The role detail of werkzeug's reloader, which starts each worker as a new program.</summary>
    public const string WerkzeugReloader = "werkzeug reloader";

    private sealed record Node(RoleInput Input, PythonCommandLine Command)
    {
        public int Pid => Input.Pid;
        public int ParentPid => Input.ParentPid;
        public bool IsPython => Input.IsPython;
        public string? Tool => Command.Tool;
    }

    /// <summary>Assigns a role to every Python process of <paramref name="processes"/>.</summary>
    public static IReadOnlyDictionary<int, RoleAssignment> Classify(IReadOnlyList<RoleInput> processes)
    {
        var nodes = new Dictionary<int, Node>();
        foreach (var p in processes) nodes[p.Pid] = new Node(p, PythonCommandLine.Parse(p.CommandLine));
        var children = nodes.Values.Where(n => n.IsPython).ToLookup(n => n.ParentPid);

        var result = new Dictionary<int, RoleAssignment>();
        foreach (var node in nodes.Values.Where(n => n.IsPython))
        {
            var parent = nodes.GetValueOrDefault(node.ParentPid) is { IsPython: true } p && p.Pid != node.Pid ? p : null;
            result[node.Pid] = ClassifyOne(node, parent, children[node.Pid].Where(c => c.Pid != node.Pid).ToList());
        }
        return result;
    }

    private static RoleAssignment ClassifyOne(Node node, Node? parent, List<Node> children)
    {
        var cmd = node.Command;
        var sameAsParent = parent is not null && parent.Command.ProgramKey == cmd.ProgramKey;

        if (HelperName(cmd) is { } helper)
        {
            return sameAsParent && HelperName(parent!.Command) == ForkServer
                ? new(ProcessRole.Worker, $"multiprocessing child of {parent.ParentPid}")
                : new(ProcessRole.Helper, helper);
        }

        if (IsSpawnChild(cmd))
        {
            if (parent is null) return new(ProcessRole.Worker, "multiprocessing child");
            return parent.Tool is "uvicorn" or "fastapi"
                ? new(ProcessRole.Worker, $"{parent.Tool} worker of {parent.Pid}")
                : new(ProcessRole.Worker, $"multiprocessing child of {parent.Pid}");
        }

        if (node.Tool == "gunicorn")
        {
            var title = cmd.Interpreter is null ? cmd.Script ?? "" : "";
            if (title.StartsWith("gunicorn: worker", StringComparison.Ordinal) || parent?.Tool == "gunicorn")
                return new(ProcessRole.Worker, parent is null ? "gunicorn worker" : $"gunicorn worker of {parent.Pid}");
            return new(ProcessRole.ReloaderParent, GunicornMaster);
        }

        if (sameAsParent)
            return new(ProcessRole.Worker, ReloadedChildDetail(node, parent!));

        var twins = children.Where(c => c.Command.ProgramKey == cmd.ProgramKey).ToList();
        if (twins.Count > 0)
        {
            var framework = Framework(node, twins);
            if (framework is null && twins.All(t => t.Input.EnvironmentMarkers is { Count: 0 }))
                return new(ProcessRole.Main, null); // the environments say no reloader started them: plain fork()s
            return new(ProcessRole.ReloaderParent, framework switch
            {
                "django" => "django autoreloader",
                "werkzeug" => WerkzeugReloader,
                _ => "reloader",
            });
        }

        if (node.Tool is "uvicorn" or "fastapi")
        {
            if (HasReloadFlag(cmd)) return new(ProcessRole.ReloaderParent, cmd.Tool == "fastapi" ? "fastapi dev reloader" : "uvicorn reloader");
            if (WorkerCount(cmd) > 1 || children.Any(c => IsSpawnChild(c.Command)))
                return new(ProcessRole.ReloaderParent, $"{node.Tool} supervisor");
            return new(ProcessRole.Main, null);
        }

        if (IsDjangoRunserver(cmd)) return new(ProcessRole.Main, "django runserver");
        return new(ProcessRole.Main, null);
    }

    private const string ForkServer = "multiprocessing forkserver";

    private static string? HelperName(PythonCommandLine cmd)
    {
        if (cmd.Code is { } code)
        {
            if (code.Contains("from multiprocessing.resource_tracker import main", StringComparison.Ordinal)
                || code.Contains("from multiprocessing.semaphore_tracker import main", StringComparison.Ordinal))
                return "multiprocessing resource tracker";
            if (code.Contains("from multiprocessing.forkserver import main", StringComparison.Ordinal)) return ForkServer;
            // wand's own agent, run with the target's interpreter through a runtime's exec (Payload.AgentBoot).
            if (code.Contains("'__wand_agent__'", StringComparison.Ordinal)) return "wand agent";
        }
        // debugpy.listen() starts its adapter as `python .../debugpy/adapter --for-server ...`.
        if (cmd.Module is "debugpy.adapter" || (cmd.Script is { } s && s.TrimEnd('/').EndsWith("/debugpy/adapter", StringComparison.Ordinal)))
            return "debugpy adapter";
        return null;
    }

    /// <summary>multiprocessing's spawn start method: Lib/multiprocessing/spawn.py, get_command_line().</summary>
    private static bool IsSpawnChild(PythonCommandLine cmd) =>
        cmd.Code?.Contains("from multiprocessing.spawn import spawn_main", StringComparison.Ordinal) == true;

    private static string ReloadedChildDetail(Node node, Node parent)
    {
        var framework = Framework(parent, [node]);
        if (framework is not null) return $"{framework} worker of {parent.Pid}";
        return node.Input.EnvironmentMarkers is { Count: 0 } ? $"forked child of {parent.Pid}" : $"reloaded child of {parent.Pid}";
    }

    /// <summary>"django" or "werkzeug" when the command line or a child's environment names the reloader, else null.</summary>
    private static string? Framework(Node parent, IReadOnlyList<Node> twins)
    {
        if (IsDjangoRunserver(parent.Command) || twins.Any(t => t.Input.EnvironmentMarkers?.Contains("RUN_MAIN") == true)) return "django";
        if (IsFlaskRun(parent.Command) || twins.Any(t => t.Input.EnvironmentMarkers?.Contains("WERKZEUG_RUN_MAIN") == true)) return "werkzeug";
        return null;
    }

    private static bool IsDjangoRunserver(PythonCommandLine cmd) =>
        cmd.Tool is "manage" or "django-admin" or "django" && cmd.Arguments.Contains("runserver");

    private static bool IsFlaskRun(PythonCommandLine cmd) => cmd.Tool == "flask" && cmd.Arguments.Contains("run");

    /// <summary>uvicorn --reload / --reload-dir; `fastapi dev` reloads unless --no-reload, `fastapi run` only with --reload.</summary>
    private static bool HasReloadFlag(PythonCommandLine cmd)
    {
        var args = cmd.Arguments;
        if (args.Contains("--no-reload")) return false;
        if (args.Any(a => a == "--reload" || a.StartsWith("--reload-", StringComparison.Ordinal))) return true;
        return cmd.Tool == "fastapi" && args.FirstOrDefault(a => !a.StartsWith('-')) == "dev";
    }

    /// <summary>The value of --workers N / --workers=N (uvicorn runs a single process for 1), or 0.</summary>
    private static int WorkerCount(PythonCommandLine cmd)
    {
        var args = cmd.Arguments;
        for (var i = 0; i < args.Count; i++)
        {
            var value = args[i] == "--workers" && i + 1 < args.Count ? args[i + 1]
                : args[i].StartsWith("--workers=", StringComparison.Ordinal) ? args[i]["--workers=".Length..] : null;
            if (int.TryParse(value, out var n)) return n;
        }
        return 0;
    }

    /// <summary>
    /// The process a debugger should attach to when the user named none: within the one group of
    /// related processes (a tree of parents and children; helpers never count), the newest worker,
    /// since reloader parents and supervisors run no application code; with no workers, the group's
    /// main process. When several unrelated groups exist, only those with an attachable process count;
    /// if that still leaves more than one, there is no obvious target and the result is null.
    /// </summary>
    public static PythonProcess? Recommend(IReadOnlyList<PythonProcess> processes)
    {
        var byPid = processes.ToDictionary(p => p.Pid);
        int RootOf(PythonProcess p)
        {
            var seen = new HashSet<int>();
            while (byPid.TryGetValue(p.ParentPid, out var parent) && seen.Add(p.Pid)) p = parent;
            return p.Pid;
        }

        var groups = processes.Where(p => p.Role != ProcessRole.Helper).GroupBy(RootOf).ToList();
        if (groups.Count > 1) groups = groups.Where(g => g.Any(p => p.Attach.CanAttach)).ToList();
        if (groups.Count != 1) return null;

        var members = groups[0].ToList();
        var workers = members.Where(p => p.Role == ProcessRole.Worker).ToList();
        if (workers.Count > 0) return workers.OrderBy(p => p.Uptime).ThenByDescending(p => p.Pid).First();
        var mains = members.Where(p => p.Role == ProcessRole.Main).ToList();
        return mains.Count == 1 ? mains[0] : byPid.GetValueOrDefault(groups[0].Key) ?? members[0];
    }
}
