using EncoderKit.IO;
using EncoderKit.Tests.Cli;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.IO;

/// <summary>
/// The file system's own failures, met where a model folder is read: each is one typed error naming the file, and through
/// the CLI one line with exit code 2. (Permission errors take the same path but cannot be provoked here: tests run as root.)
/// </summary>
public sealed class UserFileTests
{
    static void LoopAt(string path) => File.CreateSymbolicLink(path, path);

    [Theory]
    [InlineData("config.json")]
    [InlineData("model.safetensors")]
    public void ASymlinkLoopInAModelFolderIsATypedErrorNamingIt(string name)
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        File.Delete(folder.File(name));
        LoopAt(folder.File(name));

        var error = Assert.Throws<EncoderKitException>(() => EncoderModel.Load(folder.Path).Dispose());
        Assert.Equal(folder.File(name), error.File);
        Assert.StartsWith("cannot read", error.Problem);
    }

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("config.json")]
    public void AFolderWhereAFileShouldBeIsSaidSo(string name)
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        File.Delete(folder.File(name));
        Directory.CreateDirectory(folder.File(name));

        var error = Assert.Throws<EncoderKitException>(() => EncoderModel.Load(folder.Path).Dispose());
        Assert.Equal(folder.File(name), error.File);
        Assert.Equal("is a folder, expected a file", error.Problem);
    }

    [Fact]
    public void AVocabularyThatLoopsIsATypedError()
    {
        using var folder = new TempFolder();
        LoopAt(folder.File("vocab.txt"));

        var error = Assert.Throws<EncoderKitException>(() => Tokenizer.FromFolder(folder.Path));
        Assert.Equal(folder.File("vocab.txt"), error.File);
    }

    [Fact]
    public async Task TheCliSaysItInOneLine()
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        File.Delete(folder.File("config.json"));
        LoopAt(folder.File("config.json"));

        var result = await CliRunner.RunAsync(["fill-mask", "--model", folder.Path, "Hello [MASK]."]);

        string line = result.AssertOneLineError();
        Assert.Contains(folder.File("config.json"), line);
        Assert.Equal("", result.Out);
    }
}
