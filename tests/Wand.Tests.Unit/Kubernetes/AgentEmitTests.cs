using Wand.Injection.Payloads;
using Xunit;

namespace Wand.Tests.Unit.Kubernetes;

/// <summary>
/// agent.py's <c>_emit</c>, shared by the watch loop and the threads that answer requests (watch with
/// serve): lines written at once by several threads stay whole. Run with this machine's python3 on a
/// stdout that writes one character at a time, and a lock constructor made slow, so that threads that
/// each made a lock of their own would interleave their lines.
/// </summary>
public class AgentEmitTests
{
    private const string Harness = """
        import io, json, sys, threading, time
        source = sys.stdin.read()
        real = sys.stdout
        sys.stdout = io.StringIO()
        agent = {"__name__": "__wand_agent__", "REQUEST": {"op": "none"}}
        exec(source, agent)  # loads the agent; main() answers the unknown op on the StringIO

        class OneCharacterAtATime:
            def __init__(self):
                self.parts = []
            def write(self, text):
                for c in text:
                    self.parts.append(c)
                    time.sleep(0.0002)
            def flush(self):
                pass

        out = OneCharacterAtATime()
        sys.stdout = out
        make_lock = threading.Lock
        def slow_lock():
            time.sleep(0.05)
            return make_lock()
        threading.Lock = slow_lock
        together = threading.Barrier(4)
        def emit(i):
            together.wait()
            agent["_emit"]({"thread": i, "text": "x" * 40})
        threads = [threading.Thread(target=emit, args=(i,)) for i in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        threading.Lock = make_lock
        sys.stdout = real
        lines = "".join(out.parts).splitlines()
        try:
            whole = sorted(json.loads(line)["thread"] for line in lines) == [0, 1, 2, 3]
        except ValueError:
            whole = False
        print("whole" if whole else "torn: " + repr(lines))
        """;

    [Fact(Timeout = 60_000)]
    public async Task LinesFromSeveralThreadsStayWhole() =>
        Assert.Equal("whole", (await HostPython.RunAsync(Harness, Payload.Read(Payload.Agent))).Trim());
}
