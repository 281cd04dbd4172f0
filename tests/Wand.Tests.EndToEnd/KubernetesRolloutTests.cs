using System.Text.Json;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// Sessions follow the pods through a watch (`kubectl get pods --watch`), not a poll: a new revision's
/// pod takes over as soon as it is Ready, while the old pod still drains; a Terminating pod is never a target.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class KubernetesRolloutTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(90);

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AKnativeRevisionRollUnderOneEditorSessionStopsInTheNewRevisionsPod()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddKnativeService("hello");
        var old = await AddRevisionPodAsync(cluster, "hello-00001-deployment-5d8f-aaaaa", "hello-00001", ready: true);
        await ContainerApp.WaitUntilServingAsync(old.Containers["user-container"]);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "hello", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var first = session.NextEvent(EventTimeout);
        Assert.Equal((old.Name, "user-container"), (first.GetProperty("pod").GetString(), first.GetProperty("container").GetString()));
        Assert.Matches($@"(?m)^GET /api/v1/namespaces/{cluster.Namespace}/pods\?(?=[^ ]*labelSelector=serving\.knative\.dev%2Fservice%3Dhello)(?=[^ ]*watch=true)", KubeCluster.Log); // one watch, no polling

        var line = Testbed.BreakpointLine(ContainerApp.AppFile, "items");
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", localPort);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [ContainerApp.AppFile] = [line] });
        await ContainerApp.StopOnceAsync(editor, () => ContainerApp.GetInsideAsync(old.Containers["user-container"], "/items/1?q=old"));

        // The roll: the new revision's pod starts, becomes Ready once it serves; the old pod is still there and Ready.
        var next = await AddRevisionPodAsync(cluster, "hello-00002-deployment-7b1c-bbbbb", "hello-00002", ready: false);
        await ContainerApp.WaitUntilServingAsync(next.Containers["user-container"]);
        cluster.SetReady(next);
        try
        {
            // Taken over on Ready, before the old pod goes: a session that only noticed pods going away would wait here.
            Assert.Equal(next.Name, session.NextEvent("reattached", EventTimeout).GetProperty("pod").GetString());
            await ContainerApp.WaitUntilArmedAsync(editor);
        }
        catch (TimeoutException e)
        {
            throw new InvalidOperationException($"{e.Message}\nwand said:\n{session.Stderr}", e);
        }
        await cluster.DeletePodAsync(old);

        // The same editor session, no new attach: it stops in the new revision's pod.
        var request = ContainerApp.GetInsideAsync(next.Containers["user-container"], "/items/2?q=new");
        var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(60));
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        Assert.Equal(("read_item", line), (frame.Name, frame.Line));
        Assert.Equal("'new'", await editor.EvaluateAsync("q", frame.Id));
        await editor.ContinueAsync(stopped.ThreadId);
        Assert.Contains("\"q\":\"new\"", await request.WaitAsync(TimeSpan.FromSeconds(60)));
        await editor.DisconnectAsync();
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task PodsNeverListsATerminatingPodAndShowsOneThatIsNotReadyYet()
    {
        await using var cluster = KubeCluster.Create();
        var labels = new Dictionary<string, string> { ["app"] = "api" };
        cluster.AddService("api", labels);
        string[] idle = ["/usr/bin/python3.14", "-c", "import time\nwhile True: time.sleep(0.05)"]; // back in Python often: exec's code runs at once
        var going = await cluster.AddPodAsync("api-going-0", labels, [("app", idle)]);
        await cluster.AddPodAsync("api-staying-0", labels, [("app", idle)]);
        await cluster.AddPodAsync("api-starting-0", labels, [("app", idle)], ready: false);
        cluster.BeginDeletion(going); // Terminating: its container still runs, its Ready condition may still say True

        var pods = await WandCli.RunAsync(["pods", "-n", cluster.Namespace, "-s", "api", "-o", "json"]);
        Assert.True(pods.ExitCode == 0, pods.ToString());
        var listed = JsonDocument.Parse(pods.Stdout).RootElement.EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("ready").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["api-staying-0"] = true, ["api-starting-0"] = false }, listed);

        // --all-pods: the Terminating pod is no target either.
        var all = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "-s", "api", "--all-pods", "-c", "print('here')"]);
        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.Equal("==> pod api-staying-0 <==\nhere\n", all.Stdout);
    }

    /// <summary>A Knative revision's pod: the queue-proxy (a sidecar, though here it runs Python) beside the user's container serving the sample.</summary>
    private static Task<KubePod> AddRevisionPodAsync(KubeCluster cluster, string name, string revision, bool ready) =>
        cluster.AddPodAsync(name, new Dictionary<string, string> { ["serving.knative.dev/service"] = "hello", ["serving.knative.dev/revision"] = revision },
        [
            ("queue-proxy", ["/usr/bin/python3.14", "-c", "import time; time.sleep(600)"]),
            ("user-container", ContainerApp.Uvicorn(reload: false)),
        ], ready: ready);
}
