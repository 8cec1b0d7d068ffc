using EncoderKit.Tokenization.PreTokenizers;
using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.Tokenization.PostProcessors;

/// <summary>
/// {"type": "ByteLevel", "trim_offsets", "add_prefix_space"} as a post-processor: adds nothing, but with
/// <c>trim_offsets</c> moves each token's offsets past the spaces ('Ġ') it starts or ends with.
/// </summary>
internal sealed class ByteLevelProcessing(bool trimOffsets, bool addPrefixSpace) : IPostProcessor
{
    public int AddedTokens(bool isPair) => 0;

    public Encoding Process(Encoding first, Encoding? second, bool addSpecialTokens)
    {
        if (trimOffsets)
        {
            first = TrimOffsets(first, addPrefixSpace);
            second = second is null ? null : TrimOffsets(second, addPrefixSpace);
        }
        return DefaultPostProcessing.Process(first, second);
    }

    internal static Encoding TrimOffsets(Encoding e, bool addPrefixSpace)
    {
        var offsets = ((int Start, int End)[])e.Offsets.Clone();
        char space = ByteLevel.ByteToChar[' '];
        for (int i = 0; i < offsets.Length; i++)
        {
            string token = e.Tokens[i];
            int leading = 0, trailing = 0;
            while (leading < token.Length && (token[leading] == space || UnicodeText.IsWhiteSpace(token[leading]))) leading++;
            while (trailing < token.Length && (token[token.Length - 1 - trailing] == space || UnicodeText.IsWhiteSpace(token[token.Length - 1 - trailing]))) trailing++;
            if (leading == 0 && trailing == 0) continue;
            var (s, end) = offsets[i];
            if (leading > 0)
            {
                bool isFirst = i == 0 || s == 0;
                if (isFirst && addPrefixSpace && leading == 1) leading = 0;
                s = Math.Min(s + leading, end);
            }
            if (trailing > 0 && end >= trailing) end = Math.Max(end - trailing, s);
            offsets[i] = (s, end);
        }
        var trimmed = new Encoding(e.Ids, e.TypeIds, e.Tokens, e.WordIds, offsets, e.SpecialTokensMask, e.AttentionMask,
            e.Overflowing.Select(o => TrimOffsets(o, addPrefixSpace)).ToList(), e.SequenceRanges, e.Truncated);
        return trimmed;
    }
}

/// <summary>
/// {"type": "RobertaProcessing", "sep", "cls", "trim_offsets", "add_prefix_space"}: <c>&lt;s&gt; A &lt;/s&gt;</c> and
/// <c>&lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;</c>, all type ids 0, offsets trimmed as ByteLevel does.
/// </summary>
internal sealed class RobertaProcessing((string Token, int Id) cls, (string Token, int Id) sep, bool trimOffsets, bool addPrefixSpace) : IPostProcessor
{
    readonly TemplateProcessing _template = new(
        [new TemplatePiece.SpecialToken(cls.Token, 0), new TemplatePiece.Sequence(false, 0), new TemplatePiece.SpecialToken(sep.Token, 0)],
        [new TemplatePiece.SpecialToken(cls.Token, 0), new TemplatePiece.Sequence(false, 0), new TemplatePiece.SpecialToken(sep.Token, 0),
         new TemplatePiece.SpecialToken(sep.Token, 0), new TemplatePiece.Sequence(true, 0), new TemplatePiece.SpecialToken(sep.Token, 0)],
        new Dictionary<string, TemplateSpecialToken>
        {
            [cls.Token] = new(cls.Token, [cls.Id], [cls.Token]),
            [sep.Token] = new(sep.Token, [sep.Id], [sep.Token]),
        });

    public int AddedTokens(bool isPair) => isPair ? 4 : 2;

    public Encoding Process(Encoding first, Encoding? second, bool addSpecialTokens)
    {
        if (trimOffsets)
        {
            first = ByteLevelProcessing.TrimOffsets(first, addPrefixSpace);
            second = second is null ? null : ByteLevelProcessing.TrimOffsets(second, addPrefixSpace);
        }
        return _template.Process(first, second, addSpecialTokens);
    }
}
