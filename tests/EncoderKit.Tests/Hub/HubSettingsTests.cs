using EncoderKit.Hub;
using static EncoderKit.Tests.Hub.HubTokenTests;

namespace EncoderKit.Tests.Hub;

/// <summary>Where the cache, endpoint and offline switch come from, read as huggingface_hub reads them.</summary>
public class HubSettingsTests
{
    static readonly string Home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    [Fact]
    public void TheCacheFolderFollowsHuggingfaceHubsOrder()
    {
        Assert.Equal(Path.Combine(Home, ".cache", "huggingface", "hub"), HubSettings.From(null, Env([])).CacheDir);
        Assert.Equal("/x/huggingface/hub", HubSettings.From(null, Env(new() { ["XDG_CACHE_HOME"] = "/x" })).CacheDir);
        Assert.Equal("/h/hub", HubSettings.From(null, Env(new() { ["XDG_CACHE_HOME"] = "/x", ["HF_HOME"] = "/h" })).CacheDir);
        Assert.Equal("/old", HubSettings.From(null, Env(new() { ["HF_HOME"] = "/h", ["HUGGINGFACE_HUB_CACHE"] = "/old" })).CacheDir);
        Assert.Equal("/c", HubSettings.From(null, Env(new() { ["HF_HOME"] = "/h", ["HUGGINGFACE_HUB_CACHE"] = "/old", ["HF_HUB_CACHE"] = "/c" })).CacheDir);
        Assert.Equal(Path.Combine(Home, "models"), HubSettings.From(null, Env(new() { ["HF_HUB_CACHE"] = "~/models" })).CacheDir);
        Assert.Equal("/given", HubSettings.From(new HubOptions { CacheDir = "/given" }, Env(new() { ["HF_HUB_CACHE"] = "/c" })).CacheDir);
    }

    [Fact]
    public void TheEndpointComesFromHfEndpoint()
    {
        Assert.Equal(new Uri("https://huggingface.co"), HubSettings.From(null, Env([])).Endpoint);
        Assert.Equal(new Uri("https://mirror.example/hf"), HubSettings.From(null, Env(new() { ["HF_ENDPOINT"] = "https://mirror.example/hf/" })).Endpoint);
        var e = Assert.Throws<EncoderKitException>(() => HubSettings.From(null, Env(new() { ["HF_ENDPOINT"] = "ftp://x" })));
        Assert.Equal("HF_ENDPOINT", e.Field);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("on", true)]
    [InlineData("0", false)]
    [InlineData("", false)]
    [InlineData("no", false)]
    public void OfflineModeReadsHfHubOffline(string value, bool offline)
    {
        Assert.Equal(offline, HubSettings.From(null, Env(new() { ["HF_HUB_OFFLINE"] = value })).Offline);
        Assert.False(HubSettings.From(new HubOptions { Offline = false }, Env(new() { ["HF_HUB_OFFLINE"] = value })).Offline);
    }
}
