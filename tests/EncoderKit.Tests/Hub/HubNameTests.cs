using EncoderKit.Hub;
using EncoderKit.IO;

namespace EncoderKit.Tests.Hub;

/// <summary>Hub ids, revisions and server-given names: what is accepted, and what could leave the cache.</summary>
public class HubNameTests
{
    [Theory]
    [InlineData("bert-base-cased", "bert-base-cased", "main")]
    [InlineData("nomic-ai/modernbert-embed-base", "nomic-ai/modernbert-embed-base", "main")]
    [InlineData("retrieva-jp/bert-1.3b@v1.0", "retrieva-jp/bert-1.3b", "v1.0")]
    [InlineData("org/name@refs/pr/1", "org/name", "refs/pr/1")]
    [InlineData("org/name@0123456789abcdef0123456789abcdef01234567", "org/name", "0123456789abcdef0123456789abcdef01234567")]
    public void ParsesHubIds(string model, string repoId, string revision)
    {
        HubReference r = HubReference.Parse(model, null);
        Assert.Equal(repoId, r.RepoId);
        Assert.Equal(revision, r.Revision);
    }

    [Theory]
    [InlineData("a/b/c")]
    [InlineData("org/-name")]
    [InlineData("org/name.")]
    [InlineData("org/na me")]
    [InlineData("org/name.git")]
    [InlineData("or--g/name")]
    [InlineData("/name")]
    public void RefusesWhatIsNotARepoId(string id) => Assert.False(HubReference.IsRepoId(id));

    [Theory]
    [InlineData("config.json", true)]
    [InlineData("1_Pooling/config.json", true)]
    [InlineData("a..b/c..d.json", true)]
    [InlineData("../x", false)]
    [InlineData("a/../../x", false)]
    [InlineData("a/./b", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("a\\b", false)]
    [InlineData("a//b", false)]
    [InlineData("a/", false)]
    [InlineData("", false)]
    [InlineData("a\nb", false)]
    public void ConfinesServerGivenPaths(string path, bool safe) => Assert.Equal(safe, RelativePaths.IsSafe(path));

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef01234567", true)]
    [InlineData("5d41402abc4b2a76b9719d911017c592-12", true)]
    [InlineData("../blobs/x", false)]
    [InlineData(".hidden", false)]
    [InlineData("a/b", false)]
    public void EtagsMustBePlainFileNames(string etag, bool safe) => Assert.Equal(safe, HubReference.IsSafeEtag(etag));

    [Theory]
    [InlineData("\"abc\"", "abc")]
    [InlineData("W/\"abc\"", "abc")]
    [InlineData("abc", "abc")]
    [InlineData("\"\"", null)]
    public void NormalizesEtagsAsHuggingfaceHub(string header, string? etag) => Assert.Equal(etag, HubClient.NormalizeEtag(header));

    [Theory]
    [InlineData("*.json", "config.json", true)]
    [InlineData("*.json", "1_Pooling/config.json", true)] // fnmatch's '*' crosses '/'
    [InlineData("onnx/", "onnx/model.onnx", true)]
    [InlineData("onnx/", "onnxmodel", false)]
    [InlineData("model-?????-of-*.safetensors", "model-00001-of-00002.safetensors", true)]
    [InlineData("[!a]*.txt", "vocab.txt", true)]
    [InlineData("[!v]*.txt", "vocab.txt", false)]
    [InlineData("config.json", "xconfig.json", false)]
    [InlineData("a.b", "axb", false)]
    public void MatchesPatternsAsFnmatch(string pattern, string name, bool match) => Assert.Equal(match, ModelFiles.FnMatch(pattern, name));

    [Theory]
    [InlineData("/abs/folder", true)]
    [InlineData("./rel", true)]
    [InlineData("../up", true)]
    [InlineData("~/models/x", true)]
    [InlineData("a/b/c", true)]
    [InlineData("org/name", false)]
    [InlineData("name@v1", false)]
    public void TellsPathsFromHubIds(string model, bool path) => Assert.Equal(path, ModelSource.LooksLikePath(model));

    [Theory]
    [InlineData("/x", true)]
    [InlineData("x/y", true)]
    [InlineData("https://cdn.example/blob?sig=1", false)]
    [InlineData("//cdn.example/blob", false)]
    public void TellsRelativeRedirectsFromAbsoluteOnes(string location, bool relative)
    {
        (Uri target, bool isRelative) = HubHttp.RedirectTarget(new Uri("http://127.0.0.1:5000/org/m/resolve/main/f"), location);
        Assert.Equal(relative, isRelative);
        Assert.True(target.IsAbsoluteUri);
        if (location == "/x") Assert.Equal("http://127.0.0.1:5000/x", target.AbsoluteUri);
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("javascript:alert(1)")]
    [InlineData("ftp://host/x")]
    public void RefusesRedirectsToOtherSchemes(string location) =>
        Assert.Throws<EncoderKitException>(() => HubHttp.RedirectTarget(new Uri("http://127.0.0.1:5000/a"), location));
}
