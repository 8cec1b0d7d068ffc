using System.Text.Json;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Tokenization;

/// <summary>Hand-made tokenizer files in a temporary folder, so a test states its whole vocabulary.</summary>
static class TinyTokenizers
{
    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ek-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static readonly string[] BertVocab =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "a", "b", "c", "##b", "##c", "hello", "world", ",", "!", "the", "##s", "é", "e", "x"];

    public static Tokenizer Vocab(bool lowercase = true, string[]? vocab = null)
    {
        string path = Path.Combine(TempDir(), "vocab.txt");
        File.WriteAllLines(path, vocab ?? BertVocab);
        return Tokenizer.FromVocab(path, lowercase);
    }

    /// <summary>A WordPiece tokenizer.json over <see cref="BertVocab"/> with the given added tokens.</summary>
    public static Tokenizer Json(object[]? addedTokens = null, object? normalizer = null, int maxChars = 100)
    {
        var vocab = BertVocab.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i);
        var json = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["added_tokens"] = addedTokens ?? new object[]
            {
                new { id = 0, content = "[PAD]", special = true, normalized = false },
                new { id = 2, content = "[CLS]", special = true, normalized = false },
                new { id = 3, content = "[SEP]", special = true, normalized = false },
                new { id = 4, content = "[MASK]", special = true, normalized = false },
            },
            ["normalizer"] = normalizer ?? new { type = "BertNormalizer", lowercase = true },
            ["pre_tokenizer"] = new { type = "BertPreTokenizer" },
            ["post_processor"] = new { type = "BertProcessing", cls = new object[] { "[CLS]", 2 }, sep = new object[] { "[SEP]", 3 } },
            ["decoder"] = new { type = "WordPiece", prefix = "##", cleanup = true },
            ["model"] = new { type = "WordPiece", unk_token = "[UNK]", continuing_subword_prefix = "##", max_input_chars_per_word = maxChars, vocab },
        };
        string path = Path.Combine(TempDir(), "tokenizer.json");
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        return Tokenizer.FromFile(path);
    }

    /// <summary>Every token's offsets lie inside the text it came from, and (for non-special tokens) the text there is non-empty.</summary>
    public static void AssertOffsetsInside(Encoding e, string text, string? pair = null)
    {
        for (int i = 0; i < e.Length; i++)
        {
            var (s, end) = e.Offsets[i];
            string source = e.SequenceIds[i] == 1 ? pair! : text;
            Assert.InRange(s, 0, source.Length);
            Assert.InRange(end, s, source.Length);
        }
    }
}
