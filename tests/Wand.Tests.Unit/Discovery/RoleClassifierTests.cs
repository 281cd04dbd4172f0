using Wand.Discovery;
using Xunit;

namespace Wand.Tests.Unit.Discovery;

/// <summary>
/// Command lines below were copied from real processes (Debian's python3.14 with uvicorn 0.53,
/// gunicorn 26, Django 5.2, Flask 3.1 / werkzeug 3.1) unless noted.
/// </summary>
public class RoleClassifierTests
{
    private const string Py = "/usr/bin/python3.14";
    private const string Spawn = "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7)";
    private const string Tracker = "from multiprocessing.resource_tracker import main;main(4)";
    private static readonly HashSet<string> NoMarkers = [];

    private static RoleInput P(int pid, int ppid, params string[] argv) => new(pid, ppid, argv);

    private static RoleInput Shell(int pid, int ppid, params string[] argv) => new(pid, ppid, argv, IsPython: false);

    private static IReadOnlyDictionary<int, RoleAssignment> Classify(params RoleInput[] processes) => RoleClassifier.Classify(processes);

    [Fact]
    public void UvicornReload()
    {
        var roles = Classify(
            P(4722, 1, Py, "-m", "uvicorn", "--reload", "--app-dir", "/tmp/rl", "app:app", "--port", "8766"),
            P(4728, 4722, Py, "-B", "-c", Tracker),
            P(4729, 4722, Py, "-B", "-c", Spawn, "--multiprocessing-fork"));
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "uvicorn reloader"), roles[4722]);
        Assert.Equal(new RoleAssignment(ProcessRole.Helper, "multiprocessing resource tracker"), roles[4728]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "uvicorn worker of 4722"), roles[4729]);
    }

    [Fact]
    public void WandsOwnAgentBesideTheAppIsAHelper()
    {
        // What `kubectl exec POD -- /proc/1/exe -I -S -c AGENT` starts next to the app's PID 1.
        var roles = Classify(
            P(1, 0, Py, "-m", "uvicorn", "--app-dir", "/srv/apps/fastapi_app", "app:app", "--port", "8000"),
            P(40, 0, "/proc/1/exe", "-I", "-S", "-c", Wand.Injection.Payloads.Payload.AgentBoot));
        Assert.Equal(new RoleAssignment(ProcessRole.Helper, "wand agent"), roles[40]);
        Assert.Equal(ProcessRole.Main, roles[1].Role);
    }

    [Fact]
    public void UvicornWorkersHaveASupervisor()
    {
        var roles = Classify(
            P(7731, 1, Py, "-m", "uvicorn", "--app-dir", "/srv/apps/fastapi_app", "app:app", "--port", "18514", "--workers", "2"),
            P(7791, 7731, Py, "-B", "-c", "from multiprocessing.resource_tracker import main;main(6)"),
            P(7792, 7731, Py, "-B", "-c", "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=7, pipe_handle=9)", "--multiprocessing-fork"),
            P(7793, 7731, Py, "-B", "-c", "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=7, pipe_handle=14)", "--multiprocessing-fork"));
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "uvicorn supervisor"), roles[7731]);
        Assert.Equal(ProcessRole.Helper, roles[7791].Role);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "uvicorn worker of 7731"), roles[7792]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "uvicorn worker of 7731"), roles[7793]);
    }

    [Fact]
    public void UvicornWithoutReloadIsMain()
    {
        var roles = Classify(P(10, 1, "/app/.venv/bin/python3", "/app/.venv/bin/uvicorn", "main:app", "--host", "0.0.0.0", "--workers", "1"));
        Assert.Equal(new RoleAssignment(ProcessRole.Main, null), roles[10]);
    }

    [Fact]
    public void FastapiDevAndRun()
    {
        // fastapi-cli runs uvicorn in-process: `fastapi dev` with reload, `fastapi run --workers N` with workers.
        var roles = Classify(
            P(100, 1, "/app/.venv/bin/python", "/app/.venv/bin/fastapi", "dev", "main.py"),
            P(101, 100, "/app/.venv/bin/python", "-c", Spawn, "--multiprocessing-fork"),
            P(200, 1, "/usr/local/bin/python3.14", "/usr/local/bin/fastapi", "run", "main.py", "--workers", "4"),
            P(201, 200, "/usr/local/bin/python3.14", "-c", Spawn, "--multiprocessing-fork"),
            P(300, 1, "python", "-m", "fastapi", "dev", "--no-reload", "main.py"),
            P(400, 1, "python", "-m", "fastapi", "run", "main.py"));
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "fastapi dev reloader"), roles[100]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "fastapi worker of 100"), roles[101]);
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "fastapi supervisor"), roles[200]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "fastapi worker of 200"), roles[201]);
        Assert.Equal(ProcessRole.Main, roles[300].Role);
        Assert.Equal(ProcessRole.Main, roles[400].Role);
    }

    [Fact]
    public void GunicornMasterAndForkedWorkers()
    {
        string[] argv = [Py, "-m", "gunicorn", "-w", "2", "--chdir", "/var/tmp/psx", "-b", "127.0.0.1:18510", "wsgi:app"];
        var roles = Classify(P(7719, 1, argv), P(7789, 7719, argv), P(7790, 7719, argv));
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "gunicorn master"), roles[7719]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "gunicorn worker of 7719"), roles[7789]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "gunicorn worker of 7719"), roles[7790]);
    }

    [Fact]
    public void GunicornRenamedBySetproctitle()
    {
        var roles = Classify(
            Shell(1, 0, "/usr/bin/dumb-init", "--", "gunicorn", "app:app"),
            P(7, 1, "gunicorn: master [app:app]"),
            P(8, 7, "gunicorn: worker [app:app]"));
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "gunicorn master"), roles[7]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "gunicorn worker of 7"), roles[8]);
        Assert.False(roles.ContainsKey(1));
    }

    [Fact]
    public void DjangoAutoreloader()
    {
        var roles = Classify(
            P(7721, 1, Py, "/var/tmp/psx/dj/manage.py", "runserver", "127.0.0.1:18511"),
            P(7812, 7721, Py, "/var/tmp/psx/dj/manage.py", "runserver", "127.0.0.1:18511") with { EnvironmentMarkers = new HashSet<string> { "RUN_MAIN" } });
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "django autoreloader"), roles[7721]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "django worker of 7721"), roles[7812]);
    }

    [Fact]
    public void DjangoByStructureAloneWhenTheEnvironmentIsUnreadable()
    {
        // Another user's process: no environ, but the same program under a Python parent is the reloaded child.
        var roles = Classify(
            P(50, 1, "python3", "manage.py", "runserver", "0.0.0.0:8000"),
            P(51, 50, "/usr/bin/python3.14", "-Wdefault", "manage.py", "runserver", "0.0.0.0:8000"));
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "django autoreloader"), roles[50]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "django worker of 50"), roles[51]);
    }

    [Fact]
    public void DjangoNoreloadIsMain()
    {
        var roles = Classify(P(60, 1, "python", "manage.py", "runserver", "--noreload"));
        Assert.Equal(new RoleAssignment(ProcessRole.Main, "django runserver"), roles[60]);
    }

    [Fact]
    public void FlaskRunDebug()
    {
        string[] argv = [Py, "/usr/bin/flask", "--app", "/var/tmp/psx/flaskapp.py", "run", "--debug", "--port", "18513"];
        var roles = Classify(
            P(7725, 1, argv),
            P(7810, 7725, Py, "-B", "-c", "from multiprocessing.resource_tracker import main;main(6)"),
            P(7811, 7725, argv),
            P(7815, 7811, Py, "-B", "-c", "from multiprocessing.resource_tracker import main;main(7)"));
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "werkzeug reloader"), roles[7725]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "werkzeug worker of 7725"), roles[7811]);
        Assert.Equal(ProcessRole.Helper, roles[7810].Role);
        Assert.Equal(ProcessRole.Helper, roles[7815].Role);
    }

    [Fact]
    public void AppRunDebugIsNamedByTheWerkzeugEnvironment()
    {
        // app.run(debug=True) in a plain script: only WERKZEUG_RUN_MAIN says which framework reloads it.
        var roles = Classify(
            P(7723, 1, Py, "/var/tmp/psx/flaskapp.py"),
            P(7803, 7723, Py, "/var/tmp/psx/flaskapp.py") with { EnvironmentMarkers = new HashSet<string> { "WERKZEUG_RUN_MAIN" } });
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "werkzeug reloader"), roles[7723]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "werkzeug worker of 7723"), roles[7803]);
    }

    [Fact]
    public void IdenticalChildWithoutHintsIsAReloadedChild()
    {
        var roles = Classify(P(1, 0, "python3", "serve.py"), P(2, 1, "python3", "serve.py"));
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "reloader"), roles[1]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "reloaded child of 1"), roles[2]);
    }

    [Fact]
    public void IdenticalChildWithReadableEnvironmentButNoMarkerWasForked()
    {
        // multiprocessing "fork" start method or os.fork(): the environment was readable and holds no reloader variable.
        var roles = Classify(
            P(1, 0, "python3", "batch.py") with { EnvironmentMarkers = NoMarkers },
            P(2, 1, "python3", "batch.py") with { EnvironmentMarkers = NoMarkers },
            P(3, 1, "python3", "batch.py") with { EnvironmentMarkers = NoMarkers });
        Assert.Equal(new RoleAssignment(ProcessRole.Main, null), roles[1]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "forked child of 1"), roles[2]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "forked child of 1"), roles[3]);
    }

    [Fact]
    public void MultiprocessingSpawnPool()
    {
        var roles = Classify(
            P(7729, 1, Py, "/var/tmp/psx/poolfork.py"),
            P(7770, 7729, Py, "-B", "-c", "from multiprocessing.resource_tracker import main;main(5)"),
            P(7772, 7729, Py, "-B", "-c", "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=6, pipe_handle=13)", "--multiprocessing-fork"),
            P(7785, 7729, Py, "-B", "-c", "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=6, pipe_handle=15)", "--multiprocessing-fork"));
        Assert.Equal(new RoleAssignment(ProcessRole.Main, null), roles[7729]);
        Assert.Equal(new RoleAssignment(ProcessRole.Helper, "multiprocessing resource tracker"), roles[7770]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "multiprocessing child of 7729"), roles[7772]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "multiprocessing child of 7729"), roles[7785]);
    }

    [Fact]
    public void MultiprocessingForkserverAndItsChildren()
    {
        // CPython 3.14's default start method on Linux; the forkserver's children are fork()ed from it.
        const string code = "import sys; from multiprocessing.forkserver import main; main(11, 12, ['__main__'], sys_argv=sys.argv[1:], **{'sys_path': ['/var/tmp/psx', '/usr/lib/python314.zip', '/usr/lib/python3.14', '/usr/lib/python3.14/lib-dynload', '/usr/lib/python3/dist-packages'], 'main_path': '/var/tmp/psx/pool.py', 'authkey_r': 14})";
        var roles = Classify(
            P(7727, 1, Py, "/var/tmp/psx/pool.py"),
            P(7761, 7727, Py, "-B", "-c", "from multiprocessing.resource_tracker import main;main(5)"),
            P(7776, 7727, Py, "-B", "-c", code, "/var/tmp/psx/pool.py"),
            P(7804, 7776, Py, "-B", "-c", code, "/var/tmp/psx/pool.py"),
            P(7805, 7776, Py, "-B", "-c", code, "/var/tmp/psx/pool.py"));
        Assert.Equal(new RoleAssignment(ProcessRole.Main, null), roles[7727]);
        Assert.Equal(ProcessRole.Helper, roles[7761].Role);
        Assert.Equal(new RoleAssignment(ProcessRole.Helper, "multiprocessing forkserver"), roles[7776]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "multiprocessing child of 7727"), roles[7804]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "multiprocessing child of 7727"), roles[7805]);
    }

    [Fact]
    public void DebugpyAdapterIsAHelper()
    {
        var roles = Classify(
            P(1, 0, Py, "/srv/apps/loop.py"),
            P(2, 1, Py, "/usr/lib/python3/dist-packages/debugpy/adapter", "--for-server", "39527", "--host", "127.0.0.1", "--port", "5678"));
        Assert.Equal(new RoleAssignment(ProcessRole.Helper, "debugpy adapter"), roles[2]);
        Assert.Equal(ProcessRole.Main, roles[1].Role);
    }

    [Fact]
    public void NonPythonParentsDoNotConfuseIt()
    {
        var roles = Classify(
            // tini -> uvicorn --reload: the tree below tini is classified as usual
            Shell(1, 0, "/sbin/tini", "--", "uvicorn", "app:app", "--reload"),
            P(7, 1, "/usr/local/bin/python3.14", "/usr/local/bin/uvicorn", "app:app", "--reload"),
            P(9, 7, "/usr/local/bin/python3.14", "-c", Spawn, "--multiprocessing-fork"),
            // uv run keeps running as the parent; its argv mentions python and the script too
            Shell(20, 1, "uv", "run", "python", "app.py"),
            P(21, 20, "/app/.venv/bin/python3", "app.py"),
            // sh -c "python manage.py runserver": the shell is not the autoreloader
            Shell(30, 1, "/bin/sh", "-c", "python manage.py runserver"),
            P(31, 30, "python", "manage.py", "runserver"),
            // a shell wrapper whose argv is the same program (a pyenv-like shim) is not a reloader either
            Shell(40, 1, "python3", "job.py"),
            P(41, 40, "/usr/bin/python3.14", "job.py"),
            // a Python process whose parent is not in the list at all
            P(50, 4242, "python3", "orphan.py"));
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "uvicorn reloader"), roles[7]);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "uvicorn worker of 7"), roles[9]);
        Assert.Equal(new RoleAssignment(ProcessRole.Main, null), roles[21]);
        Assert.Equal(new RoleAssignment(ProcessRole.Main, "django runserver"), roles[31]);
        Assert.Equal(new RoleAssignment(ProcessRole.Main, null), roles[41]);
        Assert.Equal(new RoleAssignment(ProcessRole.Main, null), roles[50]);
        Assert.False(roles.ContainsKey(1) || roles.ContainsKey(20) || roles.ContainsKey(30) || roles.ContainsKey(40));
    }

    [Fact]
    public void SpawnChildWithoutAParentIsStillAWorker()
    {
        var roles = Classify(P(9, 1, "python3", "-c", Spawn, "--multiprocessing-fork"));
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "multiprocessing child"), roles[9]);
    }

    [Fact]
    public void PlainScriptIsMain()
    {
        var roles = Classify(P(5, 1, "python3", "-u", "/srv/apps/loop.py"));
        Assert.Equal(new RoleAssignment(ProcessRole.Main, null), roles[5]);
    }
}
