using Wand.Discovery;
using Xunit;

namespace Wand.Tests.Unit.Discovery;

public class RecommendTests
{
    private static readonly Attachability Yes = new(AttachState.Attachable, "ok");
    private static readonly Attachability No = new(AttachState.UnsupportedVersion, "Python 3.13");

    private static PythonProcess P(int pid, int ppid, ProcessRole role, double uptimeSeconds = 100, Attachability? attach = null) =>
        new(pid, ppid, 0, "root", "3.14.10", role, null, 0, 0, TimeSpan.FromSeconds(uptimeSeconds), ["python3"], "/", "/", attach ?? Yes);

    [Fact]
    public void WorkerOverItsReloaderParent()
    {
        var worker = P(11, 10, ProcessRole.Worker, 5);
        Assert.Same(worker, RoleClassifier.Recommend([P(10, 1, ProcessRole.ReloaderParent, 60), P(12, 10, ProcessRole.Helper, 59), worker]));
    }

    [Fact]
    public void NewestOfSeveralWorkers()
    {
        var newest = P(23, 20, ProcessRole.Worker, 2);
        Assert.Same(newest, RoleClassifier.Recommend([P(20, 1, ProcessRole.ReloaderParent, 600), P(21, 20, ProcessRole.Worker, 500), newest, P(22, 20, ProcessRole.Worker, 300)]));
    }

    [Fact]
    public void TheSingleMain()
    {
        var main = P(30, 1, ProcessRole.Main);
        Assert.Same(main, RoleClassifier.Recommend([main, P(31, 30, ProcessRole.Helper)]));
    }

    [Fact]
    public void UnrelatedAttachableMainsAreAmbiguous()
    {
        Assert.Null(RoleClassifier.Recommend([P(40, 1, ProcessRole.Main), P(50, 1, ProcessRole.Main)]));
        Assert.Null(RoleClassifier.Recommend([]));
    }

    [Fact]
    public void UnattachableGroupsDoNotCompete()
    {
        var app = P(61, 60, ProcessRole.Worker);
        Assert.Same(app, RoleClassifier.Recommend([P(40, 1, ProcessRole.Main, attach: No), P(60, 1, ProcessRole.ReloaderParent), app]));
    }

    [Fact]
    public void ReloaderWhoseWorkerIsNotUpYet()
    {
        var parent = P(70, 1, ProcessRole.ReloaderParent);
        Assert.Same(parent, RoleClassifier.Recommend([parent, P(71, 70, ProcessRole.Helper)]));
    }
}
