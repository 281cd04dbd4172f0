using Wand.Discovery;
using Wand.Errors;
using Xunit;

namespace Wand.Tests.Unit.Discovery;

/// <summary>
/// Which processes a debug session takes when it is given a supervisor (issue 13, defect 2). The
/// process trees are classified by <see cref="RoleClassifier"/> from real command lines, as a scan does.
/// </summary>
public class SupervisedWorkersTests
{
    private const string Py = "/usr/bin/python3.14";
    private const string Spawn = "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7)";
    private const string Tracker = "from multiprocessing.resource_tracker import main;main(4)";
    private static readonly Attachability Yes = new(AttachState.Attachable, "ok");
    private static readonly Attachability No = new(AttachState.UnsupportedVersion, "Python 3.13");

    private sealed record Proc(int Pid, int ParentPid, string[] Argv, double UptimeSeconds = 100, bool CanAttach = true);

    /// <summary>PythonProcesses as a scan gives them: roles from the classifier.</summary>
    private static List<PythonProcess> Scan(params Proc[] processes)
    {
        var roles = RoleClassifier.Classify(processes.Select(p => new RoleInput(p.Pid, p.ParentPid, p.Argv)).ToList());
        return processes.Select(p => new PythonProcess(p.Pid, p.ParentPid, 0, "root", "3.14.10", roles[p.Pid].Role, roles[p.Pid].Detail, 0, 0,
            TimeSpan.FromSeconds(p.UptimeSeconds), p.Argv, "/", "/", p.CanAttach ? Yes : No)).ToList();
    }

    private static PythonProcess Pid(IEnumerable<PythonProcess> all, int pid) => all.Single(p => p.Pid == pid);

    [Fact]
    public void UvicornReloaderStandsForItsWorkerNotItsResourceTracker()
    {
        var all = Scan(
            new(4722, 1, [Py, "-m", "uvicorn", "--reload", "--app-dir", "/tmp/rl", "app:app"]),
            new(4728, 4722, [Py, "-B", "-c", Tracker]),
            new(4729, 4722, [Py, "-B", "-c", Spawn, "--multiprocessing-fork"]));
        var s = SupervisedWorkers.Of(all, Pid(all, 4722));
        Assert.NotNull(s);
        Assert.Equal([4729], s.Workers.Select(w => w.Pid));
        Assert.False(s.Several);
        Assert.Equal("PID 4722 is the uvicorn reloader (it runs no app code); debugging its worker PID 4729 and the workers that replace it",
            s.Describe(p => p));
        Assert.Equal(new Remedy(RemedyKind.DebugOnlyThis, 4722), s.Alternative(p => p)); // the CLI words it: "--one debugs PID 4722 alone"
    }

    [Fact]
    public void GunicornMasterStandsForAllItsWorkers()
    {
        string[] argv = [Py, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:8000", "app:app"];
        var all = Scan(new(1, 0, argv), new(7, 1, argv, 30), new(8, 1, argv, 20));
        var s = SupervisedWorkers.Of(all, Pid(all, 1))!;
        Assert.Equal([8, 7], s.Workers.Select(w => w.Pid)); // newest first
        Assert.True(s.Several);
        // Inside a container the user knows the PIDs there: the description uses those.
        Assert.Equal("PID 1001 is the gunicorn master (it runs no app code); debugging its 2 workers (PIDs 1007, 1008), each a child session in the editor",
            s.Describe(p => p + 1000));
        Assert.Equal(1001, s.Alternative(p => p + 1000)?.Pid);
    }

    [Fact]
    public void UvicornWorkersSupervisorStandsForItsWorkers()
    {
        var all = Scan(
            new(7731, 1, [Py, "-m", "uvicorn", "app:app", "--workers", "2"]),
            new(7791, 7731, [Py, "-B", "-c", Tracker]),
            new(7792, 7731, [Py, "-B", "-c", Spawn, "--multiprocessing-fork"]),
            new(7793, 7731, [Py, "-B", "-c", Spawn, "--multiprocessing-fork"]));
        Assert.Equal([7792, 7793], SupervisedWorkers.Of(all, Pid(all, 7731))!.Workers.Select(w => w.Pid).Order());
    }

    [Fact]
    public void AWorkerThatCannotBeAttachedIsLeftOutAndWithNoneTheSupervisorItselfIsDebugged()
    {
        string[] argv = [Py, "-m", "gunicorn", "-w", "1", "app:app"];
        var all = Scan(new(10, 1, argv), new(11, 10, argv, CanAttach: false));
        var s = SupervisedWorkers.Of(all, Pid(all, 10))!;
        Assert.Empty(s.Workers);
        Assert.Equal("PID 10 is the gunicorn master (it runs no app code) and has no worker wand can attach; debugging PID 10 itself", s.Describe(p => p));
        Assert.Null(s.Alternative(p => p)); // nothing else to choose
    }

    [Fact]
    public void WithoutASessionOnlyASoleWorkerStandsForTheSupervisor()
    {
        string[] argv = [Py, "-m", "gunicorn", "-w", "2", "app:app"];
        var one = Scan(new(20, 1, argv), new(21, 20, argv));
        Assert.Equal(21, SupervisedWorkers.Of(one, Pid(one, 20))!.DetachedTarget().Pid);
        var none = Scan(new(30, 1, argv), new(31, 30, argv, CanAttach: false));
        Assert.Equal(30, SupervisedWorkers.Of(none, Pid(none, 30))!.DetachedTarget().Pid);
        var several = Scan(new(40, 1, argv), new(42, 40, argv, 20), new(41, 40, argv, 30));
        var e = Assert.Throws<Wand.Errors.SeveralWorkersException>(() => SupervisedWorkers.Of(several, Pid(several, 40))!.DetachedTarget());
        Assert.Equal(40, e.Supervisor);
        Assert.Equal([41, 42], e.Workers);
        Assert.Equal(Wand.Errors.ExitCodes.Usage, e.ExitCode);
        Assert.StartsWith("PID 40 is the gunicorn master (it runs no app code) and has 2 workers (PIDs 41, 42)", e.Message);
    }

    [Fact]
    public void ProcessesThatRunTheAppStandForThemselves()
    {
        string[] gunicorn = [Py, "-m", "gunicorn", "-w", "2", "app:app"];
        var all = Scan(
            new(20, 1, gunicorn), new(21, 20, gunicorn), new(22, 20, gunicorn),
            // A script with a multiprocessing pool runs the app itself: its children are not what it stands for.
            new(30, 1, [Py, "/srv/job.py"]), new(31, 30, [Py, "-c", Spawn, "--multiprocessing-fork"]),
            new(40, 1, [Py, "-m", "uvicorn", "app:app"]));
        Assert.Null(SupervisedWorkers.Of(all, Pid(all, 21)));
        Assert.Null(SupervisedWorkers.Of(all, Pid(all, 30)));
        Assert.Null(SupervisedWorkers.Of(all, Pid(all, 40)));
    }
}
