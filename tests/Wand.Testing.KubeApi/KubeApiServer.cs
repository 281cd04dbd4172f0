using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Wand.Testing.KubeApi;

/// <summary>
/// A small Kubernetes API server over plain HTTP on loopback for the machine's real kubectl (1.32):
/// discovery, get/list/watch of pods, services and Knative services/revisions, pods/log, pods/exec
/// (WebSocket v5.channel.k8s.io, or SPDY with v4 only) and pods/portforward (SPDY/3.1, tunnelled over
/// WebSocket or after an HTTP upgrade). The cluster is the state folder (README.md); pods are podman
/// containers. Errors are metav1.Status objects, so kubectl prints its own messages and exit codes.
/// </summary>
public sealed class KubeApiServer : IAsyncDisposable
{
    /// <summary>Pod annotation naming the podman container behind a container: this prefix + the container's name (README.md).</summary>
    public const string ContainerAnnotation = ClusterState.ContainerAnnotation;

    private readonly WebApplication _app;
    private readonly ClusterState _state;
    private readonly List<string> _requests = [];
    private readonly CancellationTokenSource _stopping = new();

    private KubeApiServer(WebApplication app, ClusterState state, KubeApiOptions options)
    {
        _app = app;
        _state = state;
        Options = options;
    }

    public KubeApiOptions Options { get; }

    /// <summary>http://127.0.0.1:PORT</summary>
    public string Url { get; private set; } = "";

    /// <summary>Every request so far, one a line: "METHOD PATH?QUERY (context NAME)".</summary>
    public string RequestLog
    {
        get
        {
            lock (_requests) return string.Join('\n', _requests);
        }
    }

    /// <summary>Serves the cluster described in <paramref name="stateFolder"/> on a free loopback port.</summary>
    public static async Task<KubeApiServer> StartAsync(string stateFolder, KubeApiOptions? options = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new KubeApiServer(app, new ClusterState(stateFolder), options ?? new KubeApiOptions());
        app.UseWebSockets();
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetService(typeof(Microsoft.AspNetCore.Hosting.Server.IServer)) is Microsoft.AspNetCore.Hosting.Server.IServer s
            ? s.Features.Get<IServerAddressesFeature>()!.Addresses.First() : throw new InvalidOperationException("Kestrel has no address");
        server.Url = address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal);
        return server;
    }

    /// <summary>
    /// A kubeconfig for this server: context <c>test</c> (current) and every name in
    /// <paramref name="moreContexts"/>. Each context has a cluster of its own whose server URL ends in
    /// /ctx/NAME (client-go puts that path before every request), so the log tells which context kubectl
    /// used; client-go sends no bearer token over plain HTTP, so a token could not.
    /// </summary>
    public string Kubeconfig(params string[] moreContexts)
    {
        var contexts = new[] { "test" }.Concat(moreContexts).ToList();
        var sb = new StringBuilder();
        sb.AppendLine("apiVersion: v1").AppendLine("kind: Config");
        sb.AppendLine("clusters:");
        foreach (var c in contexts) sb.AppendLine($"- {{name: {c}, cluster: {{server: \"{Url}/ctx/{c}\"}}}}");
        sb.AppendLine("contexts:");
        foreach (var c in contexts) sb.AppendLine($"- {{name: {c}, context: {{cluster: {c}, user: {c}}}}}");
        sb.AppendLine("users:");
        foreach (var c in contexts) sb.AppendLine($"- {{name: {c}, user: {{}}}}");
        sb.AppendLine("current-context: test");
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var segments = request.Path.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var kubeContext = "-";
        if (segments is ["ctx", var name, ..])
        {
            kubeContext = name;
            segments = segments[2..];
        }
        lock (_requests) _requests.Add($"{request.Method} /{string.Join('/', segments)}{request.QueryString} (context {kubeContext})");
        try
        {
            await RouteAsync(context, segments);
        }
        catch (ArgumentException e)
        {
            if (!context.Response.HasStarted) await WriteAsync(context, ApiStatus.BadRequest(e.Message), 400);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || _stopping.IsCancellationRequested)
        {
            // kubectl went away (a watch, a log follow)
        }
        catch (Exception e)
        {
            // A defect of this server: in the test output, next to the failure it causes.
            Console.Error.WriteLine($"kube test API server: {request.Method} {request.Path}: {e}");
            throw;
        }
    }

    private Task RouteAsync(HttpContext context, string[] s)
    {
        switch (s)
        {
            case ["version"]:
                return WriteAsync(context, Discovery.Version());
            case ["api"]:
                return WriteAsync(context, Discovery.CoreVersions());
            case ["apis"]:
                return WriteAsync(context, Discovery.Groups());
            case ["api", "v1"]:
                return WriteAsync(context, Discovery.CoreResources());
            case ["apis", Discovery.KnativeGroup, "v1"]:
                return WriteAsync(context, Discovery.KnativeResources());
            case ["api", "v1", "namespaces", var ns]:
                return _state.NamespaceExists(ns)
                    ? WriteAsync(context, JsonNode.Parse(File.ReadAllText(Path.Combine(_state.Root, ns, "namespace.json")))!.AsObject())
                    : WriteAsync(context, ApiStatus.NotFound("namespaces", ns), 404);
            case ["api", "v1", "namespaces", var ns, "pods"]:
                return ListPodsAsync(context, ns);
            case ["api", "v1", "pods"]:
                return ListPodsAsync(context, null);
            case ["api", "v1", "namespaces", var ns, "pods", var name]:
                return GetPodAsync(context, ns, name);
            case ["api", "v1", "namespaces", var ns, "pods", var name, "exec"]:
                return new PodExec(_state, Options).HandleAsync(context, ns, name, _stopping.Token);
            case ["api", "v1", "namespaces", var ns, "pods", var name, "portforward"]:
                return new PodPortForward(_state).HandleAsync(context, ns, name, _stopping.Token);
            case ["api", "v1", "namespaces", var ns, "pods", var name, "log"]:
                return LogsAsync(context, ns, name);
            case ["api", "v1", "namespaces", var ns, "services", ..]:
                return FilesAsync(context, ns, "services", "services", "ServiceList", "v1", s.Length > 5 ? s[5] : null);
            case ["apis", Discovery.KnativeGroup, "v1", "namespaces", var ns, "services", ..]:
                return FilesAsync(context, ns, "knative/services", "services.serving.knative.dev", "ServiceList", Discovery.KnativeGroup + "/v1", s.Length > 6 ? s[6] : null);
            case ["apis", Discovery.KnativeGroup, "v1", "namespaces", var ns, "revisions", ..]:
                return FilesAsync(context, ns, "knative/revisions", "revisions.serving.knative.dev", "RevisionList", Discovery.KnativeGroup + "/v1", s.Length > 6 ? s[6] : null);
            default:
                return WriteAsync(context, ApiStatus.Failure(404, "NotFound", "the server could not find the requested resource"), 404);
        }
    }

    internal static async Task WriteAsync(HttpContext context, JsonObject body, int code = 200)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    private static bool IsWatch(HttpContext context) => context.Request.Query["watch"].ToString() is "true" or "1";

    private async Task GetPodAsync(HttpContext context, string ns, string name)
    {
        var (pods, _) = await _state.PodsAsync(ns);
        var pod = pods.FirstOrDefault(p => p["metadata"]!["name"]!.GetValue<string>() == name);
        await (pod is null ? WriteAsync(context, ApiStatus.NotFound("pods", name), 404) : WriteAsync(context, pod));
    }

    private async Task ListPodsAsync(HttpContext context, string? ns)
    {
        var labels = context.Request.Query["labelSelector"].ToString();
        var fields = context.Request.Query["fieldSelector"].ToString();
        if (!IsWatch(context))
        {
            var (pods, version) = await _state.PodsAsync(ns);
            await WriteAsync(context, List("PodList", "v1", pods.Where(p => Selectors.Matches(p, labels, fields)), version));
            return;
        }
        // A watch: from resourceVersion on (its events), or from now with every current pod ADDED first.
        var since = long.TryParse(context.Request.Query["resourceVersion"].ToString(), out var v) && v > 0 ? v : -1;
        var timeout = int.TryParse(context.Request.Query["timeoutSeconds"].ToString(), out var t) && t > 0 ? TimeSpan.FromSeconds(t) : TimeSpan.FromMinutes(30);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        stop.CancelAfter(timeout);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync(stop.Token);
        if (since < 0)
        {
            var (pods, version) = await _state.PodsAsync(ns);
            foreach (var p in pods.Where(p => Selectors.Matches(p, labels, fields))) await SendEventAsync("ADDED", p);
            since = version;
        }
        using var poll = Watching();
        while (!stop.IsCancellationRequested)
        {
            foreach (var e in _state.EventsSince(since))
            {
                since = e.Version;
                if ((ns is null || e.Namespace == ns) && Selectors.Matches(e.Object, labels, fields)) await SendEventAsync(e.Type, e.Object);
            }
            var changed = _state.Changed;
            if (_state.EventsSince(since).Count > 0) continue;
            await changed.WaitAsync(stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        async Task SendEventAsync(string type, JsonObject o)
        {
            await context.Response.WriteAsync(new JsonObject { ["type"] = type, ["object"] = o.DeepClone() }.ToJsonString() + "\n", stop.Token);
            await context.Response.Body.FlushAsync(stop.Token);
        }
    }

    private int _watchers;
    private Task? _poller;

    /// <summary>While a watch is open, pod files and podman are read again when they may have changed (a change becomes an event).</summary>
    private IDisposable Watching()
    {
        if (Interlocked.Increment(ref _watchers) == 1 || _poller is null or { IsCompleted: true })
            _poller = Task.Run(async () =>
            {
                using var changes = new ChangeNotifier(_state.Root);
                while (Volatile.Read(ref _watchers) > 0 && !_stopping.IsCancellationRequested)
                {
                    try
                    {
                        await _state.RefreshAsync();
                        await changes.WaitAsync(TimeSpan.FromSeconds(2), _stopping.Token);
                    }
                    catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
                    {
                        // stopping, or podman failed once: next round
                    }
                }
            });
        return new Release(() => Interlocked.Decrement(ref _watchers));
    }

    private sealed class Release(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    private async Task FilesAsync(HttpContext context, string ns, string folder, string resource, string listKind, string apiVersion, string? name)
    {
        var items = _state.Read(ns, folder);
        if (name is not null)
        {
            var one = items.FirstOrDefault(i => i["metadata"]!["name"]!.GetValue<string>() == name);
            await (one is null ? WriteAsync(context, ApiStatus.NotFound(resource, name), 404) : WriteAsync(context, one));
            return;
        }
        var labels = context.Request.Query["labelSelector"].ToString();
        var fields = context.Request.Query["fieldSelector"].ToString();
        var matching = items.Where(i => Selectors.Matches(i, labels, fields)).ToList();
        if (!IsWatch(context))
        {
            await WriteAsync(context, List(listKind, apiVersion, matching, _state.Version));
            return;
        }
        // Services do not change under the tests: a watch lists them and stays open.
        context.Response.ContentType = "application/json";
        if (!context.Request.Query.ContainsKey("resourceVersion") || context.Request.Query["resourceVersion"] == "0")
            foreach (var i in matching)
                await context.Response.WriteAsync(new JsonObject { ["type"] = "ADDED", ["object"] = i.DeepClone() }.ToJsonString() + "\n");
        await context.Response.Body.FlushAsync();
        await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token).Token);
    }

    private static JsonObject List(string kind, string apiVersion, IEnumerable<JsonObject> items, long version) => new()
    {
        ["kind"] = kind,
        ["apiVersion"] = apiVersion,
        ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        ["items"] = new JsonArray(items.Select(i => (JsonNode?)i.DeepClone()).ToArray()),
    };

    /// <summary>pods/log: `podman logs` of the container (?container=, ?follow=true, ?tailLines=N), stdout and stderr as they come.</summary>
    private async Task LogsAsync(HttpContext context, string ns, string name)
    {
        var (pods, _) = await _state.PodsAsync(ns);
        var pod = pods.FirstOrDefault(p => p["metadata"]!["name"]!.GetValue<string>() == name);
        if (pod is null)
        {
            await WriteAsync(context, ApiStatus.NotFound("pods", name), 404);
            return;
        }
        var containers = ClusterState.Containers(pod).ToList();
        var wanted = context.Request.Query["container"].ToString();
        if (wanted.Length == 0)
        {
            if (containers.Count != 1)
            {
                await WriteAsync(context, ApiStatus.BadRequest($"a container name must be specified for pod {name}, choose one of: [{string.Join(' ', containers.Select(c => c.Container))}]"), 400);
                return;
            }
            wanted = containers[0].Container;
        }
        var podman = containers.FirstOrDefault(c => c.Container == wanted).Podman;
        if (podman is null)
        {
            await WriteAsync(context, ApiStatus.BadRequest($"container {wanted} is not valid for pod {name}"), 400);
            return;
        }
        var args = new List<string> { "logs" };
        if (context.Request.Query["follow"] == "true") args.Add("--follow");
        if (context.Request.Query["tailLines"].ToString() is { Length: > 0 } tail) args.AddRange(["--tail", tail]);
        args.Add(podman);
        context.Response.ContentType = "text/plain";
        await context.Response.StartAsync();
        using var p = System.Diagnostics.Process.Start(Podman.StartInfo(args, stdin: false))!;
        using var writeGate = new SemaphoreSlim(1, 1);
        async Task PumpAsync(Stream from)
        {
            var buffer = new byte[16 * 1024];
            int n;
            while ((n = await from.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                await writeGate.WaitAsync(context.RequestAborted);
                try
                {
                    await context.Response.Body.WriteAsync(buffer.AsMemory(0, n), context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
                finally
                {
                    writeGate.Release();
                }
            }
        }
        try
        {
            await Task.WhenAll(PumpAsync(p.StandardOutput.BaseStream), PumpAsync(p.StandardError.BaseStream));
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }
}
