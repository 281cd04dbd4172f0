using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// Issue 7 on the test Kubernetes API server: the editor's one session survives a pod replacement.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class KubernetesProxyTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(90);
    private static readonly Dictionary<string, string> ApiLabels = new() { ["app"] = "api" };

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ADeletedPodIsReplacedAndTheSameEditorSessionStopsInTheNewPod()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var first = await cluster.AddPodAsync("api-7c9f-aaaaa", ApiLabels, [("app", ContainerApp.Uvicorn(reload: false))]);
        await ContainerApp.WaitUntilServingAsync(first.Main);
        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "api", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        Assert.Equal("api-7c9f-aaaaa", session.NextEvent(EventTimeout).GetProperty("pod").GetString());

        var line = Testbed.BreakpointLine(ContainerApp.AppFile, "items");
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", localPort);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [ContainerApp.AppFile] = [line] });
        var host = "__import__('socket').gethostname()";
        await ContainerApp.StopOnceAsync(editor, () => ContainerApp.GetInsideAsync(first.Main, "/items/1?q=first"));

        await cluster.DeletePodAsync(first);
        var second = await cluster.AddPodAsync("api-7c9f-bbbbb", ApiLabels, [("app", ContainerApp.Uvicorn(reload: false))]);
        Assert.Equal("api-7c9f-bbbbb", session.NextEvent("reattached", EventTimeout).GetProperty("pod").GetString());
        await ContainerApp.WaitUntilArmedAsync(editor);
        await ContainerApp.WaitUntilServingAsync(second.Main);

        // The same editor, no new attach; the frame is in the new pod's container.
        var request = ContainerApp.GetInsideAsync(second.Main, "/items/2?q=second");
        var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(60));
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        Assert.Equal((await second.Main.PythonAsync("import socket; print(repr(socket.gethostname()))")).Trim(), await editor.EvaluateAsync(host, frame.Id));
        await editor.ContinueAsync(stopped.ThreadId);
        Assert.Contains("second", await request.WaitAsync(TimeSpan.FromSeconds(60)));
        await editor.DisconnectAsync();
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
    }

}
