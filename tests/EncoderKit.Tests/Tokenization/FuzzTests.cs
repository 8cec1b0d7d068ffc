using System.Text;
using EncoderKit.Tokenization;
using Encoding = EncoderKit.Tokenization.Encoding;

namespace EncoderKit.Tests.Tokenization;

/// <summary>
/// Random text (all planes, unassigned and private-use code points, unpaired surrogates, combining marks, control
/// chars, special-token fragments) never makes a tokenizer throw, hang, or give an offset outside its input.
/// Seeded, so a failure reproduces.
/// </summary>
public class FuzzTests
{
    public static TheoryData<string> Tokenizers => new()
    {
        "bert-base-cased", "nomic-bert-2048", "modernbert-embed-base", "tohokunlp-bert-500m-sq4096-alpha",
    };

    static readonly string[] Fragments =
        ["[MASK]", "[CLS]", "<|endoftext|>", "<MASK|LLM-jp>", "<s>", "</s>", "  ", "\u2581", "'s", "##", "Ġ", "<0x41>", "\r\n", "\u0301", "ﬁ", "İ"];

    static string RandomText(Random rng, int maxLength)
    {
        int length = rng.Next(maxLength + 1);
        var b = new StringBuilder(length);
        while (b.Length < length)
        {
            switch (rng.Next(12))
            {
                case 0: b.Append((char)rng.Next(0xD800, 0xE000)); break;                       // lone surrogate half
                case 1: b.Append(char.ConvertFromUtf32(RandomScalar(rng, 0x10000, 0x110000))); break;   // astral
                case 2: b.Append((char)rng.Next(0, 0x20)); break;                              // C0 controls
                case 3: b.Append((char)rng.Next(0x300, 0x370)); break;                         // combining marks
                case 4: b.Append(Fragments[rng.Next(Fragments.Length)]); break;
                case 5: b.Append(' ', rng.Next(1, 30)); break;
                case 6: b.Append((char)rng.Next(0x3040, 0x9FFF)); break;                       // kana / CJK
                case 7: b.Append((char)RandomScalar(rng, 0x80, 0x10000)); break;               // any BMP
                default: b.Append((char)rng.Next(0x20, 0x7F)); break;                          // ASCII
            }
        }
        return b.ToString();
    }

    static int RandomScalar(Random rng, int from, int to)
    {
        while (true)
        {
            int c = rng.Next(from, to);
            if (c is < 0xD800 or > 0xDFFF) return c;
        }
    }

    static Tokenizer Load(string family) => family switch
    {
        "bert-base-cased" or "nomic-bert-2048" => WordPieceConformanceTests.Load(family, "tokenizer.json"),
        _ => FamilyConformanceTests.Load(family),
    };

    static void Check(Tokenizer tok, string text, string? pair, EncodeOptions options)
    {
        var e = tok.Encode(text, pair, options);
        void CheckOne(Encoding enc)
        {
            for (int i = 0; i < enc.Length; i++)
            {
                string source = enc.SequenceIds[i] == 1 ? pair! : text;
                var (s, end) = enc.Offsets[i];
                Assert.True(s >= 0 && s <= end && end <= source.Length, $"offsets ({s}, {end}) outside a text of {source.Length}");
                Assert.InRange(enc.Ids[i], 0, tok.VocabSize - 1);
            }
            foreach (var o in enc.Overflowing) CheckOne(o);
        }
        CheckOne(e);
        tok.Decode(e.Ids);
        tok.Decode(e.Ids, skipSpecialTokens: false);
    }

    [Theory, MemberData(nameof(Tokenizers))]
    public async Task RandomTextNeverThrowsAndOffsetsStayInside(string family)
    {
        var tok = Load(family);
        var rng = new Random(family.Length * 7919);
        var task = Task.Run(() =>
        {
            for (int i = 0; i < 400; i++)
            {
                string text = RandomText(rng, 120);
                Check(tok, text, null, EncodeOptions.Default);
                if (i % 4 == 0)
                    Check(tok, text, RandomText(rng, 60), new EncodeOptions { MaxLength = 24, Stride = 4, Padding = PaddingStrategy.MaxLength });
                if (i % 5 == 0)
                    Check(tok, text, null, new EncodeOptions { MaxLength = 9, Stride = 2, TruncationSide = TruncationSide.Left, AddSpecialTokens = false });
            }
        });
        await task.WaitAsync(TimeSpan.FromMinutes(2));   // TimeoutException: it hung
    }

    [Theory, MemberData(nameof(Tokenizers)), Trait("speed", "slow")]
    public async Task HundredThousandCharInputs(string family)
    {
        var tok = Load(family);
        var rng = new Random(42);
        string mixed = RandomText(rng, 200_000)[..100_000];
        string oneWord = new('a', 100_000);
        string spaces = new(' ', 100_000);
        string kana = string.Concat(Enumerable.Repeat("こんにちは世界", 100_000 / 7));
        var task = Task.Run(() =>
        {
            foreach (var text in new[] { mixed, oneWord, spaces, kana })
            {
                Check(tok, text, null, EncodeOptions.Default);
                Check(tok, text, null, new EncodeOptions { MaxLength = 512, Stride = 128 });
            }
        });
        await task.WaitAsync(TimeSpan.FromMinutes(2));   // TimeoutException: it hung
    }
}
