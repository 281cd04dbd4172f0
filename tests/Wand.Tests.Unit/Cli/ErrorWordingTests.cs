using Wand.Cli;
using Wand.Errors;
using Wand.Injection.Debugpy;
using Wand.Stacks;
using Xunit;

namespace Wand.Tests.Unit.Cli;

/// <summary>
/// The library's typed errors carry facts and name none of wand's options; the CLI words them with the
/// options and commands a user types (the texts users saw before the library stopped naming them).
/// </summary>
public sealed class ErrorWordingTests
{
    [Fact]
    public void TimeoutsNameTheTimeoutOption()
    {
        var partial = new ExecTimeoutException(42, TimeSpan.FromSeconds(3), new Wand.Injection.ExecResult(false, "", "", null));
        Assert.DoesNotContain("--timeout", partial.Message + partial.Hint);
        Assert.Equal(("the code ran past its 3 s --timeout and was interrupted in PID 42; the application goes on", "give it a longer --timeout if it needs more time"), ErrorWording.Of(partial));

        var stuck = new ExecTimeoutException(42, TimeSpan.FromSeconds(2.5), null);
        Assert.StartsWith("the code ran past its 2.5 s --timeout in PID 42 and was told to stop, but has not stopped: it is blocked in C code", ErrorWording.Of(stuck).Message);

        Assert.Equal("try again once the application has started, or pass a longer --timeout", ErrorWording.Of(new StillImportingException(7, "torch", TimeSpan.FromSeconds(5))).Hint);
        Assert.Equal("retry with a longer --timeout once the application is idle-looping", ErrorWording.Of(new ExecRouteTimeoutException(7, "pod p")).Hint);
    }

    [Fact]
    public void ASafePointTimeoutPointsAtStacksAndTheTimeout()
    {
        var plain = new SafePointTimeoutException(7, 8, TimeSpan.FromSeconds(5), "futex");
        Assert.DoesNotContain("--", plain.Hint);
        Assert.Equal("the thread is blocked in C code (sleep, I/O, lock); run `wand stacks --pid 7` (or look at /proc/7/task/8/stack), then retry with a longer --timeout once it is idle-looping",
            ErrorWording.Of(plain).Hint);
        Assert.Equal(plain.Message, ErrorWording.Of(plain).Message);

        var withStack = new SafePointTimeoutException(7, 7, TimeSpan.FromSeconds(5), null, [new StackFrame("/srv/app.py", 12, "wait", null)]);
        Assert.Equal("the thread is blocked in C code called from here (read from memory, innermost last):\n      /srv/app.py:12 wait\n  run `wand stacks --pid 7` for every thread; retry with a longer --timeout once it is idle-looping",
            ErrorWording.Of(withStack).Hint);

        Assert.StartsWith("uWSGI runs Python only while a worker handles a request: send requests during --timeout",
            ErrorWording.Of(new SafePointTimeoutException(7, 7, TimeSpan.FromSeconds(5), null, uwsgi: true)).Hint);
    }

    [Fact]
    public void ChoicesNameTheOptionThatMakesThem()
    {
        Assert.Equal("pass --pid PID", ErrorWording.Of(new AmbiguousProcessException(["PID 1 main", "PID 2 main"])).Hint);
        Assert.Equal("install podman or docker, or pass --runtime", ErrorWording.Of(new NoContainerRuntimeException(["podman", "docker"])).Hint);
        Assert.Equal(("both podman and docker have a container named web", "choose with --runtime podman or --runtime docker"),
            ErrorWording.Of(new AmbiguousContainerRuntimeException("web", ["podman", "docker"])));
        Assert.Equal("choose another port with --port", ErrorWording.Of(new DebugpyListenFailedException(7, "127.0.0.1", 5678, "Address already in use")).Hint);
        Assert.EndsWith("or pass --debugpy /path/to/site-packages/debugpy", ErrorWording.Of(new DebugpyMissingException(7, ["/x"])).Hint);
    }

    /// <summary>
    /// The library's remedies (what the user can do, by kind) come out as the options and commands that do it,
    /// after the library's own hint; the texts users saw when the library still spelled them.
    /// </summary>
    [Fact]
    public void RemediesNameTheOptionOrCommandThatDoesIt()
    {
        var twoContainers = Assert.Throws<WandException>(() => Wand.Transport.Kubernetes.ContainerChoice.Choose(
            new("p", "ns", "Running", true, 0, DateTimeOffset.UnixEpoch, "node", new Dictionary<string, string>(), [("api", ""), ("worker", "")], null),
            [new("api", [Python(1)], null), new("worker", [Python(1)], null)]));
        Assert.Equal("pass --pod-container api or --pod-container worker", ErrorWording.Of(twoContainers).Hint);
        Assert.Equal("pass --pod-container NAME", ErrorWording.Hint(null, new Remedy(RemedyKind.NameContainer)));

        var old = Assert.Throws<UnsupportedPythonException>(() => Wand.Injection.Attacher.DebugOffsets.EnsureSupported(new Wand.Injection.Attacher.PythonVersion(3, 13, 5, Wand.Injection.Attacher.PythonVersion.Final, 0)));
        Assert.DoesNotContain("rdg", old.Hint);
        Assert.Equal("on this machine wand reaches Python 3.9-3.13 through ptrace instead; or run the app on Python 3.14+, or start it under `rdg debug python ...` (any Python 3.8+)",
            ErrorWording.Of(old).Hint);
        Assert.Equal("run `wand ps` to list the Python processes and whether each can be attached", ErrorWording.Of(new ProcessNotFoundException(7)).Hint);
        Assert.Equal("restart uWSGI with --enable-threads (or --threads N); `wand exec` works as it is",
            ErrorWording.Of(new UnsupportedPythonException("uWSGI without threads", "restart uWSGI with --enable-threads (or --threads N)", new Remedy(RemedyKind.RunCodeInstead))).Hint);
        Assert.Equal("wait for a pod to become Ready (kubectl get pods -w), or name the pods with -l SELECTOR or --pod NAME",
            ErrorWording.Hint("wait for a pod to become Ready (kubectl get pods -w)", new Remedy(RemedyKind.NamePods)));
        Assert.Equal("fix the file and run rdg init again", ErrorWording.Hint("fix the file", new Remedy(RemedyKind.WriteLaunchConfigAgain)));
        Assert.StartsWith("usage: rdg debug [OPTIONS] python SCRIPT", ErrorWording.Of(new WandException(ExitCodes.Usage, "-m needs a module name", remedy: new Remedy(RemedyKind.GiveProgramCommand))).Hint);
        Assert.Equal("--one debugs PID 42 alone", ErrorWording.Words(new Remedy(RemedyKind.DebugOnlyThis, 42)));
        Assert.All(Enum.GetValues<RemedyKind>(), kind => Assert.NotEmpty(ErrorWording.Words(new Remedy(kind)))); // every kind is worded
    }

    private static Wand.Discovery.PythonProcess Python(int pid) =>
        new(pid, 0, 0, "0", "3.14.0", Wand.Discovery.ProcessRole.Main, null, 0, 0, TimeSpan.FromMinutes(1), ["python3", "app.py"], null, null, new(Wand.Discovery.AttachState.Attachable, "attachable"));

    /// <summary>
    /// Typed for their wording, they are still injection failures: DebugSession retries an injection that
    /// failed so once (a reload worker still importing its framework), ExecRoute tries the next interpreter.
    /// </summary>
    [Fact]
    public void InjectionFailuresStayInjectionFailures()
    {
        Assert.IsAssignableFrom<InjectionFailedException>(new StillImportingException(7, "flask", TimeSpan.FromSeconds(5)));
        Assert.IsAssignableFrom<InjectionFailedException>(new ExecRouteTimeoutException(7, "pod p"));
        Assert.IsAssignableFrom<InjectionFailedException>(new DebugpyListenFailedException(7, "127.0.0.1", 5678, "in use"));
        Assert.Equal(ExitCodes.InjectionFailed, new StillImportingException(7, "flask", TimeSpan.FromSeconds(5)).ExitCode);
    }

    [Fact]
    public void OtherErrorsAreSaidAsTheLibrarySaysThem()
    {
        var e = new WandException(ExitCodes.Usage, "something", "do this");
        Assert.Equal(("something", "do this"), ErrorWording.Of(e));
    }
}
