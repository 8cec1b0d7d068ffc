using System.Text.Json;
using EncoderKit.Tokenization.Decoders;
using EncoderKit.Tokenization.Models;
using EncoderKit.Tokenization.Normalizers;
using EncoderKit.Tokenization.PostProcessors;
using EncoderKit.Tokenization.PreTokenizers;

namespace EncoderKit.Tokenization;

/// <summary>tokenizer.json stage types beyond the BERT family's (one switch per stage kind, continued).</summary>
internal static class ExtraStages
{
    public static INormalizer Normalizer(string type, JsonAt j) => type switch
    {
        "Strip" => new Strip(j.Bool("strip_left", true), j.Bool("strip_right", true)),
        "Replace" => new Replace(Pattern(j.Required("pattern")), j.Required("content").String()),
        "Prepend" => new Prepend(j.Required("prepend").String()),
        "Precompiled" => new Precompiled(new CharsMap(CharsMapBytes(j), j.File)),
        "ByteLevel" => new ByteLevelNormalizer(),
        "Nmt" => new Nmt(),
        _ => throw Unknown("normalizer", type, j),
    };

    static byte[] CharsMapBytes(JsonAt j)
    {
        var field = j.Optional("precompiled_charsmap");
        if (field is null) return [];
        try { return Convert.FromBase64String(field.Value.String()); }
        catch (FormatException) { throw field.Value.Error("precompiled_charsmap is not base64"); }
    }

    public static IPreTokenizer PreTokenizer(string type, JsonAt j) => type switch
    {
        "ByteLevel" => new ByteLevel(j.Bool("add_prefix_space", true), j.Bool("use_regex", true)),
        "Whitespace" => new WhitespacePreTokenizer(),
        "WhitespaceSplit" => new WhitespaceSplit(),
        "Punctuation" => new PunctuationPreTokenizer(Behavior(j.Optional("behavior"), SplitBehavior.Isolated)),
        "Digits" => new DigitsPreTokenizer(j.Bool("individual_digits", false)),
        "CharDelimiterSplit" => new CharDelimiterSplit(SingleChar(j.Required("delimiter"))),
        "Split" => new SplitPreTokenizer(Pattern(j.Required("pattern")), Behavior(j.Required("behavior"), SplitBehavior.Removed), j.Bool("invert", false)),
        "Metaspace" => new Metaspace((char)SingleChar(j.Optional("replacement") ?? default, '\u2581'), Prepend(j), j.Bool("split", true)),
        _ => throw Unknown("pre-tokenizer", type, j),
    };

    static MetaspacePrepend Prepend(JsonAt j)
    {
        if (j.Optional("prepend_scheme") is JsonAt s)
            return s.String() switch
            {
                "always" => MetaspacePrepend.Always,
                "first" => MetaspacePrepend.First,
                "never" => MetaspacePrepend.Never,
                var other => throw s.Error($"unknown prepend_scheme \"{other}\""),
            };
        return j.Bool("add_prefix_space", true) ? MetaspacePrepend.Always : MetaspacePrepend.Never;
    }

    static int SingleChar(JsonAt j, char fallback = '\0')
    {
        if (j.Value.ValueKind == JsonValueKind.Undefined) return fallback;
        string s = j.String();
        var e = s.EnumerateRunes();
        if (!e.MoveNext()) throw j.Error("expected one character");
        var r = e.Current;
        if (e.MoveNext()) throw j.Error($"expected one character, got \"{s}\"");
        return r.Value;
    }

    static SplitBehavior Behavior(JsonAt? j, SplitBehavior fallback) => j?.String() switch
    {
        null => fallback,
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        var other => throw j!.Value.Error($"unknown split behavior \"{other}\""),
    };

    static TextPattern Pattern(JsonAt j)
    {
        if (j.Optional("String") is JsonAt s) return TextPattern.Literal(s.String());
        if (j.Optional("Regex") is JsonAt r) return TextPattern.FromRegex(r.String(), j.File, r.Path);
        throw j.Error("expected {\"String\": ...} or {\"Regex\": ...}");
    }

    public static ITokenizerModel Model(string type, JsonAt j) => type switch
    {
        "BPE" => new Bpe(new Vocabulary(TokenizerJson.VocabMap(j.Required("vocab"))), Merges(j.Required("merges")),
            j.OptionalString("unk_token"), j.OptionalString("continuing_subword_prefix"), j.OptionalString("end_of_word_suffix"),
            j.Bool("fuse_unk", false), j.Bool("byte_fallback", false), j.Bool("ignore_merges", false), j.File),
        "Unigram" => UnigramModel(j),
        "WordLevel" => new WordLevel(new Vocabulary(TokenizerJson.VocabMap(j.Required("vocab"))), j.OptionalString("unk_token")),
        _ => throw Unknown("model", type, j),
    };

    static List<(string, string)> Merges(JsonAt j)
    {
        var merges = new List<(string, string)>();
        foreach (var m in j.Items())
        {
            if (m.Value.ValueKind == JsonValueKind.String)
            {
                string s = m.String();
                int space = s.Length > 1 ? s.IndexOf(' ', 1) : -1;
                if (space < 0) throw m.Error($"merge \"{s}\" is not two tokens separated by a space");
                merges.Add((s[..space], s[(space + 1)..]));
            }
            else
            {
                var pair = m.Items().ToList();
                if (pair.Count != 2) throw m.Error("expected a pair of tokens");
                merges.Add((pair[0].String(), pair[1].String()));
            }
        }
        return merges;
    }

    static Unigram UnigramModel(JsonAt j)
    {
        var vocab = new List<(string, double, PieceType)>();
        foreach (var item in j.Required("vocab").Items())
        {
            var pair = item.Items().ToList();
            if (pair.Count != 2) throw item.Error("expected [piece, score]");
            vocab.Add((pair[0].String(), pair[1].Double(), PieceType.Normal));
        }
        int? unk = j.Optional("unk_id")?.Int();
        if (unk is int u && (u < 0 || u >= vocab.Count)) throw j.Error($"unk_id {u} is outside the vocabulary");
        return new Unigram(vocab, unk, j.Bool("byte_fallback", false), sentencePieceRules: false);
    }

    public static IPostProcessor PostProcessor(string type, JsonAt j) => type switch
    {
        "RobertaProcessing" => new RobertaProcessing(TokenizerJson.TokenAndId(j.Required("cls")), TokenizerJson.TokenAndId(j.Required("sep")),
            j.Bool("trim_offsets", true), j.Bool("add_prefix_space", true)),
        "ByteLevel" => new ByteLevelProcessing(j.Bool("trim_offsets", true), j.Bool("add_prefix_space", true)),
        _ => throw Unknown("post-processor", type, j),
    };

    public static IDecoder Decoder(string type, JsonAt j) => type switch
    {
        "ByteLevel" => new ByteLevelDecoder(),
        "ByteFallback" => new ByteFallbackDecoder(),
        "Fuse" => new FuseDecoder(),
        "Strip" => new StripDecoder((char)SingleChar(j.Required("content")), j.Int("start", 0), j.Int("stop", 0)),
        "Replace" => new ReplaceDecoder(Pattern(j.Required("pattern")), j.Required("content").String()),
        "Metaspace" => new MetaspaceDecoder((char)SingleChar(j.Optional("replacement") ?? default, '\u2581'), Prepend(j) != MetaspacePrepend.Never),
        "BPEDecoder" => new BpeSuffixDecoder(j.OptionalString("suffix") ?? "</w>"),
        "CTC" => new CtcDecoder(j.OptionalString("pad_token") ?? "<pad>", j.OptionalString("word_delimiter_token") ?? "|", j.Bool("cleanup", true)),
        _ => throw Unknown("decoder", type, j),
    };

    static EncoderKitException Unknown(string stage, string type, JsonAt j) =>
        new(ErrorKind.BadTokenizer, $"unsupported {stage} type \"{type}\"", j.File, j.Path + ".type");
}
