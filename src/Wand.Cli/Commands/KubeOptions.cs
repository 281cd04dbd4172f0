using System.CommandLine;
using Wand.Errors;
using Wand.Transport.Kubernetes;

namespace Wand.Cli.Commands;

/// <summary>
/// The Kubernetes options shared by pods, exec and debug (<c>-n</c>, <c>--context</c>,
/// <c>--kubeconfig</c>, <c>-s SVC</c>, <c>-l SELECTOR</c>, <c>--pod NAME</c>, <c>--pod-container</c>)
/// and resolving them to a pod, its Python container and the exec route into it.
/// </summary>
public sealed class KubeOptions
{
    public Option<string?> Namespace { get; } = new("--namespace", "-n") { Description = "Kubernetes namespace (default: the context's)" };
    public Option<string?> Context { get; } = new("--context") { Description = "kubeconfig context to use" };
    public Option<string?> Kubeconfig { get; } = new("--kubeconfig") { Description = "kubeconfig file to use" };
    public Option<string?> Service { get; } = new("--service", "-s") { Description = "Kubernetes service whose pods to use (Knative services too)" };
    public Option<string?> Selector { get; } = new("--selector", "-l") { Description = "label selector of the pods to use" };
    public Option<string?> Pod { get; } = new("--pod") { Description = "one pod by name (NAME or pod/NAME)" };
    public Option<string?> PodContainer { get; } = new("--pod-container") { Description = "container of the pod (default: the one running Python; Knative: user-container)" };
    public Option<string> PodSelect { get; } = CreatePodSelect();

    /// <summary>Set to 1 to take the newest Ready pod without asking (debugwand's variable).</summary>
    public const string AutoSelectVariable = "DEBUGWAND_AUTO_SELECT_POD";

    private static Option<string> CreatePodSelect()
    {
        var option = new Option<string>("--pod-select")
        {
            Description = $"ask: choose among several Ready pods (on a terminal); newest: take the newest Ready pod (also {AutoSelectVariable}=1)",
            DefaultValueFactory = _ => "ask",
        };
        option.AcceptOnlyFromAmong("ask", "newest");
        return option;
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Namespace, Context, Kubeconfig, Service, Selector, Pod, PodContainer, PodSelect }) command.Options.Add(option);
    }

    /// <summary>True when the command is about pods.</summary>
    public bool Given(ParseResult result, string? target = null) =>
        target is not null || result.GetValue(Service) is not null || result.GetValue(Selector) is not null || result.GetValue(Pod) is not null;

    public KubectlClient Client(ParseResult result) => new(result.GetValue(Context), result.GetValue(Kubeconfig), result.GetValue(Namespace));

    /// <summary>The pods meant, and how to name them in messages (a Terminating pod is never one of them).</summary>
    public async Task<(IReadOnlyList<PodInfo> Pods, string What)> PodsAsync(ParseResult result, string? target, CancellationToken cancellationToken)
    {
        var (source, what) = await SourceAsync(result, target, cancellationToken);
        return ((await source.ListAsync(cancellationToken)).Where(p => !p.Terminating).ToList(), what);
    }

    /// <summary>Where the pods meant come from (a service's is its selector's), to list or watch; and how to name them in messages.</summary>
    public async Task<(IPodEventSource Source, string What)> SourceAsync(ParseResult result, string? target, CancellationToken cancellationToken)
    {
        var kubectl = Client(result);
        var pod = target ?? result.GetValue(Pod);
        if (pod is not null)
        {
            if (target is not null && !target.StartsWith("pod/", StringComparison.Ordinal))
                throw new WandException(ExitCodes.Usage, $"unknown target {target}", "give pod/NAME, -s SERVICE or -l SELECTOR");
            var name = pod.StartsWith("pod/", StringComparison.Ordinal) ? pod[4..] : pod;
            return (new KubectlPodEvents(kubectl, null, name), $"pod {name}");
        }
        if (result.GetValue(Service) is { } service) return (new KubectlPodEvents(kubectl, await new PodFinder(kubectl).SelectorAsync(service, cancellationToken), null), $"service {service}");
        if (result.GetValue(Selector) is { } selector) return (new KubectlPodEvents(kubectl, selector, null), $"selector {selector}");
        throw new WandException(ExitCodes.Usage, "say which pods: -s SERVICE, -l SELECTOR or --pod NAME", "example: wand pods -n shop -s api");
    }

    /// <summary>The pods meant, listed and then watched (`kubectl get pods --watch`) for a session.</summary>
    public async Task<(PodWatch Watch, string What)> WatchAsync(IUserInterface ui, ParseResult result, string? target, CancellationToken cancellationToken)
    {
        var (source, what) = await SourceAsync(result, target, cancellationToken);
        var watch = new PodWatch(source, ui, TimeProvider.System);
        try
        {
            await watch.StartAsync(cancellationToken);
        }
        catch
        {
            await watch.DisposeAsync();
            throw;
        }
        return (watch, what);
    }

    private PodContainers? _containers;

    /// <summary>What the pods' containers showed, looked into once for this command (<c>kubectl exec</c> per container, in parallel).</summary>
    public PodContainers Containers(ParseResult result, Wand.Progress.IProgressReporter progress) =>
        _containers ??= new PodContainers(Client(result), TimeProvider.System, progress);

    /// <summary>The pod's Python container (<c>--pod-container</c>, else the one seen running Python).</summary>
    public Task<PodExecTarget> TargetAsync(ParseResult result, PodInfo pod, Wand.Progress.IProgressReporter progress, CancellationToken cancellationToken) =>
        Containers(result, progress).TargetAsync(pod, result.GetValue(PodContainer), cancellationToken);

    /// <summary>Chooses a replacement pod's container the same way.</summary>
    private Func<PodInfo, CancellationToken, Task<string>> Chooser(ParseResult result, Wand.Progress.IProgressReporter progress) =>
        (pod, ct) => Containers(result, progress).ChooseAsync(pod, result.GetValue(PodContainer), ct);

    /// <summary>
    /// The pod meant and its Python container; says which one was chosen. Among several Ready pods the
    /// user chooses on a terminal (the newest, latest revision first, preselected), unless --yes,
    /// --pod-select newest or DEBUGWAND_AUTO_SELECT_POD=1 take the newest without asking.
    /// </summary>
    public async Task<PodExecTarget> ResolveAsync(IUserInterface ui, ParseResult result, (IReadOnlyList<PodInfo> Pods, string What) query, bool yes, CancellationToken cancellationToken)
    {
        var (pods, what) = (query.Pods.Where(p => !p.Terminating).ToList(), query.What);
        var newest = PodFinder.ChooseNewestReady(pods, what);
        var ready = pods.Where(p => p.Ready).ToList();
        var ask = ready.Count > 1 && ui.CanPrompt && !yes && result.GetValue(PodSelect) == "ask" && Environment.GetEnvironmentVariable(AutoSelectVariable) != "1";
        var now = DateTimeOffset.UtcNow;
        var pod = ask
            ? ui.Choose($"Which pod behind {what}?", [newest, .. ready.Where(p => p != newest).OrderByDescending(p => p.Created)],
                p => $"{p.Name}  restarts {p.Restarts}, age {(int)(now - p.Created).TotalMinutes}m, node {p.Node}{(p.Revision is { } r ? $", revision {r}" : "")}{(p == newest ? "  (newest)" : "")}")
            : newest;
        var exec = await TargetAsync(result, pod, ui, cancellationToken);
        ui.Info($"{exec.Description} in namespace {pod.Namespace}, reached through `kubectl exec`" +
            (!ask && ready.Count > 1 ? $" (the newest of {ready.Count} Ready pods behind {what}; --pod NAME chooses another)" : ""));
        return exec;
    }

    /// <summary>A route into <paramref name="exec"/> that follows the pod's replacement among the watched pods the user meant.</summary>
    public PodRoute FollowingRoute(IUserInterface ui, ParseResult result, PodWatch pods, PodExecTarget exec) =>
        new(exec, pods, follow: true, Chooser(result, ui), TimeProvider.System, ui);

    /// <summary>A route into one pod that never moves to another (each pod has a session of its own with --all).</summary>
    public async Task<PodRoute> PinnedRouteAsync(IUserInterface ui, ParseResult result, PodWatch pods, PodInfo pod, CancellationToken cancellationToken) =>
        new(await TargetAsync(result, pod, ui, cancellationToken), pods, follow: false, Chooser(result, ui), TimeProvider.System, ui);
}
