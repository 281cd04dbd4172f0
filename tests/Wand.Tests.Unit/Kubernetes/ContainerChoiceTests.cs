using Wand.Discovery;
using Wand.Errors;
using Wand.Transport.Kubernetes;
using Xunit;

namespace Wand.Tests.Unit.Kubernetes;

/// <summary>Which container of a pod is debugged, decided from what each container showed when wand looked into it.</summary>
public class ContainerChoiceTests
{
    private static readonly Attachability Yes = new(AttachState.Attachable, "attachable");
    private const string NoInterpreter = "found no Python interpreter to work with inside the container";

    [Fact]
    public void ASidecarFirstAndAShellAsPid1StillFindTheAppContainer()
    {
        // PID 1 of app is `sh -c 'python3.14 app.py; ...'`: the listing has only its Python child; the sidecar has no Python to look with.
        var pod = Pod(("istio-proxy", "/usr/local/bin/pilot-agent"), ("app", "/bin/sh"));
        Assert.Equal("app", ContainerChoice.Choose(pod, [Failed("istio-proxy"), Look("app", Python(7, 1, "python3.14", "app.py"))]));
    }

    [Theory]
    [InlineData("tini")]
    [InlineData("dumb-init")]
    [InlineData("uv")]
    public void AnInitOrUvAsPid1WithAPythonChildIsTheApp(string init)
    {
        var pod = Pod(("envoy", "/usr/local/bin/envoy"), ("web", "/usr/bin/" + init), ("linkerd-proxy", ""));
        var looks = new[] { Failed("envoy"), Look("web", Python(8, 1, "/app/.venv/bin/python", "-m", "uvicorn", "main:app")), Look("linkerd-proxy") };
        Assert.Equal("web", ContainerChoice.Choose(pod, looks));
    }

    [Fact]
    public void TheOnlyContainerIsChosenWithoutLooking() =>
        Assert.Equal("main", ContainerChoice.Choose(Pod(("main", "/bin/sh")), []));

    [Fact]
    public void TheDefaultContainerAnnotationIsPreferredWhenItRunsPython()
    {
        var looks = new[] { Look("api", Python(1, 0, "python3", "api.py")), Look("worker", Python(1, 0, "python3", "-m", "celery")) };
        Assert.Equal("worker", ContainerChoice.Choose(Pod(("api", ""), ("worker", "")) with { DefaultContainer = "worker" }, looks));
    }

    [Fact]
    public void TheDefaultContainerAnnotationIsPassedOverWhenItRunsNoPython()
    {
        var looks = new[] { Look("nginx"), Look("api", Python(1, 0, "python3", "api.py")) };
        Assert.Equal("api", ContainerChoice.Choose(Pod(("nginx", "/usr/sbin/nginx"), ("api", "")) with { DefaultContainer = "nginx" }, looks));
    }

    [Fact]
    public void WithAPodWideProcessNamespaceTheAppWhoseParentIsZeroCounts()
    {
        // shareProcessNamespace: PID 1 is pause (in no container's listing), the app is PID 12 with parent 0.
        var pod = Pod(("queue-proxy", ""), ("user", "")) with { ShareProcessNamespace = true };
        var looks = new[] { Look("queue-proxy"), Look("user", Python(12, 0, "python3.14", "app.py")) };
        Assert.Equal("user", ContainerChoice.Choose(pod, looks));
    }

    [Fact]
    public void AKubectlExecBesideTheAppIsNotTheApp()
    {
        var app = Python(1, 0, "python3", "app.py") with { Uptime = TimeSpan.FromHours(1) };
        var beside = Python(40, 0, "python3", "-c", "print(1)") with { Uptime = TimeSpan.FromSeconds(1) };
        var worker = Python(41, 1, "python3", "app.py") with { Uptime = TimeSpan.FromMinutes(59) };
        Assert.Equal([app, worker], ContainerChoice.AppProcesses([app, beside, worker]));
        var shared = Python(9, 0, "python3", "app.py") with { Uptime = TimeSpan.FromHours(1) };
        Assert.Equal([shared], ContainerChoice.AppProcesses([shared, beside])); // shareProcessNamespace: the oldest root is the app
    }

    [Fact]
    public void ASidecarThatSeemsToRunPythonIsPassedOverForTheApp()
    {
        var looks = new[] { Look("queue-proxy", Python(1, 0, "python3", "-c", "sleep")), Look("user-container", Python(1, 0, "uvicorn")) };
        Assert.Equal("user-container", ContainerChoice.Choose(Pod(("queue-proxy", ""), ("user-container", "")), looks));
    }

    [Fact]
    public void TwoContainersThatRunPythonAreAmbiguousAndListed()
    {
        var looks = new[] { Look("api", Python(1, 0, "python3", "api.py")), Look("sidecar-log", Failed("sidecar-log").Python.ToArray()), Look("worker", Python(7, 1, "python3", "-m", "celery")) };
        var e = Assert.Throws<WandException>(() => ContainerChoice.Choose(Pod(("api", ""), ("sidecar-log", ""), ("worker", "/bin/sh")), looks));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Equal("pod p has 2 containers that run Python: api (PID 1 python3 api.py); worker (PID 7 python3 -m celery)", e.Message);
        Assert.Equal(new[] { "api", "worker" }, e.Remedy is { Kind: RemedyKind.NameContainer, Names: { } names } ? names : null);
    }

    [Fact]
    public void WhenNothingWasSeenTheSpecDecidesOrTheErrorSaysWhatEachShowed()
    {
        Assert.Equal("web", ContainerChoice.Choose(Pod(("web", "/usr/bin/python3.14"), ("cache", "/usr/bin/redis-server")), [Failed("web"), Failed("cache")]));
        var e = Assert.Throws<WandException>(() => ContainerChoice.Choose(Pod(("a", ""), ("b", "")), [Failed("a"), Look("b")]));
        Assert.Equal($"no container of pod p was seen running Python (a: {NoInterpreter}; b: no Python process)", e.Message);
        Assert.Equal(new Remedy(RemedyKind.NameContainer), e.Remedy);
    }

    [Fact]
    public void ARequestedContainerMustExist()
    {
        var pod = Pod(("a", ""), ("b", ""));
        Assert.Equal("b", ContainerChoice.Requested(pod, "b"));
        Assert.Null(ContainerChoice.Requested(pod, null));
        var wrong = Assert.Throws<WandException>(() => ContainerChoice.Requested(pod, "c"));
        Assert.Contains("its containers: a, b", wrong.Message);
        Assert.Equal(ExitCodes.KubeNotFound, wrong.ExitCode);
    }

    private static PodInfo Pod(params (string Name, string Entry)[] containers) =>
        new("p", "ns", "Running", true, 0, DateTimeOffset.UnixEpoch, "node", new Dictionary<string, string>(), containers, null);

    private static ContainerLook Look(string container, params PythonProcess[] python) => new(container, python, null);

    private static ContainerLook Failed(string container) => new(container, [], NoInterpreter);

    private static PythonProcess Python(int pid, int parent, params string[] argv) =>
        new(pid, parent, 0, "0", "3.14.0", ProcessRole.Main, null, 0, 0, TimeSpan.FromMinutes(60 - pid), argv, null, null, Yes);
}
