using System.Runtime.CompilerServices;
using System.Text.Json;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Tokenization;

/// <summary>
/// Hand-made tokenizer.json files (Data/tiny, written by tools/tokref-tiny/make_tiny.py) for the stages the five
/// families do not use: Unigram from tokenizer.json, Metaspace, NFKC/Replace/Strip/Prepend, BPE affixes and byte
/// fallback, WordLevel, Split in each behaviour, Whitespace(Split), Punctuation, Digits, RobertaProcessing with
/// trimmed offsets, lstrip added tokens, and the decoders. Expected outputs (Data/tiny/expected.jsonl) come from the
/// Rust tokenizers core (tools/tokref-tiny/gen.js); offsets there are already UTF-16.
/// </summary>
public class TinyReferenceTests
{
    static string DataDir([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "Data", "tiny");

    public static TheoryData<string> TokenizerNames =>
        new(Directory.GetFiles(DataDir(), "*.json").Select(f => Path.GetFileNameWithoutExtension(f)).Order());

    [Theory, MemberData(nameof(TokenizerNames))]
    public void EveryCaseMatchesTheRustReference(string name)
    {
        var tok = Tokenizer.FromFile(Path.Combine(DataDir(), name + ".json"));
        var failures = new List<string>();
        int count = 0;
        foreach (var line in File.ReadLines(Path.Combine(DataDir(), "expected.jsonl")))
        {
            var c = JsonDocument.Parse(line).RootElement;
            if (c.GetProperty("tokenizer").GetString() != name) continue;
            count++;
            string text = c.GetProperty("text").GetString()!;
            string? pair = c.TryGetProperty("text_pair", out var p) ? p.GetString() : null;
            var options = EncodeOptions.Default;
            if (c.TryGetProperty("truncation", out var t))
                options = new EncodeOptions
                {
                    MaxLength = t.GetProperty("max_length").GetInt32(),
                    Stride = t.TryGetProperty("stride", out var s) ? s.GetInt32() : 0,
                    TruncationSide = t.TryGetProperty("direction", out var d) && d.GetString() == "left" ? TruncationSide.Left : TruncationSide.Right,
                };
            var e = tok.Encode(text, pair, options);
            var problems = new List<string>();
            void Same<T>(string field, IEnumerable<T> got, IEnumerable<T> want)
            {
                if (!got.SequenceEqual(want)) problems.Add($"{field} [{string.Join(" ", got)}] expected [{string.Join(" ", want)}]");
            }
            Same("ids", e.Ids, Ints(c, "ids"));
            Same("tokens", e.Tokens, c.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!));
            Same("offsets", e.Offsets, c.GetProperty("offsets").EnumerateArray().Select(o => (o[0].GetInt32(), o[1].GetInt32())));
            Same("type ids", e.TypeIds, Ints(c, "type_ids"));
            Same("special mask", e.SpecialTokensMask, Ints(c, "special_tokens_mask"));
            if (c.TryGetProperty("overflowing", out var over) && pair is null)
                CheckOverflow(e, over.EnumerateArray().Select(o => o.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToList(), options.TruncationSide == TruncationSide.Left, problems);
            if (c.TryGetProperty("decoded", out var dec))
            {
                Same("decoded", [tok.Decode(e.Ids)], [dec.GetString()!]);
                Same("decoded with special", [tok.Decode(e.Ids, skipSpecialTokens: false)], [c.GetProperty("decoded_with_special").GetString()!]);
            }
            if (problems.Count > 0) failures.Add($"{JsonSerializer.Serialize(text)}{(pair is null ? "" : " + " + JsonSerializer.Serialize(pair))}: {string.Join("; ", problems)}");
        }
        Assert.True(count > 30, $"only {count} cases for {name}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} differ:\n" + string.Join("\n", failures));
    }

    /// <summary>
    /// tokenizers 0.23 stops tokenizing once it has max_length tokens when truncating, so its overflow windows end
    /// early (from the right end when truncating on the left); EncoderKit (like earlier versions) windows the whole
    /// text. So: the reference's windows, all but its last, equal ours; its last one's text tokens are a prefix of
    /// ours at that place (a suffix when truncating on the left).
    /// </summary>
    static void CheckOverflow(Encoding e, List<int[]> reference, bool left, List<string> problems)
    {
        int lead = e.SpecialTokensMask.TakeWhile(m => m == 1).Count();
        int trail = e.SpecialTokensMask.Reverse().TakeWhile(m => m == 1).Count();
        if (lead == e.Length) trail = 0;
        if (reference.Count > e.Overflowing.Count) { problems.Add($"{reference.Count} overflow windows expected, got {e.Overflowing.Count}"); return; }
        for (int i = 0; i < reference.Count; i++)
        {
            int[] want = reference[i], got = e.Overflowing[i].Ids;
            bool ok = i < reference.Count - 1
                ? want.SequenceEqual(got)
                : want.Length >= lead + trail && got.Length >= want.Length
                  && want.Take(lead).SequenceEqual(got.Take(lead)) && want.TakeLast(trail).SequenceEqual(got.TakeLast(trail))
                  && (left
                      ? want[lead..^trail].SequenceEqual(got[(got.Length - trail - (want.Length - lead - trail))..^trail])
                      : want[lead..^trail].SequenceEqual(got[lead..(lead + want.Length - lead - trail)]));
            if (!ok) problems.Add($"overflow window {i}: [{string.Join(",", got)}], reference [{string.Join(",", want)}]");
        }
    }

    static IEnumerable<int> Ints(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetInt32());
}
