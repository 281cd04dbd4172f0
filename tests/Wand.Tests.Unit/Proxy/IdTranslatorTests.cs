using System.Text.Json.Nodes;
using Wand.Session.Proxy;
using Xunit;

namespace Wand.Tests.Unit.Proxy;

public class IdTranslatorTests
{
    [Fact]
    public void EveryGenerationGetsItsOwnEditorIdsEvenForTheSameBackendNumbers()
    {
        var ids = new IdTranslator();
        ids.Describe(1, "PID 10");
        ids.Describe(2, "PID 11");
        var first = Frames();
        var second = Frames();
        ids.ToEditor(first, 1, "stackTrace");
        ids.ToEditor(second, 2, "stackTrace");
        Assert.NotEqual((int)first["stackFrames"]![0]!["id"]!, (int)second["stackFrames"]![0]!["id"]!);
        Assert.NotEqual((int)first["stackFrames"]![0]!["source"]!["sourceReference"]!, (int)second["stackFrames"]![0]!["source"]!["sourceReference"]!);
        Assert.Equal(0, (int)first["stackFrames"]![1]!["source"]!["sourceReference"]!); // 0 is "none"

        // Back to the backend: only for the generation that issued it.
        var current = new JsonObject { ["frameId"] = (int)second["stackFrames"]![0]!["id"]! };
        Assert.Null(ids.ToBackend(current, 2));
        Assert.Equal(1, (int)current["frameId"]!);
        var stale = new JsonObject { ["source"] = new JsonObject { ["sourceReference"] = (int)first["stackFrames"]![0]!["source"]!["sourceReference"]! } };
        Assert.Contains("source reference", ids.ToBackend(stale, 2));
        Assert.Contains("belonged to PID 10", ids.ToBackend(stale, 2));
        Assert.Contains("unknown frame 99", ids.ToBackend(new JsonObject { ["frameId"] = 99 }, 2));
        Assert.Null(ids.ToBackend(new JsonObject { ["variablesReference"] = 0 }, 2));
    }

    [Fact]
    public void EventsAndNestedObjectsAreTranslatedTheSameWay()
    {
        var ids = new IdTranslator();
        var stopped = new JsonObject { ["reason"] = "breakpoint", ["threadId"] = 1 };
        ids.ToEditor(stopped, 3, null);
        Assert.Equal(ids.EditorThreadId(3, 1), (int)stopped["threadId"]!);
        var output = new JsonObject { ["output"] = "x", ["variablesReference"] = 5, ["group"] = new JsonObject { ["variablesReference"] = 6 } };
        ids.ToEditor(output, 3, null);
        Assert.NotEqual(5, (int)output["variablesReference"]!);
        Assert.NotEqual((int)output["variablesReference"]!, (int)output["group"]!["variablesReference"]!);
    }

    private static JsonObject Frames() => new()
    {
        ["stackFrames"] = new JsonArray(
            new JsonObject { ["id"] = 1, ["name"] = "f", ["source"] = new JsonObject { ["sourceReference"] = 4 } },
            new JsonObject { ["id"] = 2, ["name"] = "g", ["source"] = new JsonObject { ["path"] = "/a.py", ["sourceReference"] = 0 } }),
    };
}
