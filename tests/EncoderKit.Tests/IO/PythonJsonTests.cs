
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Tests.Tokenization;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.IO;

/// <summary>
/// The JSON files transformers reads with Python's json (config.json, tokenizer_config.json...) are read with the same
/// verdicts here: what Python accepts loads with the same meaning, what it rejects is a typed error with the position.
/// </summary>
public sealed class PythonJsonTests
{
    static ConfigJson Config(string json) => ConfigJson.Parse(json, "config.json");

    static EncoderKitException Rejected(byte[] json) =>
        Assert.Throws<EncoderKitException>(() => ConfigJson.Parse(json, "config.json"));

    static EncoderKitException Rejected(string json) => Rejected(System.Text.Encoding.UTF8.GetBytes(json));

    [Fact]
    public void ADuplicateKeyTakesTheLastValueAsPythonDoes()
    {
        var c = Config("""{"hidden_size": 32, "model_type": "bert", "hidden_size": 64}""");
        Assert.Equal(64, c.Int("hidden_size"));
        Assert.Equal(["hidden_size", "model_type"], c.Root.Select(p => p.Key));   // Python's dict keeps the first place
    }

    [Fact]
    public void NaNAndInfinityLoadAsPythonReadsThem()
    {
        var c = Config("""{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e400}""");
        Assert.True(double.IsNaN(c.Double("a")));
        Assert.Equal(double.PositiveInfinity, c.Double("b"));
        Assert.Equal(double.NegativeInfinity, c.Double("c"));
        Assert.Equal(double.PositiveInfinity, c.Double("d"));   // Python: float('1e400') == inf
        var e = Assert.Throws<EncoderKitException>(() => c.Int("a"));
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void AWrongTypedValueHoldingNaNIsDescribedNotACrash()
    {
        var c = Config("""{"initializer_range": {"a": -Infinity, "b": NaN}}""");
        var e = Assert.Throws<EncoderKitException>(() => c.Double("initializer_range"));
        Assert.Contains("-Infinity", e.Message);
        Assert.Equal("initializer_range", e.Field);
    }

    [Fact]
    public void EscapesAndPairedSurrogatesDecode()
    {
        var c = Config("""{"s": "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 é😀"}""");
        Assert.Equal("a\"\\/\b\f\n\r\té😀 é😀", c.String("s"));
    }

    [Theory]
    [InlineData("{\"a\": 1,}", "line 1, column 9")]                 // trailing comma: Python rejects it
    [InlineData("{\"a\": 1}\n// note", "extra data")]
    [InlineData("{\"a\": 01}", "line 1, column 8")]
    [InlineData("{\"a\": \"\\ud800\"}", "unpaired surrogate")]
    [InlineData("{\"a\": \"\\udc00x\"}", "unpaired surrogate")]
    [InlineData("{\"a\": \"\\x41\"}", "invalid escape")]
    [InlineData("{\"a\": \"tab\there\"}", "control character")]
    [InlineData("{\"a\": +1}", "expecting a value")]
    [InlineData("{\"a\": nan}", "expecting a value")]
    [InlineData("{'a': 1}", "property name")]
    [InlineData("{\"a\": 1", "expecting ',' or '}'")]
    [InlineData("{\"a\": \"open", "unterminated string")]
    [InlineData("", "end of the file")]
    public void WhatPythonRejectsIsATypedErrorWithThePosition(string json, string expected)
    {
        var e = Rejected(json);
        Assert.Equal(ErrorKind.BadConfig, e.Kind);
        Assert.Equal("config.json", e.File);
        Assert.Contains("invalid JSON at line", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void InvalidUtf8NamesItsLineAndByte()
    {
        byte[] json = [.. "{\n  \"a\": \""u8, 0xC3, 0x28, .. "\"\n}"u8];
        var e = Rejected(json);
        Assert.Contains("line 2", e.Message);
        Assert.Contains("byte 10", e.Message);
        Assert.Contains("invalid UTF-8", e.Message);
    }

    [Fact]
    public void AByteOrderMarkIsRejectedAsPythonDoes()
    {
        var e = Rejected([0xEF, 0xBB, 0xBF, .. "{}"u8]);
        Assert.Contains("byte order mark", e.Message);
    }

    [Fact]
    public void DeepNestingIsATypedErrorNotAStackOverflow()
    {
        var e = Rejected(new string('[', 100_000));
        Assert.Contains("nested deeper", e.Message);
    }

    [Fact]
    public void TokenizerFilesGetTheSameReader()
    {
        string dir = TinyTokenizers.TempDir();
        string path = Path.Combine(dir, "tokenizer.json");
        File.WriteAllBytes(path, [.. "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}, \"unk_token\": \""u8, 0xFF, .. "\"}}"u8]);
        var e = Assert.Throws<EncoderKitException>(() => Tokenizer.FromFile(path));
        Assert.Equal(ErrorKind.BadTokenizer, e.Kind);
        Assert.Contains("invalid UTF-8 byte 0xFF", e.Message);
        Assert.Equal(path, e.File);
    }

    [Fact]
    public void ADuplicateVocabularyEntryInTokenizerJsonTakesTheLastId()
    {
        string dir = TinyTokenizers.TempDir();
        string path = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(path, """
            {"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1, "b": 2, "a": 3}}}
            """);
        var tok = Tokenizer.FromFile(path);
        Assert.Equal([3], tok.Encode("a", options: new EncodeOptions { AddSpecialTokens = false }).Ids);
    }

    [Fact]
    public void NonFiniteValuesInTokenizerConfigAreAcceptedAsPythonDoes()
    {
        string dir = TinyTokenizers.TempDir();
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), TinyTokenizers.BertVocab);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"model_max_length": Infinity, "do_lower_case": true, "do_lower_case": false}""");
        var tok = Tokenizer.FromFolder(dir);
        Assert.Null(tok.ModelMaxLength);
        Assert.Equal("[UNK]", tok.IdToToken(tok.Encode("A", options: new EncodeOptions { AddSpecialTokens = false }).Ids[0]));   // cased: the last do_lower_case won
    }
}

/// <summary>Config values are checked for range where they are read, naming the field, before any weight is touched.</summary>
public sealed class ConfigRangeTests
{
    static string Bert(string overrides) => $$"""
        {"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 64, "num_attention_heads": 4,
         "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 64 {{overrides}}}
        """;

    static EncoderKitException SpecFails(string json)
    {
        var config = ConfigJson.Parse(json, "config.json");
        return Assert.Throws<EncoderKitException>(() => ModelFamilies.Recognize(config).Spec(config, null));
    }

    [Theory]
    [InlineData(", \"num_attention_heads\": 0", "num_attention_heads", "at least 1")]
    [InlineData(", \"num_attention_heads\": 5", "num_attention_heads", "5 heads do not divide hidden_size 64")]
    [InlineData(", \"hidden_size\": -64", "hidden_size", "at least 1")]
    [InlineData(", \"vocab_size\": 0", "vocab_size", "at least 1")]
    [InlineData(", \"max_position_embeddings\": 99999999999", "max_position_embeddings", "at most 2147483647, got 99999999999")]
    [InlineData(", \"max_position_embeddings\": 1e30", "max_position_embeddings", "at most 2147483647")]
    [InlineData(", \"num_hidden_layers\": 2.5", "num_hidden_layers", "expected an integer, got 2.5")]
    [InlineData(", \"type_vocab_size\": -1", "type_vocab_size", "at least 0")]
    public void AnOutOfRangeValueNamesItsField(string overrides, string field, string expected)
    {
        var e = SpecFails(Bert(overrides));
        Assert.Equal(ErrorKind.BadConfig, e.Kind);
        Assert.Equal(field, e.Field);
        Assert.Contains(expected, e.Problem);
    }

    [Fact]
    public void GroupedQueryHeadsThatDoNotDivideNameTheKeyValueHeads()
    {
        string json = File.ReadAllText(Path.Combine(ReferenceData.Model("llama_enc"), "config.json"));
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        int heads = (int)node["num_attention_heads"]!;
        node["num_key_value_heads"] = heads - 1;
        var e = SpecFails(node.ToJsonString());
        Assert.Equal("num_key_value_heads", e.Field);
    }

    [Fact]
    public void WholeNumbersWrittenAsFloatsStillRead()
    {
        var config = ConfigJson.Parse(Bert(", \"max_position_embeddings\": 2048.0"), "config.json");
        Assert.Equal(2048, ModelFamilies.Recognize(config).Spec(config, null).Embeddings.MaxPositions);
    }

    [Fact]
    public void AnEmptyInputIsATypedErrorNotALibtorchCrash()
    {
        using var model = EncoderModel.CreateRandom(ConfigJson.Parse(Bert(""), "config.json"));
        foreach (long[] shape in new[] { new long[] { 1, 0 }, [0, 4] })
        {
            using var ids = TorchSharp.torch.zeros(shape, TorchSharp.torch.ScalarType.Int64);
            var e = Assert.Throws<EncoderKitException>(() => model.Forward(ids));
            Assert.Equal("input_ids", e.Field);
            Assert.Contains("empty", e.Problem);
        }
    }
}
