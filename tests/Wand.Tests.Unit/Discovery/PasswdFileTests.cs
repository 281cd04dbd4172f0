using Wand.Discovery;
using Xunit;

namespace Wand.Tests.Unit.Discovery;

public class PasswdFileTests
{
    [Fact]
    public void NamesByUid()
    {
        var names = PasswdFile.Parse("""
            root:x:0:0:root:/root:/bin/bash
            # a comment
            nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
            broken line
            :x:5:5::/:/bin/false
            toor:x:0:0:second root:/root:/bin/sh
            app:x:1000:1000::/home/app:/bin/sh
            """);
        Assert.Equal("root", names[0]); // the first entry wins, as with getpwuid
        Assert.Equal("nobody", names[65534]);
        Assert.Equal("app", names[1000]);
        Assert.False(names.ContainsKey(5));
        Assert.Equal(3, names.Count);
    }

    [Fact]
    public void UnreadableFileGivesNoNames() => Assert.Empty(PasswdFile.Read("/nonexistent/passwd"));
}
