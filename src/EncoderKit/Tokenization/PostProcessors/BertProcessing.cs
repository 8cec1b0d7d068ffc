namespace EncoderKit.Tokenization.PostProcessors;

/// <summary>
/// {"type": "BertProcessing", "sep": [token, id], "cls": [token, id]}: <c>[CLS] A [SEP]</c> and
/// <c>[CLS] A [SEP] B [SEP]</c> with B and its [SEP] of type 1. Expressed as the equivalent template.
/// </summary>
internal static class BertProcessing
{
    public static TemplateProcessing Create((string Token, int Id) cls, (string Token, int Id) sep) =>
        new(
            [new TemplatePiece.SpecialToken(cls.Token, 0), new TemplatePiece.Sequence(false, 0), new TemplatePiece.SpecialToken(sep.Token, 0)],
            [new TemplatePiece.SpecialToken(cls.Token, 0), new TemplatePiece.Sequence(false, 0), new TemplatePiece.SpecialToken(sep.Token, 0),
             new TemplatePiece.Sequence(true, 1), new TemplatePiece.SpecialToken(sep.Token, 1)],
            new Dictionary<string, TemplateSpecialToken>
            {
                [cls.Token] = new(cls.Token, [cls.Id], [cls.Token]),
                [sep.Token] = new(sep.Token, [sep.Id], [sep.Token]),
            });
}
