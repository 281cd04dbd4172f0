namespace Wand.Discovery;

/// <summary>What a Python process is for, within its group of related processes.</summary>
public enum ProcessRole
{
    /// <summary>The application itself (a plain script, a server without a reloader or workers).</summary>
    Main,

    /// <summary>Watches files or manages workers and restarts them; runs no application code (uvicorn --reload, uvicorn --workers N's supervisor, gunicorn master, Django/werkzeug autoreloader).</summary>
    ReloaderParent,

    /// <summary>Runs the application code on behalf of a parent (reloaded child, server worker, multiprocessing child).</summary>
    Worker,

    /// <summary>Infrastructure, not application code (multiprocessing resource tracker and forkserver, debugpy adapter).</summary>
    Helper,
}
