using Wand.Errors;

namespace Wand.Discovery;

/// <summary>
/// What a debug session debugs when the process it was given runs no application code: a reloader
/// parent or supervisor (uvicorn --reload and --workers N, gunicorn's master, Django's and werkzeug's
/// reloaders) only watches files or its workers; the app is imported and served in the workers
/// (uvicorn and gunicorn load it in each worker, the reloaders re-execute the program in a child), so a
/// breakpoint in the app never hits in the supervisor. Its workers are debugged instead.
/// </summary>
/// <param name="Supervisor">The process that was named.</param>
/// <param name="Workers">Its workers that can be attached, newest first (a reloader's current one leads).</param>
public sealed record SupervisedWorkers(PythonProcess Supervisor, IReadOnlyList<PythonProcess> Workers)
{
    /// <summary>
    /// The workers of <paramref name="named"/> among <paramref name="processes"/> when it is a supervisor
    /// (<see cref="ProcessRole.ReloaderParent"/>); null when it runs application code itself.
    /// </summary>
    public static SupervisedWorkers? Of(IReadOnlyList<PythonProcess> processes, PythonProcess named) =>
        named.Role != ProcessRole.ReloaderParent ? null
            : new(named, processes.Where(p => p.ParentPid == named.Pid && p.Pid != named.Pid && p.Role == ProcessRole.Worker && p.Attach.CanAttach)
                .OrderBy(p => p.Uptime).ThenByDescending(p => p.Pid).ToList());

    /// <summary>Several workers serve side by side (gunicorn -w N, uvicorn --workers N): a request may land on any, so all are debugged.</summary>
    public bool Several => Workers.Count > 1;

    /// <summary>
    /// The one process a debugpy started without a session serves: its only worker, or the supervisor itself
    /// when it has none. Nothing follows a reload or respawn then, and one debugpy listens in one process, so
    /// several workers (any of which may take a request) cannot be stood for by one of them.
    /// </summary>
    /// <exception cref="SeveralWorkersException">The supervisor has several workers.</exception>
    public PythonProcess DetachedTarget() => Workers.Count switch
    {
        0 => Supervisor,
        1 => Workers[0],
        _ => throw new SeveralWorkersException($"{What(p => p)} and has {Workers.Count} workers (PIDs {string.Join(", ", Workers.Select(w => w.Pid).Order())}); one debugpy without a session debugs only one of them",
            Supervisor.Pid, Workers.Select(w => w.Pid).Order().ToList()),
    };

    /// <summary>"PID N is the gunicorn master (it runs no app code)".</summary>
    public string What(Func<int, int> shown) => $"PID {shown(Supervisor.Pid)} is the {Supervisor.RoleDetail ?? "reloader"} (it runs no app code)";

    /// <summary>One line that says what the named process is and what is debugged instead (<see cref="Alternative"/>: what else the user can choose); <paramref name="shown"/> maps a PID to the one the user knows (inside a container).</summary>
    public string Describe(Func<int, int> shown)
    {
        var what = What(shown);
        return Workers.Count switch
        {
            0 => $"{what} and has no worker wand can attach; debugging PID {shown(Supervisor.Pid)} itself",
            1 => $"{what}; debugging its worker PID {shown(Workers[0].Pid)} and the workers that replace it",
            _ => $"{what}; debugging its {Workers.Count} workers (PIDs {string.Join(", ", Workers.Select(w => shown(w.Pid)).Order())}), each a child session in the editor",
        };
    }

    /// <summary>The user's other choice when workers are debugged instead: the supervisor alone (null when it has none).</summary>
    public Remedy? Alternative(Func<int, int> shown) => Workers.Count == 0 ? null : new(RemedyKind.DebugOnlyThis, shown(Supervisor.Pid));
}
