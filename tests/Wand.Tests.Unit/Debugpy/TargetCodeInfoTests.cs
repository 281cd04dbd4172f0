using Wand.Injection.Debugpy;
using Xunit;

namespace Wand.Tests.Unit.Debugpy;

public class TargetCodeInfoTests
{
    private static TargetCodeInfo Info(string cwd, string? main, string? userRoot, string hostRoot = "/") =>
        new(1, cwd, main, [], userRoot, "3.14.0", "/usr/bin/python3.14", hostRoot);

    [Fact]
    public void UserCodeWinsOverTheMainScriptAndTheCwd() =>
        Assert.Equal("/srv/app", Info("/", "/usr/lib/python3/dist-packages/uvicorn/__main__.py", "/srv/app").RemoteRoot);

    [Fact]
    public void MainScriptFolderWhenNoOtherUserCode() => Assert.Equal("/opt/job", Info("/home/u", "/opt/job/train.py", null).RemoteRoot);

    [Fact]
    public void InstalledMainIsNotUserCode() =>
        Assert.Equal("/work", Info("/work", "/usr/lib/python3/dist-packages/uvicorn/__main__.py", null).RemoteRoot);

    [Fact]
    public void LocalRootGoesThroughTheTargetsRoot()
    {
        Assert.Equal("/var/lib/rootfs/srv/app", Info("/", null, "/srv/app", "/var/lib/rootfs").LocalRootOnThisMachine);
        Assert.Equal("/srv/app", Info("/", null, "/srv/app").LocalRootOnThisMachine);
    }
}
