using Wand.Hpc;
using Xunit;

namespace Wand.Tests.Unit.Hpc;

/// <summary>Rank detection, the login host for the tunnel, squeue parsing and the session store.</summary>
public sealed class HpcEnvironmentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rdg-store-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Func<string, string?> Env(params (string Key, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Key == name).Value;

    [Fact]
    public void RankComesFromTorchrunThenSlurmThenMpi()
    {
        Assert.Null(RankInfo.Detect(Env()));
        Assert.Equal((3, "SLURM_PROCID"), RankInfo.Detect(Env(("SLURM_PROCID", "3"), ("PMI_RANK", "1"))));
        Assert.Equal((0, "RANK"), RankInfo.Detect(Env(("RANK", "0"), ("SLURM_PROCID", "5"))));
        Assert.Equal((2, "OMPI_COMM_WORLD_RANK"), RankInfo.Detect(Env(("OMPI_COMM_WORLD_RANK", "2"))));
        Assert.Equal((7, "PMI_RANK"), RankInfo.Detect(Env(("RANK", "x"), ("PMI_RANK", "7"))));
    }

    [Fact]
    public void LoginHostPrefersConfiguredThenSshConnectionThenSubmitHost()
    {
        Func<string, string?> resolve = n => n switch { "10.0.0.5" => "login1.cluster.example.org", "uc2n990" => "uc2n990.localdomain", _ => null };
        var configured = LoginTarget.Resolve("ada@hpc.example.org", Env(("USER", "bob")), resolve);
        Assert.Equal(("ada@hpc.example.org", "configured"), (configured.SshDestination, configured.Source));
        Assert.Equal("bob@login.example.org", LoginTarget.Resolve("login.example.org", Env(("USER", "bob")), resolve).SshDestination);
        var ssh = LoginTarget.Resolve(null, Env(("SLURM_JOB_USER", "ada"), ("USER", "root"), ("SSH_CONNECTION", "192.168.1.9 52311 10.0.0.5 22"), ("SLURM_SUBMIT_HOST", "uc2n990")), resolve);
        Assert.Equal("ada@login1.cluster.example.org", ssh.SshDestination);
        var submit = LoginTarget.Resolve(null, Env(("USER", "ada"), ("SLURM_SUBMIT_HOST", "uc2n990")), resolve);
        Assert.Equal("ada@uc2n990.localdomain", submit.SshDestination);
        var unknown = LoginTarget.Resolve(null, Env(("USER", "ada"), ("SLURM_SUBMIT_HOST", "nowhere")), resolve);
        Assert.False(unknown.Known);
        Assert.Equal("ada@<login-host>", unknown.SshDestination);
    }

    [Fact]
    public void SqueueLinesAreParsed()
    {
        var jobs = SlurmJob.ParseSqueue("123|train|RUNNING|1:02:03|gpu[01-02]\n124|eval job|RUNNING|0:05|cpu7\n\n");
        Assert.Equal(2, jobs.Count);
        Assert.Equal(new SlurmJob("123", "train", "RUNNING", "1:02:03", "gpu[01-02]"), jobs[0]);
        Assert.Equal("eval job", jobs[1].Name);
    }

    [Fact]
    public void SessionStoreFindsByJobThenPidAndNewestFirst()
    {
        var store = new SessionStore(Path.Combine(_dir, "s"));
        var old = new SessionRecord("41", 100, "lite", "armed", "n1", null, null, 5679, "/w", "3.13", "/tmp/f", null, 0, DateTimeOffset.UtcNow.AddMinutes(-5));
        var recent = new SessionRecord(null, 4242, "debug", "listening", "ws", "127.0.0.1", 5680, 5679, "/w2", "3.14", null, "ada@login", null, DateTimeOffset.UtcNow);
        store.Write(old);
        store.Write(recent);
        File.WriteAllText(Path.Combine(store.Folder, "broken.json"), "{");
        Assert.Equal(recent, store.Find(null));
        Assert.Equal(recent, store.Find("latest"));
        Assert.Equal(old, store.Find("41"));
        Assert.Equal(recent, store.Find("4242"));
        Assert.Null(store.Find("999"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(store.Folder));
        store.Remove(old);
        Assert.Single(store.List());
        Assert.Equal("/x/rdg/sessions", SessionStore.DefaultFolder(Env(("XDG_CACHE_HOME", "/x")), "/home/ada"));
        Assert.Equal("/home/ada/.cache/rdg/sessions", SessionStore.DefaultFolder(Env(), "/home/ada"));
        Assert.Equal("/d", SessionStore.DefaultFolder(Env(("RDG_SESSION_DIR", "/d")), "/home/ada"));
    }
}
