using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Tokenization;

/// <summary>
/// The BERT tokenizers reproduce every reference case exactly (ids, tokens, UTF-16 offsets converted from the
/// reference's code points, type ids, special tokens mask, truncation), whether built from tokenizer.json or vocab.txt.
/// </summary>
public class WordPieceConformanceTests
{
    public static TheoryData<string, string> Sources => new()
    {
        { "bert-base-cased", "tokenizer.json" },
        { "bert-base-cased", "vocab.txt" },
        { "nomic-bert-2048", "tokenizer.json" },
        { "nomic-bert-2048", "vocab.txt" },
        { "nomic-bert-2048", "folder" },
    };

    internal static Tokenizer Load(string family, string source)
    {
        string dir = ReferenceData.Tokenizer(family);
        return source switch
        {
            "tokenizer.json" => Tokenizer.FromFile(Path.Combine(dir, "tokenizer.json")),
            "vocab.txt" => Tokenizer.FromVocab(Path.Combine(dir, "vocab.txt"), lowercase: family != "bert-base-cased"),
            _ => Tokenizer.FromFolder(dir),
        };
    }

    [Theory, MemberData(nameof(Sources))]
    public void EveryCaseMatchesTheReference(string family, string source)
    {
        var tokenizer = Load(family, source);
        var cases = ReferenceCase.Load(family);
        var failures = cases.Select(c => c.Compare(tokenizer.Encode(c.Text, c.TextPair, c.Options)))
            .Where(f => f.Length > 0).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases differ:\n" + string.Join("\n", failures));
    }

    [Theory, MemberData(nameof(Sources))]
    public void BatchEqualsOneByOne(string family, string source)
    {
        var tokenizer = Load(family, source);
        var cases = ReferenceCase.Load(family).Where(c => c.MaxLength is null).ToList();
        var batch = tokenizer.EncodeBatch(cases.Select(c => (c.Text, c.TextPair)).ToList());
        for (int i = 0; i < cases.Count; i++)
            Assert.Equal(tokenizer.Encode(cases[i].Text, cases[i].TextPair).Ids, batch[i].Ids);
    }
}
