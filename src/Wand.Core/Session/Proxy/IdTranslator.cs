using System.Text.Json.Nodes;

namespace Wand.Session.Proxy;

/// <summary>
/// Gives the editor its own thread ids, frame ids and variable references, so that ids of one backend
/// generation never reach another: debugpy numbers them per process from small counters, so the old
/// and the new process issue the same numbers for different things. Every id a backend sends is
/// mapped to a fresh editor id tagged with the backend's generation; an editor id sent back is mapped
/// to the backend's id only for the generation that issued it, and refused for any other.
/// </summary>
/// <remarks>
/// The fields translated are DAP's: <c>threadId</c>, <c>frameId</c>, <c>variablesReference</c> and
/// <c>sourceReference</c> anywhere in a body or in request arguments, <c>threads[].id</c> of a <c>threads</c>
/// response and <c>stackFrames[].id</c> of a <c>stackTrace</c> response. A reference of 0 means "none" and is
/// kept. The maps grow with the session (a few entries per stop): an editor session is short next to that.
/// </remarks>
internal sealed class IdTranslator
{
    private readonly IdSpace _threads = new("thread", zeroMeansNone: false);
    private readonly IdSpace _frames = new("frame", zeroMeansNone: false);
    private readonly IdSpace _variables = new("variables reference", zeroMeansNone: true);
    private readonly IdSpace _sources = new("source reference", zeroMeansNone: true);
    private readonly IdSpace _breakpoints = new("breakpoint", zeroMeansNone: false);
    private readonly Dictionary<int, string> _generations = [];

    /// <summary>Names <paramref name="generation"/> for error messages ("PID 42").</summary>
    public void Describe(int generation, string description) => _generations[generation] = description;

    /// <summary>Rewrites the backend ids in a response body to editor ids.</summary>
    public void ToEditor(JsonObject body, int generation, string? responseCommand)
    {
        if (responseCommand == "threads")
            foreach (var thread in Objects(body, "threads")) MapProperty(thread, "id", _threads, generation);
        else if (responseCommand == "stackTrace")
            foreach (var frame in Objects(body, "stackFrames")) MapProperty(frame, "id", _frames, generation);
        else if (responseCommand is "setBreakpoints" or "setFunctionBreakpoints" or "setExceptionBreakpoints" or "setDataBreakpoints" or "setInstructionBreakpoints")
            foreach (var breakpoint in Objects(body, "breakpoints")) MapProperty(breakpoint, "id", _breakpoints, generation);
        WalkToEditor(body, generation, 0);
    }

    /// <summary>Rewrites the backend ids in an event body to editor ids (breakpoint ids included).</summary>
    public void EventToEditor(string? eventName, JsonObject body, int generation)
    {
        if (eventName == "breakpoint" && body["breakpoint"] is JsonObject breakpoint)
            MapProperty(breakpoint, "id", _breakpoints, generation);
        else if (eventName == "stopped" && body["hitBreakpointIds"] is JsonArray hits)
            for (var i = 0; i < hits.Count; i++)
                if (hits[i] is JsonValue value && value.TryGetValue<int>(out var id)) hits[i] = _breakpoints.ToEditor(generation, id);
        WalkToEditor(body, generation, 0);
    }

    /// <summary>A breakpoint id for a breakpoint the proxy answered itself (no backend has it yet).</summary>
    public int NewBreakpointId() => _breakpoints.Fresh();

    /// <summary>
    /// Breakpoint <paramref name="backendId"/> of <paramref name="generation"/> is the one the editor knows as
    /// <paramref name="editorId"/> (set again by a replay): later events about it reach the editor under that id.
    /// </summary>
    public void AliasBreakpoint(int generation, int backendId, int editorId) => _breakpoints.Alias(generation, backendId, editorId);

    /// <summary>The editor id of breakpoint <paramref name="backendId"/> of <paramref name="generation"/>.</summary>
    public int EditorBreakpointId(int generation, int backendId) => _breakpoints.ToEditor(generation, backendId);

    /// <summary>The editor id of backend thread <paramref name="threadId"/> of <paramref name="generation"/>.</summary>
    public int EditorThreadId(int generation, int threadId) => _threads.ToEditor(generation, threadId);

    /// <summary>
    /// Rewrites the editor ids in request arguments to the backend ids of <paramref name="generation"/>.
    /// Returns null when done, or why the request cannot go to this backend (an id of another
    /// generation, or one never issued); the arguments are then left partly rewritten and must not be sent.
    /// </summary>
    public string? ToBackend(JsonObject arguments, int generation) => WalkToBackend(arguments, generation, 0);

    /// <summary>Why a request naming these ids cannot be answered while there is no backend, or null if it names none.</summary>
    public string? RefuseWithoutBackend(JsonObject arguments) => WalkToBackend(arguments, -1, 0);

    private void WalkToEditor(JsonNode? node, int generation, int depth)
    {
        if (depth > 64) return;
        switch (node)
        {
            case JsonObject obj:
                // Keys first: the object is changed while it is walked.
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    if (SpaceOf(key) is { } space) MapProperty(obj, key, space, generation);
                    else if (obj[key] is JsonObject or JsonArray) WalkToEditor(obj[key], generation, depth + 1);
                }
                break;
            case JsonArray array:
                foreach (var item in array) WalkToEditor(item, generation, depth + 1);
                break;
        }
    }

    private string? WalkToBackend(JsonNode? node, int generation, int depth)
    {
        if (depth > 64) return null;
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    string? problem;
                    if (SpaceOf(key) is { } space) problem = UnmapProperty(obj, key, space, generation);
                    else if (obj[key] is JsonObject or JsonArray) problem = WalkToBackend(obj[key], generation, depth + 1);
                    else continue;
                    if (problem is not null) return problem;
                }
                break;
            case JsonArray array:
                foreach (var item in array)
                    if (WalkToBackend(item, generation, depth + 1) is { } problem) return problem;
                break;
        }
        return null;
    }

    private IdSpace? SpaceOf(string key) => key switch
    {
        "threadId" => _threads,
        "frameId" => _frames,
        "variablesReference" => _variables,
        "sourceReference" => _sources,
        _ => null,
    };

    private static void MapProperty(JsonObject obj, string key, IdSpace space, int generation)
    {
        if (obj[key] is not JsonValue value || !value.TryGetValue<int>(out var id)) return;
        if (id == 0 && space.ZeroMeansNone) return;
        obj[key] = space.ToEditor(generation, id);
    }

    private string? UnmapProperty(JsonObject obj, string key, IdSpace space, int generation)
    {
        if (obj[key] is not JsonValue value || !value.TryGetValue<int>(out var editorId)) return null;
        if (editorId == 0 && space.ZeroMeansNone) return null;
        if (!space.TryFromEditor(editorId, out var issuedBy, out var backendId))
            return $"unknown {space.Name} {editorId}";
        if (issuedBy != generation)
        {
            var who = _generations.GetValueOrDefault(issuedBy, "a process");
            return $"{space.Name} {editorId} belonged to {who}, which was replaced or went away; it no longer exists";
        }
        obj[key] = backendId;
        return null;
    }

    private static IEnumerable<JsonObject> Objects(JsonObject body, string name) =>
        body[name] is JsonArray array ? array.OfType<JsonObject>() : [];

    /// <summary>One kind of id: editor ids from 1 upwards, each remembering its generation and backend id.</summary>
    private sealed class IdSpace(string name, bool zeroMeansNone)
    {
        private readonly Dictionary<(int Generation, int Id), int> _toEditor = [];
        private readonly Dictionary<int, (int Generation, int Id)> _fromEditor = [];
        private int _next = 1;

        public string Name { get; } = name;

        /// <summary>References use 0 for "none": kept as 0 both ways.</summary>
        public bool ZeroMeansNone { get; } = zeroMeansNone;

        public int ToEditor(int generation, int id)
        {
            if (_toEditor.TryGetValue((generation, id), out var editorId)) return editorId;
            editorId = _next++;
            _toEditor[(generation, id)] = editorId;
            _fromEditor[editorId] = (generation, id);
            return editorId;
        }

        public int Fresh() => _next++;

        public void Alias(int generation, int id, int editorId)
        {
            _toEditor[(generation, id)] = editorId;
            _fromEditor[editorId] = (generation, id);
        }

        public bool TryFromEditor(int editorId, out int generation, out int id)
        {
            var found = _fromEditor.TryGetValue(editorId, out var entry);
            (generation, id) = entry;
            return found;
        }
    }
}
