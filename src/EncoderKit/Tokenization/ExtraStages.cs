using EncoderKit.Tokenization.Decoders;
using EncoderKit.Tokenization.Models;
using EncoderKit.Tokenization.Normalizers;
using EncoderKit.Tokenization.PostProcessors;
using EncoderKit.Tokenization.PreTokenizers;

namespace EncoderKit.Tokenization;

/// <summary>The stage types beyond the BERT family's (filled in as they are written).</summary>
internal static class ExtraStages
{
    public static INormalizer Normalizer(string type, JsonAt j) => throw Unknown("normalizer", type, j);
    public static IPreTokenizer PreTokenizer(string type, JsonAt j) => throw Unknown("pre-tokenizer", type, j);
    public static ITokenizerModel Model(string type, JsonAt j) => throw Unknown("model", type, j);
    public static IPostProcessor PostProcessor(string type, JsonAt j) => throw Unknown("post-processor", type, j);
    public static IDecoder Decoder(string type, JsonAt j) => throw Unknown("decoder", type, j);

    static EncoderKitException Unknown(string stage, string type, JsonAt j) =>
        new(ErrorKind.BadTokenizer, $"unsupported {stage} type \"{type}\"", j.File, j.Path + ".type");
}
