using EncoderKit.Hub;

namespace EncoderKit.Tests.Hub;

/// <summary>The token goes to the configured hub and nowhere else, and is never written down.</summary>
public class HubTokenTests
{
    const string Token = "hf_SecretTokenThatMustNotLeak";

    [Fact]
    public async Task TheTokenGoesToTheEndpointButNotToAnotherOrigin()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        await using FakeHub cdn = await FakeHub.StartAsync();
        cdn.ShareReposWith(bed.Hub);
        bed.Hub.LfsBase = cdn.Url; // LFS files are redirected to another origin (another port), as to a CDN

        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options(token: Token));

        Assert.Equal(repo.Files["model.safetensors"].Content, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.NotEmpty(bed.Hub.Requests);
        Assert.All(bed.Hub.Requests, r => Assert.Equal("Bearer " + Token, r.Authorization));
        Assert.NotEmpty(cdn.Requests);
        Assert.All(cdn.Requests, r => Assert.Null(r.Authorization));
    }

    [Fact]
    public async Task TheTokenFollowsARedirectOnTheSameOrigin()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options(token: Token));

        Assert.Contains(bed.Hub.Requests, r => r.Path.StartsWith("/lfs/", StringComparison.Ordinal));
        Assert.All(bed.Hub.Requests, r => Assert.Equal("Bearer " + Token, r.Authorization));
    }

    [Fact]
    public async Task TheTokenIsNeverLoggedNorInErrors()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        bed.Hub.Faults.Add(new Fault("/api/models/", FaultKind.Status, Times: 1, Status: 500));
        bed.Hub.Faults.Add(new Fault("/lfs/", FaultKind.Truncate, Times: 1));
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options(token: Token));
        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync("org/missing", options: bed.Options(token: Token)));

        Assert.NotEmpty(bed.Log.Lines);
        Assert.DoesNotContain(bed.Log.Lines, l => l.Contains(Token, StringComparison.Ordinal));
        Assert.DoesNotContain(Token, e.ToString(), StringComparison.Ordinal);
        // Signed CDN addresses are logged without their query either.
        Assert.DoesNotContain(bed.Log.Lines, l => l.Contains("X-Amz-Signature", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NoTokenIsSentWhenNoneIsConfigured()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options(token: ""));
        Assert.All(bed.Hub.Requests, r => Assert.Null(r.Authorization));
    }

    [Fact]
    public void TheTokenComesFromHfTokenThenTheTokenFile()
    {
        string home = Path.Combine(Path.GetTempPath(), "encoderkit-hub-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(home);
        try
        {
            File.WriteAllText(Path.Combine(home, "token"), "hf_fromfile\n");
            File.WriteAllText(Path.Combine(home, "other-token"), "hf_frompath");
            var env = new Dictionary<string, string> { ["HF_HOME"] = home };

            Assert.Equal("hf_fromfile", HubSettings.From(null, Env(env)).Token);
            env["HF_TOKEN_PATH"] = Path.Combine(home, "other-token");
            Assert.Equal("hf_frompath", HubSettings.From(null, Env(env)).Token);
            env["HF_TOKEN"] = "hf_fromenv";
            Assert.Equal("hf_fromenv", HubSettings.From(null, Env(env)).Token);
            Assert.Equal("hf_given", HubSettings.From(new HubOptions { Token = "hf_given" }, Env(env)).Token);
            Assert.Null(HubSettings.From(new HubOptions { Token = "" }, Env(env)).Token);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public void TheEndpointOriginIsSchemeHostAndPort()
    {
        HubSettings s = HubSettings.From(new HubOptions { Endpoint = "https://hub.example:8443/", Token = "" }, Env([]));
        Assert.True(s.IsEndpointOrigin(new Uri("https://hub.example:8443/org/m/resolve/main/x")));
        Assert.True(s.IsEndpointOrigin(new Uri("https://HUB.example:8443/api")));
        Assert.False(s.IsEndpointOrigin(new Uri("http://hub.example:8443/x")));
        Assert.False(s.IsEndpointOrigin(new Uri("https://hub.example/x")));
        Assert.False(s.IsEndpointOrigin(new Uri("https://cdn.hub.example:8443/x")));
        Assert.False(s.IsEndpointOrigin(new Uri("https://hub.example.evil:8443/x")));
    }

    internal static Func<string, string?> Env(Dictionary<string, string> values) => name => values.GetValueOrDefault(name);
}
