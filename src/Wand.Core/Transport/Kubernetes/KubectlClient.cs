using System.Text.Json;
using Wand.Errors;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// The user's own <c>kubectl</c> (their contexts, auth plugins and kubeconfig work unchanged), always
/// called with argv arrays. When it fails, its stderr reaches the user verbatim
/// ("Error from server (NotFound): services "api" not found"), as kubernetes-client does with the
/// server's status.
/// </summary>
/// <param name="Namespace">null: the context's namespace.</param>
public sealed partial record KubectlClient(string? Context, string? Kubeconfig, string? Namespace)
{
    public const string Program = "kubectl";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>"namespace NS", or the context's default, for messages.</summary>
    public string NamespaceDescription => Namespace is null ? "the context's namespace" : $"namespace {Namespace}";

    /// <summary>The whole argv for <paramref name="verb"/>: the global flags, then the verb's arguments.</summary>
    public IReadOnlyList<string> Arguments(IReadOnlyList<string> verb)
    {
        var args = new List<string>();
        if (Context is not null) args.AddRange(["--context", Context]);
        if (Kubeconfig is not null) args.AddRange(["--kubeconfig", Kubeconfig]);
        if (Namespace is not null) args.AddRange(["--namespace", Namespace]);
        args.AddRange(verb);
        return args;
    }

    /// <summary><c>kubectl get ARGS -o json</c>, parsed.</summary>
    public async Task<JsonElement> GetJsonAsync(IReadOnlyList<string> what, CancellationToken cancellationToken)
    {
        var r = await RunAsync(["get", .. what, "-o", "json"], cancellationToken);
        try
        {
            using var doc = JsonDocument.Parse(r.Stdout);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new WandException(ExitCodes.KubectlFailed, $"kubectl get {string.Join(' ', what)} printed no JSON: {e.Message}", "check that `kubectl` is the Kubernetes client", e);
        }
    }

    /// <summary>The oldest kubectl wand is tested against (exec's default-container annotation, port-forward ending with its pod).</summary>
    public static readonly Version MinimumVersion = new(1, 23);

    private static readonly Lock VersionGate = new();
    private static Task? s_versionCheck;

    /// <summary>
    /// Fails when `kubectl version --client -o json` reports a release older than <see cref="MinimumVersion"/>.
    /// A kubectl that cannot say is let through; missing kubectl is reported by the command itself.
    /// </summary>
    public static void CheckVersion(string versionJson)
    {
        Version? version = null;
        try
        {
            using var doc = JsonDocument.Parse(versionJson);
            var client = doc.RootElement.GetProperty("clientVersion");
            static int Number(string? s) => int.Parse(new string((s ?? "").TakeWhile(char.IsAsciiDigit).ToArray()), System.Globalization.CultureInfo.InvariantCulture);
            version = new Version(Number(client.GetProperty("major").GetString()), Number(client.GetProperty("minor").GetString()));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            return;
        }
        if (version < MinimumVersion)
            throw new WandException(ExitCodes.KubectlFailed, $"kubectl {version} is too old: wand needs kubectl {MinimumVersion} or newer",
                "install a current kubectl (https://kubernetes.io/docs/tasks/tools/); it works with clusters one minor version older or newer");
    }

    /// <summary>Once per process, next to the first kubectl call.</summary>
    private static Task CheckVersionOnceAsync()
    {
        lock (VersionGate)
        {
            return s_versionCheck ??= Task.Run(async () =>
            {
                ProcessResult r;
                try
                {
                    r = await ProcessRunner.RunAsync(Program, ["version", "--client", "-o", "json"], null, Timeout, CancellationToken.None);
                }
                catch (Exception e) when (e is ProcessRunner.NotInstalledException or TimeoutException)
                {
                    return;
                }
                if (r.Ok) CheckVersion(r.Stdout);
            });
        }
    }

    private async Task<ProcessResult> RunAsync(IReadOnlyList<string> verb, CancellationToken cancellationToken)
    {
        ProcessResult r;
        var versionCheck = CheckVersionOnceAsync();
        try
        {
            r = await ProcessRunner.RunAsync(Program, Arguments(verb), null, Timeout, cancellationToken);
            await versionCheck;
        }
        catch (ProcessRunner.NotInstalledException)
        {
            throw new WandException(ExitCodes.Usage, "kubectl is not installed or not on PATH", "install kubectl (https://kubernetes.io/docs/tasks/tools/) and check `kubectl get pods` works");
        }
        catch (TimeoutException e)
        {
            throw new WandException(ExitCodes.KubectlFailed, e.Message, "check that the cluster is reachable: kubectl cluster-info");
        }
        if (!r.Ok) throw Failure(r.Stderr, r.ExitCode);
        return r;
    }

    /// <summary>kubectl's own words, with an exit code from the server's reason.</summary>
    public static KubectlFailedException Failure(string stderr, int exitCode)
    {
        var text = OwnMessage(stderr);
        if (text.Length == 0) text = $"kubectl failed (exit {exitCode}) without saying why";
        var code = text.Contains("(NotFound)", StringComparison.Ordinal) ? ExitCodes.KubeNotFound
            : text.Contains("(Forbidden)", StringComparison.Ordinal) || text.Contains("Unauthorized", StringComparison.Ordinal) ? ExitCodes.PermissionDenied
            : ExitCodes.KubectlFailed;
        // kubectl's own wording when no API server answered: "The connection to the server localhost:8080 was refused -
        // did you specify the right host or port?" (no kubeconfig: client-go's default server), "Unable to connect to the server: ...".
        var unreachable = text.Contains("The connection to the server", StringComparison.Ordinal) || text.Contains("Unable to connect to the server", StringComparison.Ordinal);
        return new KubectlFailedException(code, text, unreachable);
    }

    /// <summary>
    /// The last line of kubectl's stderr that is its own message. Before it, client-go logs each failed
    /// API discovery in klog's format ("E1206 12:00:00.000000   123 memcache.go:265] ...", five times when no
    /// server answers), which says the same in Go's terms; only when nothing else was said is a klog line's text used.
    /// </summary>
    public static string OwnMessage(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var own = lines.LastOrDefault(l => !KlogLine().IsMatch(l));
        if (own is not null) return own;
        return lines.Length == 0 ? "" : KlogLine().Replace(lines[^1], "");
    }

    /// <summary>klog's header: severity, MMDD, time, thread id, file:line and "]".</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [^\s\]]+:\d+\] ")]
    private static partial System.Text.RegularExpressions.Regex KlogLine();
}
