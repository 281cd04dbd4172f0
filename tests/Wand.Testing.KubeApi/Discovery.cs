using System.Text.Json.Nodes;

namespace Wand.Testing.KubeApi;

/// <summary>
/// What kubectl asks before anything else. kubectl 1.32 asks /api and /apis for aggregated discovery
/// (apidiscovery.k8s.io/v2) but accepts plain application/json: it then reads the legacy documents,
/// /api/v1 and /apis/GROUP/VERSION, to map "pods", "svc" or "ksvc" to a resource. The gcloud kubectl
/// dispatcher asks /version first and runs the kubectl of the server's minor version (1.32 here).
/// </summary>
internal static class Discovery
{
    public const string KnativeGroup = "serving.knative.dev";

    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = "v1.32.4",
        ["gitCommit"] = "",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2026-01-01T00:00:00Z",
        ["goVersion"] = "go1.23.8",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    public static JsonObject CoreVersions() => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = "127.0.0.1" }),
    };

    public static JsonObject Groups()
    {
        var version = new JsonObject { ["groupVersion"] = KnativeGroup + "/v1", ["version"] = "v1" };
        return new JsonObject
        {
            ["kind"] = "APIGroupList",
            ["apiVersion"] = "v1",
            ["groups"] = new JsonArray(new JsonObject
            {
                ["name"] = KnativeGroup,
                ["versions"] = new JsonArray(version),
                ["preferredVersion"] = version.DeepClone(),
            }),
        };
    }

    public static JsonObject CoreResources() => ResourceList("v1",
        Resource("namespaces", "Namespace", namespaced: false, ["ns"], ["get", "list", "watch"]),
        Resource("pods", "Pod", namespaced: true, ["po"], ["get", "list", "watch"], ["all"]),
        Resource("pods/exec", "PodExecOptions", namespaced: true, [], ["create", "get"]),
        Resource("pods/log", "Pod", namespaced: true, [], ["get"]),
        Resource("pods/portforward", "PodPortForwardOptions", namespaced: true, [], ["create", "get"]),
        Resource("services", "Service", namespaced: true, ["svc"], ["get", "list", "watch"], ["all"]));

    public static JsonObject KnativeResources() => ResourceList(KnativeGroup + "/v1",
        Resource("services", "Service", namespaced: true, ["kservice", "ksvc"], ["get", "list", "watch"], ["all", "knative", "serving"]),
        Resource("revisions", "Revision", namespaced: true, ["rev"], ["get", "list", "watch"], ["all", "knative", "serving"]));

    private static JsonObject ResourceList(string groupVersion, params JsonObject[] resources) => new()
    {
        ["kind"] = "APIResourceList",
        ["apiVersion"] = "v1",
        ["groupVersion"] = groupVersion,
        ["resources"] = new JsonArray(resources),
    };

    private static JsonObject Resource(string name, string kind, bool namespaced, string[] shortNames, string[] verbs, string[]? categories = null)
    {
        var r = new JsonObject
        {
            ["name"] = name,
            ["singularName"] = name.Contains('/') ? "" : kind.ToLowerInvariant(),
            ["namespaced"] = namespaced,
            ["kind"] = kind,
            ["verbs"] = new JsonArray(verbs.Select(v => (JsonNode?)v).ToArray()),
        };
        if (shortNames.Length > 0) r["shortNames"] = new JsonArray(shortNames.Select(v => (JsonNode?)v).ToArray());
        if (categories is not null) r["categories"] = new JsonArray(categories.Select(v => (JsonNode?)v).ToArray());
        return r;
    }
}
