namespace EncoderKit.Tokenization.PostProcessors;

/// <summary>One element of a template: a sequence ($A / $B) or a special token, each with its type id.</summary>
internal abstract record TemplatePiece(int TypeId)
{
    public sealed record Sequence(bool IsB, int TypeId) : TemplatePiece(TypeId);
    public sealed record SpecialToken(string Name, int TypeId) : TemplatePiece(TypeId);
}

/// <summary>A special token of a template: its name and the ids/tokens it stands for.</summary>
internal sealed record TemplateSpecialToken(string Name, int[] Ids, string[] Tokens);

/// <summary>
/// {"type": "TemplateProcessing", "single", "pair", "special_tokens"}: lays out the sequences and special tokens
/// as the template says, e.g. <c>[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1</c>. Overflowing parts get the same layout.
/// </summary>
internal sealed class TemplateProcessing : IPostProcessor
{
    public TemplateProcessing(IReadOnlyList<TemplatePiece> single, IReadOnlyList<TemplatePiece> pair,
        IReadOnlyDictionary<string, TemplateSpecialToken> specialTokens)
    {
        Single = single;
        Pair = pair;
        SpecialTokens = specialTokens;
    }

    public IReadOnlyList<TemplatePiece> Single { get; }
    public IReadOnlyList<TemplatePiece> Pair { get; }
    public IReadOnlyDictionary<string, TemplateSpecialToken> SpecialTokens { get; }

    public int AddedTokens(bool isPair) => (isPair ? Pair : Single)
        .OfType<TemplatePiece.SpecialToken>().Sum(t => SpecialTokens[t.Name].Ids.Length);

    public Encoding Process(Encoding first, Encoding? second, bool addSpecialTokens)
    {
        var template = second is null ? Single : Pair;
        var parts = new List<Encoding>(template.Count);
        foreach (var piece in template)
        {
            switch (piece)
            {
                case TemplatePiece.Sequence s:
                    var source = s.IsB ? second : first;
                    if (source is null) continue;
                    parts.Add(DefaultPostProcessing.Sequence(source, s.TypeId, s.IsB ? 1 : 0));
                    break;
                case TemplatePiece.SpecialToken t when addSpecialTokens:
                    var tok = SpecialTokens[t.Name];
                    parts.Add(DefaultPostProcessing.Special(tok.Ids, tok.Tokens, t.TypeId));
                    break;
            }
        }
        return Encoding.Merge(parts);
    }

    /// <summary>Parses the string form, e.g. "[CLS]:0 $A:0 [SEP]:0" ("$A" / "$B" / "$0" / "$1"; type id optional).</summary>
    public static List<TemplatePiece> Parse(string template, string? file, string field)
    {
        var pieces = new List<TemplatePiece>();
        foreach (var item in template.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string name = item;
            int typeId = 0;
            int colon = item.LastIndexOf(':');
            if (colon > 0 && int.TryParse(item[(colon + 1)..], out int t)) { name = item[..colon]; typeId = t; }
            if (name.StartsWith('$'))
            {
                string seq = name[1..];
                bool isB = seq switch
                {
                    "" or "A" or "a" => false,
                    "B" or "b" => true,
                    _ when int.TryParse(seq, out int typed) => throw new EncoderKitException(ErrorKind.BadTokenizer,
                        $"template piece \"{item}\": a type id as a sequence name (${typed}) is not supported", file, field),
                    _ => throw new EncoderKitException(ErrorKind.BadTokenizer, $"template piece \"{item}\" names no sequence ($A or $B)", file, field),
                };
                if (colon < 0 && int.TryParse(seq, out int tid)) typeId = tid;
                pieces.Add(new TemplatePiece.Sequence(isB, typeId));
            }
            else pieces.Add(new TemplatePiece.SpecialToken(name, typeId));
        }
        return pieces;
    }
}
