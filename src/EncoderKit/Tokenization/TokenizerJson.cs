using System.Text.Json;
using EncoderKit.Tokenization.Decoders;
using EncoderKit.Tokenization.Models;
using EncoderKit.Tokenization.Normalizers;
using EncoderKit.Tokenization.PostProcessors;
using EncoderKit.Tokenization.PreTokenizers;

namespace EncoderKit.Tokenization;

/// <summary>
/// Maps tokenizer.json onto the stage types: one switch per stage kind on its "type" tag. An unknown type, a
/// missing field or a wrong value is an <see cref="EncoderKitException"/> naming the file and the JSON path.
/// </summary>
internal static class TokenizerJson
{
    public static Tokenizer Load(string path, SpecialTokenNames? configured)
    {
        using var doc = JsonAt.Load(path);
        var root = new JsonAt(doc.RootElement, "", path);
        if (root.Value.ValueKind != JsonValueKind.Object) throw root.Error("expected a JSON object at the top level");

        var addedTokens = new List<AddedToken>();
        if (root.Optional("added_tokens") is JsonAt added)
            foreach (var t in added.Items())
                addedTokens.Add(new AddedToken(t.Required("id").TokenId(), t.Required("content").String(), t.Bool("special", false),
                    t.Bool("single_word", false), t.Bool("lstrip", false), t.Bool("rstrip", false), t.Bool("normalized", !t.Bool("special", false))));

        var normalizer = root.Optional("normalizer") is JsonAt n ? Normalizer(n) : null;
        var preTokenizer = root.Optional("pre_tokenizer") is JsonAt p ? PreTokenizer(p) : null;
        var model = Model(root.Required("model"));
        var postProcessor = root.Optional("post_processor") is JsonAt pp ? PostProcessor(pp) : null;
        var decoder = root.Optional("decoder") is JsonAt d ? Decoder(d) : null;

        var specials = SpecialTokenGuess.Complete(configured ?? new SpecialTokenNames(), addedTokens, model, postProcessor);
        return new Tokenizer(normalizer, preTokenizer, model, postProcessor, decoder, addedTokens, specials);
    }

    internal static INormalizer Normalizer(JsonAt j) => j.Type() switch
    {
        "BertNormalizer" => new BertNormalizer(j.Bool("clean_text", true), j.Bool("handle_chinese_chars", true),
            j.Optional("strip_accents")?.Bool(), j.Bool("lowercase", true)),
        "Sequence" => new NormalizerSequence(j.Required("normalizers").Items().Select(Normalizer).ToList()),
        "Lowercase" => new Lowercase(),
        "StripAccents" => new StripAccents(),
        "NFD" => new UnicodeNormalizer(compatibility: false, compose: false),
        "NFKD" => new UnicodeNormalizer(compatibility: true, compose: false),
        "NFC" => new UnicodeNormalizer(compatibility: false, compose: true),
        "NFKC" => new UnicodeNormalizer(compatibility: true, compose: true),
        var other => ExtraStages.Normalizer(other, j),
    };

    internal static IPreTokenizer PreTokenizer(JsonAt j) => j.Type() switch
    {
        "BertPreTokenizer" => new BertPreTokenizer(),
        "Sequence" => new PreTokenizerSequence(j.Required("pretokenizers").Items().Select(PreTokenizer).ToList()),
        var other => ExtraStages.PreTokenizer(other, j),
    };

    internal static ITokenizerModel Model(JsonAt j)
    {
        // Older files omit the model's "type"; tell the models apart by their fields, as tokenizers does.
        string type = j.OptionalString("type") ?? (j.Optional("merges") is not null ? "BPE"
            : j.Optional("continuing_subword_prefix") is not null || j.Optional("max_input_chars_per_word") is not null ? "WordPiece"
            : j.Optional("vocab")?.Value.ValueKind == JsonValueKind.Array ? "Unigram" : "WordLevel");
        return type switch
        {
            "WordPiece" => new WordPiece(new Vocabulary(VocabMap(j.Required("vocab"))), j.OptionalString("unk_token") ?? "[UNK]",
                j.OptionalString("continuing_subword_prefix") ?? "##", j.Int("max_input_chars_per_word", 100), j.File),
            _ => ExtraStages.Model(type, j),
        };
    }

    internal static Dictionary<string, int> VocabMap(JsonAt vocab)
    {
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in vocab.Properties()) map[token] = id.TokenId();
        return map;
    }

    internal static IPostProcessor PostProcessor(JsonAt j) => j.Type() switch
    {
        "TemplateProcessing" => Template(j),
        "BertProcessing" => BertProcessing.Create(TokenAndId(j.Required("cls")), TokenAndId(j.Required("sep"))),
        "Sequence" => new PostProcessorSequence(j.Required("processors").Items().Select(PostProcessor).ToList()),
        var other => ExtraStages.PostProcessor(other, j),
    };

    internal static (string, int) TokenAndId(JsonAt j)
    {
        var items = j.Items().ToList();
        if (items.Count != 2) throw j.Error("expected [token, id]");
        return (items[0].String(), items[1].TokenId());
    }

    static TemplateProcessing Template(JsonAt j)
    {
        var specials = new Dictionary<string, TemplateSpecialToken>(StringComparer.Ordinal);
        if (j.Optional("special_tokens") is JsonAt st)
            foreach (var (name, tok) in st.Properties())
                specials[name] = new TemplateSpecialToken(tok.Required("id").String(),
                    tok.Required("ids").Items().Select(i => i.TokenId()).ToArray(), tok.Required("tokens").Items().Select(i => i.String()).ToArray());
        var single = Pieces(j.Required("single"));
        var pair = Pieces(j.Required("pair"));
        foreach (var (piece, at) in single.Select(p => (p, "single")).Concat(pair.Select(p => (p, "pair"))))
            if (piece is TemplatePiece.SpecialToken s && !specials.ContainsKey(s.Name))
                throw new EncoderKitException(ErrorKind.BadTokenizer, $"special token \"{s.Name}\" is not in special_tokens", j.File, $"{j.Path}.{at}");
        return new TemplateProcessing(single, pair, specials);
    }

    static List<TemplatePiece> Pieces(JsonAt j)
    {
        if (j.Value.ValueKind == JsonValueKind.String) return TemplateProcessing.Parse(j.String(), j.File, j.Path);
        var pieces = new List<TemplatePiece>();
        foreach (var item in j.Items())
        {
            if (item.Optional("Sequence") is JsonAt s)
            {
                string id = s.Required("id").String();
                pieces.Add(new TemplatePiece.Sequence(id switch
                {
                    "A" => false,
                    "B" => true,
                    _ => throw s.Error($"sequence id \"{id}\" is neither A nor B"),
                }, s.Int("type_id", 0)));
            }
            else if (item.Optional("SpecialToken") is JsonAt t)
                pieces.Add(new TemplatePiece.SpecialToken(t.Required("id").String(), t.Int("type_id", 0)));
            else throw item.Error("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
        }
        return pieces;
    }

    internal static IDecoder Decoder(JsonAt j) => j.Type() switch
    {
        "WordPiece" => new WordPieceDecoder(j.OptionalString("prefix") ?? "##", j.Bool("cleanup", true)),
        "Sequence" => new DecoderSequence(j.Required("decoders").Items().Select(Decoder).ToList()),
        var other => ExtraStages.Decoder(other, j),
    };
}
