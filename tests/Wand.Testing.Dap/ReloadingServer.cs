namespace Wand.Session.Dap;

/// <summary>
/// A web server whose worker is replaced while an editor debugs it (issue 15 item 4), as a user runs it in
/// the testbed: its sample (a folder of tests/testbed/apps, copied by the caller into a folder of its own,
/// since edits reload it), its Python arguments, and how a new worker is brought about.
/// </summary>
/// <param name="Name">How reports name it.</param>
/// <param name="Sample">The sample's folder under /srv/apps.</param>
/// <param name="Arguments">Python's arguments, given the sample copy's folder (inside the root) and the port.</param>
/// <param name="KillsWorker">True: a new worker comes by killing the current one (gunicorn respawns it); false: by editing the app file (the reloader restarts it).</param>
public sealed record ReloadingServer(string Name, string Sample, Func<string, int, string[]> Arguments, bool KillsWorker)
{
    /// <summary>uvicorn --reload with the FastAPI sample: the reloader starts each worker with multiprocessing's spawn.</summary>
    public static ReloadingServer Uvicorn { get; } = new("uvicorn --reload", "fastapi_app",
        (dir, port) => ["-m", "uvicorn", "--app-dir", dir, "app:app", "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--reload", "--reload-dir", dir], false);

    /// <summary>Flask's development server under werkzeug's stat reloader (the worker is a new `python app.py`).</summary>
    public static ReloadingServer Werkzeug { get; } = new("werkzeug reloader", "flask_app",
        (dir, port) => [$"{dir}/app.py", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], false);

    /// <summary>
    /// gunicorn with one sync worker serving the Flask sample; the worker, forked by the master, imports the app.
    /// --timeout 6: an idle sync worker waits in select() for half of it (SyncWorker.wait), and reaches no safe
    /// point meanwhile; the default (30 s) is longer than wand's safe-point timeout for the first attach.
    /// </summary>
    public static ReloadingServer Gunicorn { get; } = new("gunicorn respawn", "flask_app",
        (dir, port) => ["-m", "gunicorn", "--workers", "1", "--worker-class", "sync", "--timeout", "6", "--chdir", dir, "--bind", $"127.0.0.1:{port}", "app:app"], true);

    public static IReadOnlyList<ReloadingServer> All { get; } = [Uvicorn, Werkzeug, Gunicorn];
}
