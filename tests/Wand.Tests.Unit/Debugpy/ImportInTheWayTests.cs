using Wand.Injection.Payloads;
using Xunit;

namespace Wand.Tests.Unit.Debugpy;

/// <summary>
/// debugpy_bootstrap.py's <c>_wand_import_in_the_way</c>, which decides whether a held attach may run where the
/// worker's main thread was stopped: run with this machine's python3 and its real import system. Inside a finder's
/// find_spec the thread holds the interpreter-wide import lock, and debugpy's listen thread, importing anything,
/// waited for it until the hold gave up (10 s per reload of a uvicorn worker, about one reload in ten under load);
/// inside the body of an app's own module it holds only that module's lock, and the attach may run there.
/// </summary>
public class ImportInTheWayTests
{
    private const string Harness = """
        import builtins, os, shutil, sys, tempfile
        ns = {}
        exec(sys.stdin.read(), ns)
        in_the_way = ns["_wand_import_in_the_way"]

        seen = []
        class Finder:
            def find_spec(self, name, path, target=None):
                if name == "wand_probe_missing":
                    seen.append(in_the_way())
                return None
        sys.meta_path.insert(0, Finder())
        try:
            import wand_probe_missing
        except ImportError:
            pass

        folder = tempfile.mkdtemp()
        with open(os.path.join(folder, "wand_probe_app.py"), "w") as f:
            f.write("import builtins\nbuiltins.wand_probe_body = builtins.wand_probe()\n")
        builtins.wand_probe = in_the_way
        sys.path.insert(0, folder)
        import wand_probe_app
        shutil.rmtree(folder)
        print("finder:", seen, "app body:", builtins.wand_probe_body)
        """;

    [Fact(Timeout = 60_000)]
    public async Task InsideAFinderTheImportLockIsInTheWayInsideAnAppModulesBodyNothingIs()
    {
        var source = Payload.Read(Payload.Debugpy);
        var start = source.IndexOf("def _wand_import_in_the_way():", StringComparison.Ordinal);
        var end = source.IndexOf("\ndef ", start + 1, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "debugpy_bootstrap.py has no _wand_import_in_the_way");

        Assert.Equal("finder: ['wand_probe_missing'] app body: None", (await HostPython.RunAsync(Harness, source[start..end])).Trim());
    }
}
